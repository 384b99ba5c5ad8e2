/* case.h: case may use log */
#include "log/audit.h"
