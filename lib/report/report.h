/* report.h - internals shared by the report area's files (sor.c: statements
 * of reasons; sor_check.c: their validator; appeal.c: appeals on the log). */
#ifndef PB_REPORT_H
#define PB_REPORT_H

#include "auth/auth.h"
#include "plan/plan.h"
#include "store/store.h"
#include "util/util.h"

#endif /* PB_REPORT_H */
