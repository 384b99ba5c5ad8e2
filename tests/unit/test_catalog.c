/* test_catalog.c - the shipped catalog loads and answers the lookups ingest,
 * policies and decisions depend on; bad catalog files are refused with a position. */
#include "unit.h"
#include "probity.h"
#include "usage/catalog.h"

static struct pb_catalog *cat;

static struct pb_str S(const char *s)
{
	struct pb_str v = { s, strlen(s) };
	return v;
}

static void t_regions(void)
{
	const struct pb_region *r = pb_catalog_region(cat, S("westeurope"));
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_STR(r->country, "NL");
	CHECK_STR(r->name, "West Europe");
	/* other spellings of the same region */
	const char *sp[] = { "West Europe", "WESTEUROPE", "amsterdam", "eu west", " westeurope " };
	for (size_t i = 0; i < sizeof(sp) / sizeof(sp[0]); i++) {
		const struct pb_region *x = pb_catalog_region(cat, S(sp[i]));
		if (x != r)
			UNIT_FAIL_("'%s' should map to westeurope", sp[i]);
	}
	struct { const char *id, *cc; } want[] = {
		{ "northeurope", "IE" }, { "eu-west-1", "IE" }, { "eu-central-1", "DE" },
		{ "EU (Frankfurt)", "DE" }, { "eu-west-3", "FR" }, { "eu-north-1", "SE" },
		{ "europe-west4", "NL" }, { "europe-west1", "BE" }, { "germanywestcentral", "DE" },
		{ "francecentral", "FR" }, { "swedencentral", "SE" }, { "CentralUS", "US" },
		{ "us-sanjose-1", "US" }, { "global", "" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct pb_region *x = pb_catalog_region(cat, S(want[i].id));
		if (!x)
			UNIT_FAIL_("region '%s' unknown", want[i].id);
		else if (strcmp(x->country, want[i].cc))
			UNIT_FAIL_("region '%s': country %s, expected %s", want[i].id, x->country,
			           want[i].cc);
	}
	CHECK(pb_catalog_region(cat, S("atlantis-1")) == NULL);
	CHECK(pb_catalog_country_known(cat, S("NL")));
	CHECK(!pb_catalog_country_known(cat, S("XX")));
}

static void t_services_and_capabilities(void)
{
	const struct pb_service *s = pb_catalog_service(cat, S("Azure AI Services"));
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_STR(s->category, "AI and Machine Learning");
	CHECK(s->ncapabilities > 2);
	CHECK_STR(pb_catalog_capability(cat, S("Azure AI Services"), S("Speech to Text Standard")),
	          "speech-to-text");
	CHECK_STR(pb_catalog_capability(cat, S("Azure AI Services"), S("S1 Translator Text")),
	          "translation");
	/* several capabilities and no meter: cannot be told */
	CHECK(pb_catalog_capability(cat, S("Azure AI Services"), S("")) == NULL);
	CHECK_STR(pb_catalog_capability(cat, S("Amazon Transcribe"), S("")), "speech-to-text");
	CHECK_STR(pb_catalog_capability(cat, S("transcribe"), S("")), "speech-to-text");
	CHECK_STR(pb_catalog_capability(cat, S("Amazon Translate"), S("")), "translation");
	CHECK_STR(pb_catalog_capability(cat, S("AmazonS3"), S("")), "object-storage");
	CHECK_STR(pb_catalog_capability(cat, S("Storage Accounts"), S("Hot LRS Data Stored")),
	          "object-storage");
	const struct pb_service *ec2 = pb_catalog_service(cat, S("Amazon Elastic Compute Cloud"));
	CHECK_STR(pb__catalog_capability_row(cat, ec2, S(""), S("Storage")), "block-storage");
	CHECK_STR(pb__catalog_capability_row(cat, ec2, S(""), S("Compute")), "virtual-machines");
	CHECK(pb_catalog_service(cat, S("No Such Service")) == NULL);
	CHECK(pb_catalog_capability_known(cat, S("face-recognition")));
	CHECK(!pb_catalog_capability_known(cat, S("mind-reading")));
	CHECK_STR(pb__catalog_category(cat, S("storage")), "Storage");
	CHECK_STR(pb__catalog_subcategory(cat, S("Object Storage")), "Object Storage");
	CHECK(pb__catalog_category(cat, S("Storage ")) != NULL);
	CHECK(pb__catalog_category(cat, S("Storages")) == NULL);
	CHECK(pb__catalog_currency_known(cat, S("EUR")));
	CHECK(!pb__catalog_currency_known(cat, S("XYZ")));
}

static void t_units(void)
{
	const struct pb_unit *u = pb_catalog_unit(cat, S("TB-Months"));
	CHECK(u != NULL);
	if (!u)
		return;
	CHECK_STR(u->normalised, "GB-Months");
	pb_dec q, r;
	char buf[PB_DEC_BUFSZ];
	pb__dec_parse("2.5", 3, &q, NULL);
	CHECK(pb__unit_apply(pb__catalog_unit_factor(u), q, &r));
	pb__dec_format(r, buf);
	CHECK_STR(buf, "2500");
	u = pb_catalog_unit(cat, S("minutes"));
	CHECK(u != NULL);
	pb__dec_parse("90", 2, &q, NULL);
	CHECK(pb__unit_apply(pb__catalog_unit_factor(u), q, &r));
	pb__dec_format(r, buf);
	CHECK_STR(buf, "1.5");
	pb__dec_parse("1", 1, &q, NULL);
	CHECK(pb__unit_apply(pb__catalog_unit_factor(u), q, &r));
	pb__dec_format(r, buf);
	CHECK_STR(buf, "0.016666666666667");
	CHECK(pb_catalog_unit(cat, S("furlongs")) == NULL);
}

static void t_glob(void)
{
	CHECK(pb__glob_match_ci("*speech to text*", S("Speech To Text Standard")));
	CHECK(pb__glob_match_ci("hot *", S("Hot LRS Data Stored")));
	CHECK(!pb__glob_match_ci("hot *", S("a Hot LRS")));
	CHECK(pb__glob_match_ci("*", S("")));
	CHECK(pb__glob_match_ci("a*b*c", S("aXXbYYc")));
	CHECK(!pb__glob_match_ci("a*b*c", S("aXXbYY")));
}

/* Writes a copy of the shipped catalog with one file replaced. */
static char *bad_catalog(const char *file, const char *text)
{
	char *dir = unit_tmpdir();
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "cp data/catalog/*.csv '%s'/", dir);
	if (system(cmd) != 0)
		UNIT_FAIL_("cannot copy catalog");
	snprintf(cmd, sizeof(cmd), "%s/%s", dir, file);
	FILE *f = fopen(cmd, "w");
	fputs(text, f);
	fclose(f);
	return dir;
}

