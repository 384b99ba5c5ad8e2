/* store.h: store may use util */
#include "util/util.h"
