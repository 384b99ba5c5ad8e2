/* main.c: its own folder is fine, an internal header is not */
#include "cli.h"
#include "util/util.h"
