/* server.c */
#include "../cli/cli.h"
