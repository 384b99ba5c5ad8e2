/* a.h and b.h include each other: a loop */
#include "mail/b.h"
