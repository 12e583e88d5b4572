/* TEMPORARY until its helper lands: replaced by the real command. */
#include "cli/commands.h"
int cmd_pretrain(int argc, char **argv) { (void)argc; (void)argv; return cli_fail(xf_fail(XF_EINVAL, "not built yet"), "pretrain"); }
