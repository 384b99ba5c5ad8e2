/* audit.h */
#include "util/util.h"
