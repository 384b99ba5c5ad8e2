/* b.h */
#include "a.h"
#include "nowhere.h"
