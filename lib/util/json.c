/* json.c - canonical JSON text of a jansson value (see json.h). */
#include "util/json.h"

#include "util/banned.h"

char *pb__json_text(json_t *o)
{
	char *t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return t;
}
