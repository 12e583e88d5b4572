/* The instruction set xfer's own vector kernels run with, chosen once at
 * start-up.
 *
 * The hot kernels (direct convolutions, GroupNorm, GELU, the softmax's
 * exp, the AdamW update: src/nn/kernels.h) are compiled once per
 * instruction set, each in its own file with its own flags
 * (src/nn/kernels_<isa>.c), so one binary runs on every x86-64 CPU and
 * uses the widest vectors each one has. The choice comes from cpuid, or
 * from the XFER_ISA environment variable (plain, avx2, avx512), which
 * forces a path for tests and benchmarks and is refused when the CPU
 * cannot run it. */
#ifndef XF_CORE_CPU_H
#define XF_CORE_CPU_H

#include <stdbool.h>

#include "core/status.h"

typedef enum {
    XF_ISA_PLAIN,  /* the build's baseline: SSE2 on x86-64, no FMA */
    XF_ISA_AVX2,   /* AVX2 and FMA, 8 floats a vector */
    XF_ISA_AVX512, /* AVX-512 F (with AVX2 and FMA), 16 floats a vector */
    XF_ISA_COUNT
} xf_isa;

/* "plain", "avx2", "avx512". */
const char *xf_isa_name(xf_isa isa);

/* Whether this CPU (and its operating system, which must save the wider
 * registers) runs the kernels of `isa`. */
bool xf_cpu_runs(xf_isa isa);

/* The widest instruction set this CPU runs. */
xf_isa xf_cpu_best_isa(void);

/* Reads an instruction set's name (as XFER_ISA takes it); fails naming the
 * value and the choices, or what this CPU lacks. */
xf_status xf_cpu_isa_parse(const char *value, xf_isa *isa);

/* Chooses the kernels' instruction set once: XFER_ISA if set, else the
 * best this CPU runs. Fails, choosing nothing, on a value xf_cpu_isa_parse
 * refuses; the command line calls it first and stops there. */
xf_status xf_cpu_isa_init(void);

/* The instruction set in use. If nothing chose one yet, chooses as
 * xf_cpu_isa_init does, and takes the best this CPU runs (with a warning)
 * when XFER_ISA is refused. */
xf_isa xf_cpu_isa(void);

/* Switches the kernels to `isa` (tests compare the paths in one process);
 * fails, changing nothing, when the CPU cannot run it. Not safe while
 * kernels run on other threads. */
xf_status xf_cpu_use_isa(xf_isa isa);

#endif
