/* json.h - jansson values to the canonical text the audit log and the case
 * file store (compact, keys sorted). In util because every area that writes
 * a log entry or a stored summary builds one, and none of them owns JSON. */
#ifndef PB_JSON_H
#define PB_JSON_H

#include <jansson.h>

/* Compact, key-sorted JSON text of o (heap, NULL on failure, e.g. a string
 * that is not UTF-8); takes o's reference. NULL o gives NULL. */
char *pb__json_text(json_t *o);

#endif /* PB_JSON_H */
