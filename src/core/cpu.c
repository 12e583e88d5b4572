#include "core/cpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static const char *const isa_names[XF_ISA_COUNT] = {"plain", "avx2", "avx512"};

const char *xf_isa_name(xf_isa isa) {
    return isa >= 0 && isa < XF_ISA_COUNT ? isa_names[isa] : "unknown";
}

/* GCC's cpuid reading also checks that the operating system saves the AVX
 * and AVX-512 register state (XGETBV), without which the instructions
 * fault. The kernels of a path are compiled with exactly these extensions
 * (see the Makefile's ISA_FLAGS_*). */
bool xf_cpu_runs(xf_isa isa) {
    __builtin_cpu_init();
    switch (isa) {
    case XF_ISA_PLAIN: return true;
    case XF_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case XF_ISA_AVX512:
        return xf_cpu_runs(XF_ISA_AVX2) && __builtin_cpu_supports("avx512f");
    default: return false;
    }
}

xf_isa xf_cpu_best_isa(void) {
    for (int i = XF_ISA_COUNT - 1; i > 0; i--)
        if (xf_cpu_runs((xf_isa)i)) return (xf_isa)i;
    return XF_ISA_PLAIN;
}

xf_status xf_cpu_isa_parse(const char *value, xf_isa *isa) {
    for (int i = 0; i < XF_ISA_COUNT; i++) {
        if (strcmp(value, isa_names[i]) != 0) continue;
        if (!xf_cpu_runs((xf_isa)i))
            return xf_fail(XF_EINVAL,
                           "XFER_ISA=%s: this CPU cannot run the %s kernels (it lacks %s); "
                           "it runs up to %s",
                           value, value, i == XF_ISA_AVX512 ? "AVX-512 F" : "AVX2 and FMA",
                           xf_isa_name(xf_cpu_best_isa()));
        *isa = (xf_isa)i;
        return XF_OK;
    }
    return xf_fail(XF_EINVAL, "XFER_ISA='%s': expected plain, avx2 or avx512", value);
}

/* -1 until chosen. Read on every kernel call, hence an atomic rather than
 * a lock. */
static _Atomic int chosen = -1;
static pthread_mutex_t choosing = PTHREAD_MUTEX_INITIALIZER;

static xf_status choose(void) {
    const char *forced = getenv("XFER_ISA");
    xf_isa isa = xf_cpu_best_isa();
    if (forced && *forced) {
        xf_status st = xf_cpu_isa_parse(forced, &isa);
        if (st != XF_OK) return st;
    }
    atomic_store(&chosen, (int)isa);
    return XF_OK;
}

xf_status xf_cpu_isa_init(void) {
    pthread_mutex_lock(&choosing);
    xf_status st = atomic_load(&chosen) >= 0 ? XF_OK : choose();
    pthread_mutex_unlock(&choosing);
    return st;
}

xf_isa xf_cpu_isa(void) {
    int isa = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (isa >= 0) return (xf_isa)isa;
    pthread_mutex_lock(&choosing);
    if (atomic_load(&chosen) < 0 && choose() != XF_OK) {
        xf_log_warn("%s; using %s", xf_error_message(), xf_isa_name(xf_cpu_best_isa()));
        atomic_store(&chosen, (int)xf_cpu_best_isa());
    }
    pthread_mutex_unlock(&choosing);
    return (xf_isa)atomic_load(&chosen);
}

xf_status xf_cpu_use_isa(xf_isa isa) {
    if (isa < 0 || isa >= XF_ISA_COUNT)
        return xf_fail(XF_EINVAL, "instruction set %d: expected 0 to %d", (int)isa,
                       XF_ISA_COUNT - 1);
    if (!xf_cpu_runs(isa))
        return xf_fail(XF_EINVAL, "this CPU cannot run the %s kernels; it runs up to %s",
                       xf_isa_name(isa), xf_isa_name(xf_cpu_best_isa()));
    atomic_store(&chosen, (int)isa);
    return XF_OK;
}