static void t_bad_files(void)
{
	struct {
		const char *file, *text, *expect;
		unsigned line;
	} cases[] = {
		{ "regions.csv", "provider,region_id,region_name,country,aliases\nX,r1,R1,Netherlands,\n",
		  "ISO 3166-1", 2 },
		{ "services.csv",
		  "provider,service_name,aliases,category,subcategory,capabilities\n"
		  "X,Svc,,Storage,Object Storage,telepathy\n",
		  "not in capabilities.csv", 2 },
		{ "services.csv",
		  "provider,service_name,aliases,category,subcategory,capabilities\n"
		  "X,Svc,,Storej,Object Storage,\n",
		  "not a FOCUS service category", 2 },
		{ "units.csv", "unit,normalised,factor\nGB,GB,1\nTB,GB,lots\n", "factor 'lots'", 3 },
		{ "units.csv", "unit,normalised,factor\nGB,GB,1\ngb,GB,1\n", "listed twice", 3 },
		{ "capabilities.csv", "capability,description,units\nObject Storage,x,\n", "lower-case", 2 },
		{ "regions.csv", "provider,id,name\n", "catalog header", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *dir = bad_catalog(cases[i].file, cases[i].text);
		struct pb_catalog *c = NULL;
		struct pb_error err = { 0 };
		enum pb_status st = pb_catalog_load(dir, &c, &err);
		if (st == PB_OK) {
			UNIT_FAIL_("case %zu: bad %s loaded", i, cases[i].file);
			pb_catalog_free(c);
		} else {
			if (!strstr(err.message, cases[i].expect))
				UNIT_FAIL_("case %zu: message '%s' lacks '%s'", i, err.message,
				           cases[i].expect);
			if (err.line != cases[i].line || !strstr(err.file, cases[i].file))
				UNIT_FAIL_("case %zu: position %s:%llu", i, err.file,
				           (unsigned long long)err.line);
		}
		unit_rm_rf(dir);
		free(dir);
	}
	/* a capability's units must be normalised units of units.csv */
	{
		char *text = NULL;
		size_t len = 0;
		struct pb_error e = { 0 };
		CHECK_INT(pb__read_file("data/catalog/capabilities.csv", 1 << 20, &text, &len, &e), PB_OK);
		char *at = text ? strstr(text, "\nllm,") : NULL;
		CHECK(at != NULL);
		if (at) {
			unsigned line = 2;
			for (char *q = text; q < at; q++)
				line += *q == '\n';
			char *fixed = malloc(len + 32);
			char *eol = strchr(at + 1, '\n');
			snprintf(fixed, len + 32, "%.*s\nllm,x,Tokens|Furlongs%s", (int)(at - text), text,
			         eol ? eol : "\n");
			char *dir = bad_catalog("capabilities.csv", fixed);
			struct pb_catalog *c = NULL;
			CHECK_INT(pb_catalog_load(dir, &c, &e), PB_EFORMAT);
			CHECK(strstr(e.message, "unit 'Furlongs' is not a normalised unit") != NULL);
			CHECK_INT(e.line, line);
			pb_catalog_free(c);
			unit_rm_rf(dir);
			free(dir);
			free(fixed);
		}
		free(text);
	}
	struct pb_catalog *c = NULL;
	struct pb_error err = { 0 };
	CHECK_INT(pb_catalog_load("/nonexistent/catalog", &c, &err), PB_ENOENT);
	CHECK(strstr(err.message, "no such file") != NULL);
}

int main(void)
{
	struct pb_error err = { 0 };
	if (pb_catalog_load("data/catalog", &cat, &err) != PB_OK) {
		fprintf(stderr, "cannot load catalog: %s:%llu:%u: %s\n", err.file,
		        (unsigned long long)err.line, err.column, err.message);
		printf("unit catalog: 0 passed, 1 failed\n");
		return 1;
	}
	CHECK(strlen(pb_catalog_sha256(cat)) == 64);
	RUN(t_regions);
	RUN(t_services_and_capabilities);
	RUN(t_units);
	RUN(t_glob);
	RUN(t_bad_files);
	pb_catalog_free(cat);
	return UNIT_END("catalog");
}
