#include <stdio.h>

#include "cli/commands.h"

int cli_fail(xf_status status, const char *context) {
    fprintf(stderr, "xfer: %s: %s\n", context, xf_error_message()[0] ? xf_error_message()
                                                                       : xf_status_name(status));
    return 1;
}
