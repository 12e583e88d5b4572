/* bench/features: xfer's feature extraction (the probe's path,
 * xf_features_extract_batched: forward passes with every tap copied out,
 * the batch split over the BLAS threads) on random images, for
 * bench/features.sh. Built by `make bench-run` against build/libxfer.a.
 *
 * usage: features CONFIG_JSON BATCH BATCHES
 *   CONFIG_JSON: an xfer model config (its JSON form, models/model.h);
 *   the model gets random weights (its family's init, seed 1). One batch
 *   of BATCH images warms up (first touch of the weights and the arenas),
 *   then BATCHES batches are timed, one extraction call each (each call
 *   sets up its threads' model copies, as a probe does per task).
 *   Threads: OPENBLAS_NUM_THREADS.
 *
 * Prints the model's config JSON in full (every setting, as the PyTorch
 * peer reads it) on a line "config: {...}", then one line of key=value
 * pairs: img_s (images per second of the median timed batch, so that a
 * batch slowed by another process on a shared machine does not decide
 * it), mean_img_s (over all timed batches), seconds, images,
 * gflops_per_image (xfer's FLOP count of the forward),
 * weights_mb, arena_mb (the activation arenas of all slices, as reserved),
 * peak_rss_mb (getrusage's ru_maxrss: the whole process, at exit),
 * probe_batch (the batch a probe's extraction takes for this model,
 * xf_features_batch), blas_core. Like the xfer command, it first re-runs
 * itself with the fastest OpenBLAS kernel the CPU has (unless
 * OPENBLAS_CORETYPE is set). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/blas.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rng.h"
#include "core/timer.h"
#include "data/dataset.h"
#include "models/model.h"
#include "probe/features.h"

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int fail(const char *what) {
    fprintf(stderr, "bench/features: %s: %s\n", what, xf_error_message());
    return 1;
}

static int positive(const char *text, const char *what) {
    char *end;
    long v = strtol(text, &end, 10);
    if (*end || v < 1 || v > 1 << 20) {
        fprintf(stderr, "bench/features: %s '%s', expected an integer in 1..%d\n", what, text,
                1 << 20);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s CONFIG_JSON BATCH BATCHES\n", argv[0]);
        return 2;
    }
    const char *core = xf_blas_preferred_core();
    if (core && !getenv("XFER_BLAS_REEXEC")) {
        setenv("OPENBLAS_CORETYPE", core, 1);
        setenv("XFER_BLAS_REEXEC", "1", 1);
        execv("/proc/self/exe", argv);
    }
    int batch = positive(argv[2], "batch"), batches = positive(argv[3], "batches");
    xf_log_set_level(XF_LOG_WARN);
    xf_model_config cfg;
    xf_model m;
    if (xf_model_config_from_json(argv[1], &cfg) != XF_OK) return fail("config");
    if (xf_model_init(&m, &cfg) != XF_OK) return fail("model");
    xf_model_init_weights(&m, 1);

    int n = batch * (batches + 1);
    xf_dataset ds;
    if (xf_dataset_alloc(&ds, "random", n, cfg.height, cfg.width, cfg.channels, 2) != XF_OK)
        return fail("images");
    xf_rng rng;
    xf_rng_seed(&rng, 2);
    size_t bytes = (size_t)n * xf_dataset_image_size(&ds);
    for (size_t i = 0; i < bytes; i++) ds.images[i] = (uint8_t)(xf_rng_next(&rng) >> 56);
    for (int i = 0; i < n; i++) ds.labels[i] = i % 2;
    int *timed = xf_malloc(sizeof(int) * (size_t)batch * batches);
    if (!timed) return fail("index");
    for (int i = 0; i < batch * batches; i++) timed[i] = batch + i;

    xf_features warm, f;
    if (xf_features_extract_batched(&m, &ds, NULL, batch, batch, &warm) != XF_OK)
        return fail("warm-up batch");
    xf_features_free(&warm);
    int threads = xf_blas_threads();
    double *times = xf_malloc(sizeof(double) * batches), seconds = 0;
    if (!times) return fail("times");
    for (int k = 0; k < batches; k++) {
        double start = xf_now();
        if (xf_features_extract_batched(&m, &ds, timed + k * batch, batch, batch, &f) != XF_OK)
            return fail("timed batch");
        times[k] = xf_now() - start;
        seconds += times[k];
        xf_features_free(&f);
    }
    qsort(times, batches, sizeof *times, by_value);
    double median = batches % 2 ? times[batches / 2]
                                : (times[batches / 2 - 1] + times[batches / 2]) / 2;
    free(times);

    /* The arenas as the extraction reserved them: m keeps its own (forward
     * only); each other slice had one of the same size. */
    int slices = threads < batch ? threads : batch;
    double arena_mb = sizeof(float) * (double)m.ops->arena_size(&m, m.reserved_batch) * slices /
                      (1 << 20);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    char *json = xf_model_config_to_json(&cfg);
    if (!json) return fail("config");
    printf("config: %s\n", json);
    free(json);
    printf("img_s=%.2f mean_img_s=%.2f seconds=%.2f images=%d gflops_per_image=%.2f "
           "weights_mb=%.0f arena_mb=%.0f peak_rss_mb=%.0f probe_batch=%d blas_core=%s\n",
           batch / median, batch * batches / seconds, seconds, batch * batches,
           m.flops_per_image / 1e9,
           sizeof(float) * (double)m.n_params / (1 << 20), arena_mb, ru.ru_maxrss / 1024.0,
           xf_features_batch(&m), xf_blas_core());
    free(timed);
    xf_dataset_free(&ds);
    xf_model_free(&m);
    return 0;
}
