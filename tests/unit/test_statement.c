/* test_statement.c - the canonical statement signers sign and verifiers
 * rebuild: fixed vectors byte for byte (the writer and every verifier must
 * agree on them), optional members left out, namespaces and exempt actions,
 * and malformed arguments refused. */
#include "unit.h"
#include "log/audit.h"

#include <jansson.h>

static const char NONCE[33] = "00112233445566778899aabbccddeeff";

static void test_full_vector(void)
{
	struct pb_error err = {0};
	uint8_t root[32];
	for (int i = 0; i < 32; i++)
		root[i] = (uint8_t)i;
	json_t *d = json_pack("{s:s,s:i,s:[i,i]}", "zeta", "é\"q", "alpha", 2, "list", 1, 2);
	char *t = NULL;
	CHECK_OK(pb__statement_text("plan.approve", "bob", 7, "plan/3", d, 12, root, NONCE, &t,
	                            &err),
	         &err);
	CHECK_STR(t, "{\"action\":\"plan.approve\",\"actor\":\"bob\",\"case\":7,"
	             "\"details\":{\"alpha\":2,\"list\":[1,2],\"zeta\":\"é\\\"q\"},"
	             "\"log\":{\"root\":\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1"
	             "c1d1e1f\",\"size\":12},\"nonce\":\"00112233445566778899aabbccddeeff\","
	             "\"subject\":\"plan/3\",\"type\":\"probity statement\",\"v\":1}");
	free(t);
	json_decref(d);
}

static void test_minimal_vector(void)
{
	struct pb_error err = {0};
	uint8_t root[32] = {0};
	char *t = NULL;
	CHECK_OK(pb__statement_text("user.add", "root", 0, NULL, NULL, 0, root, NONCE, &t, &err),
	         &err);
	CHECK_STR(t, "{\"action\":\"user.add\",\"actor\":\"root\",\"log\":{\"root\":\"00000000000000"
	             "00000000000000000000000000000000000000000000000000\",\"size\":0},"
	             "\"nonce\":\"00112233445566778899aabbccddeeff\",\"type\":\"probity statement\","
	             "\"v\":1}");
	free(t);
}

static void test_ns_exempt(void)
{
	CHECK_STR(pb__statement_ns("plan.approve"), "probity-approve@v1");
	CHECK_STR(pb__statement_ns("plan.refuse"), "probity-approve@v1");
	CHECK_STR(pb__statement_ns("plan.apply"), "probity-approve@v1");
	CHECK_STR(pb__statement_ns("plan.rollback"), "probity-approve@v1");
	CHECK_STR(pb__statement_ns("plan.new"), "probity@v1");
	CHECK_STR(pb__statement_ns("case.note"), "probity@v1");
	CHECK(pb__statement_exempt("web.signin"));
	CHECK(pb__statement_exempt("web.signin-fail"));
	CHECK(pb__statement_exempt("web.signout"));
	CHECK(pb__statement_exempt("web.forbidden"));
	CHECK(pb__statement_exempt("user.enrol"));
	CHECK(!pb__statement_exempt("user.add"));
	CHECK(!pb__statement_exempt("user.invite"));
	CHECK(!pb__statement_exempt("web.signin.x"));
	CHECK(!pb__statement_exempt(NULL));
}

static void test_refused(void)
{
	struct pb_error err = {0};
	uint8_t root[32] = {0};
	char *t = NULL;
	CHECK_INT(pb__statement_text("case.open", "a", 0, NULL, NULL, 0, root,
	                             "00112233445566778899AABBCCDDEEFF", &t, &err),
	          PB_EINVAL);
	char shortn[33] = "0011";
	CHECK_INT(pb__statement_text("case.open", "a", 0, NULL, NULL, 0, root, shortn, &t, &err),
	          PB_EINVAL);
	CHECK_INT(pb__statement_text("case.open", "", 0, NULL, NULL, 0, root, NONCE, &t, &err),
	          PB_EINVAL);
	json_t *arr = json_array();
	CHECK_INT(pb__statement_text("case.open", "a", 0, NULL, arr, 0, root, NONCE, &t, &err),
	          PB_EINVAL);
	json_decref(arr);
	CHECK(t == NULL);
}

int main(void)
{
	RUN(test_full_vector);
	RUN(test_minimal_vector);
	RUN(test_ns_exempt);
	RUN(test_refused);
	return UNIT_END("statement");
}
