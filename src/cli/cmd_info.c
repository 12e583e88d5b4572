#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/blas.h"
#include "core/cpu.h"

static const cli_command command = {
    .name = "info",
    .usage = "xfer info",
    .about = "Prints the OpenBLAS kernel in use, the best one this CPU runs, the thread count,\n"
             "a quick sgemm GFLOP/s (1024 x 1024), and the instruction set of xfer's own\n"
             "kernels with those this CPU runs (XFER_ISA=plain|avx2|avx512 forces one).",
};

int cmd_info(int argc, char **argv) {
    int rc = cli_parse(&command, NULL, 0, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    const char *user = getenv("OPENBLAS_CORETYPE");
    const char *best = xf_blas_best_core();
    printf("blas core:        %s\n", xf_blas_core());
    printf("best core (cpu):  %s\n", best ? best : "(none known)");
    printf("OPENBLAS_CORETYPE: %s%s\n", user ? user : "(unset)",
           getenv("XFER_BLAS_REEXEC") ? " (set by xfer)" : "");
    printf("blas threads:     %d\n", xf_blas_threads());
    printf("sgemm 1024^3:     %.1f GFLOP/s\n", xf_blas_sgemm_gflops(1024, 1.0));
    const char *forced = getenv("XFER_ISA");
    printf("xfer kernels:     %s%s\n", xf_isa_name(xf_cpu_isa()),
           forced && *forced ? " (XFER_ISA)" : "");
    printf("kernels (cpu):   ");
    for (int i = 0; i < XF_ISA_COUNT; i++)
        if (xf_cpu_runs((xf_isa)i)) printf(" %s", xf_isa_name((xf_isa)i));
    printf("\n");
    return 0;
}
