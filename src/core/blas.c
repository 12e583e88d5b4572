#include "core/blas.h"

#include <cblas.h>
#include <cpuid.h>
#include <stdlib.h>
#include <strings.h>

#include "core/mem.h"
#include "core/timer.h"

void xf_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

void xf_dgemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double *a,
              int lda, const double *b, int ldb, double beta, double *c, int ldc) {
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

const char *xf_blas_core(void) { return openblas_get_corename(); }

static bool os_saves_avx512_state(void) {
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    if (!(c & bit_OSXSAVE)) return false;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return (lo & 0xe6) == 0xe6; /* SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM */
}

static bool os_saves_avx_state(void) {
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    if (!(c & bit_OSXSAVE)) return false;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return (lo & 0x6) == 0x6;
}

const char *xf_blas_best_core(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7) return NULL;
    __cpuid(1, a, b, c, d);
    bool fma = c & bit_FMA;
    __cpuid_count(7, 0, a, b, c, d);
    bool avx2 = b & bit_AVX2;
    bool avx512 = (b & bit_AVX512F) && (b & bit_AVX512BW) && (b & bit_AVX512DQ) &&
                  (b & bit_AVX512VL);
    if (avx512 && os_saves_avx512_state()) return "SkylakeX";
    if (avx2 && fma && os_saves_avx_state()) return "Haswell";
    return NULL;
}

int xf_blas_core_rank(const char *name) {
    static const char *const sse[] = {"prescott", "core2", "penryn", "dunnington", "nehalem",
                                      "atom", "katmai", "coppermine", "northwood", "banias",
                                      "opteron", "barcelona", "bobcat", "unknown", NULL};
    static const char *const avx[] = {"sandybridge", "bulldozer", "piledriver", NULL};
    static const char *const avx2[] = {"haswell", "zen", "steamroller", "excavator", "atomc",
                                       NULL};
    static const char *const avx512[] = {"skylakex", "cooperlake", "sapphirerapids", NULL};
    const char *const *lists[] = {sse, avx, avx2, avx512};
    for (int r = 0; r < 4; r++)
        for (const char *const *p = lists[r]; *p; p++)
            if (strcasecmp(name, *p) == 0) return r;
    return 4;
}

const char *xf_blas_preferred_core(void) {
    const char *user = getenv("OPENBLAS_CORETYPE");
    if (user && *user) return NULL;
    const char *best = xf_blas_best_core();
    if (!best) return NULL;
    return xf_blas_core_rank(xf_blas_core()) < xf_blas_core_rank(best) ? best : NULL;
}

void xf_blas_set_threads(int threads) { openblas_set_num_threads(threads); }
int xf_blas_threads(void) { return openblas_get_num_threads(); }

double xf_blas_sgemm_gflops(int n, double seconds) {
    size_t count = (size_t)n * n;
    float *a = xf_malloc(3 * count * sizeof(float));
    if (!a) return 0;
    float *b = a + count, *c = b + count;
    for (size_t i = 0; i < count; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    xf_sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n); /* warm up */
    int reps = 0;
    double start = xf_now(), elapsed;
    do {
        xf_sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
        reps++;
        elapsed = xf_now() - start;
    } while (elapsed < seconds);
    free(a);
    return 2.0 * n * (double)n * n * reps / elapsed / 1e9;
}
