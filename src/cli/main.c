/* The xfer command line: picks the BLAS kernel, then dispatches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/blas.h"
#include "core/cpu.h"
#include "core/log.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"info", cmd_info, "show the BLAS kernel, threads and sgemm speed"},
    {"data", cmd_data, "list the named tasks (data list)"},
    {"pretrain", cmd_pretrain, "pre-train one model and write a checkpoint"},
    {"probe", cmd_probe, "few-shot probes of a checkpoint at every layer"},
    {"plan", cmd_plan, "list a study file's trials and which are done"},
    {"study", cmd_study, "run every trial of a study file (resumable; -j, --slurm)"},
    {"status", cmd_status, "where a study stands: finished, failed, rate, ETA"},
    {"export", cmd_export, "a study's results as CSV or JSON"},
    {"merge", cmd_merge, "fold a cluster run's result files into study.db"},
    {"fit", cmd_fit, "fit the saturation curve to a study's results"},
    {"report", cmd_report, "write a study's HTML report"},
    {"help", cmd_help, "every model, training and probe setting (help settings)"},
};

static void print_usage(FILE *out) {
    fprintf(out, "usage: xfer [-v|-q] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'xfer COMMAND --help' describes one command.\n");
}

/* OpenBLAS chooses its kernel when it loads, so a better one can only be
 * had by running again with OPENBLAS_CORETYPE set. The guard variable makes
 * sure this happens at most once. */
static void use_fastest_blas_kernel(char **argv) {
    if (getenv("XFER_BLAS_REEXEC")) return;
    const char *core = xf_blas_preferred_core();
    if (!core) return;
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv("XFER_BLAS_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    xf_log_warn("could not re-run with OPENBLAS_CORETYPE=%s; BLAS stays on %s", core,
                xf_blas_core());
}

int main(int argc, char **argv) {
    use_fastest_blas_kernel(argv);
    /* GSL aborts on an error unless told once, before any thread starts,
     * to return codes (which the analysis turns into xf_status). */
    gsl_set_error_handler_off();
    const char *level = getenv("XFER_LOG");
    long long v;
    if (level && cli_parse_int("XFER_LOG", level, XF_LOG_ERROR, XF_LOG_DEBUG, &v) != XF_OK) {
        fprintf(stderr, "xfer: %s (0 errors, 1 warnings, 2 info, 3 debug)\n", xf_error_message());
        return 2;
    }
    if (level) xf_log_set_level((xf_log_level)v);
    /* The kernels' instruction set: XFER_ISA, if set, must be one this CPU
     * runs. */
    if (xf_cpu_isa_init() != XF_OK) {
        fprintf(stderr, "xfer: %s\n", xf_error_message());
        return 2;
    }
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-v") == 0)
            xf_log_set_level(XF_LOG_DEBUG);
        else if (strcmp(argv[i], "-q") == 0)
            xf_log_set_level(XF_LOG_WARN);
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "xfer: unknown option '%s'\n", argv[i]);
            print_usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        print_usage(stderr);
        return 2;
    }
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (strcmp(argv[i], commands[c].name) == 0) return commands[c].run(argc - i, argv + i);
    fprintf(stderr, "xfer: unknown command '%s'\n", argv[i]);
    print_usage(stderr);
    return 2;
}
