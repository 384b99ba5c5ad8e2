/* audit.c: one good include, one bad */
#include "store/store.h"
#include "case/case.h"
#include <stdio.h>
