/* One function per subcommand; each returns the process exit status. */
#ifndef XF_CLI_COMMANDS_H
#define XF_CLI_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_pretrain(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_study(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_help(int argc, char **argv);

/* Prints "xfer: <context>: <error message>" and returns the exit status for
 * a failed command (1). */
#include "core/status.h"
int cli_fail(xf_status status, const char *context);

#endif
