/* util.h */
#include "probity.h"
