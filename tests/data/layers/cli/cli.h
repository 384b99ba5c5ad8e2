/* cli.h */
#include "probity.h"
