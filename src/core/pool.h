/* A fixed team of threads that run one function together, again and again.
 *
 * A training step hands work to the same threads several times (forward
 * slices, backward slices, the gradient sum); starting threads per call
 * costs more than the work of a small layer, so the threads start once and
 * wait on a condition variable between calls. The caller is worker 0. */
#ifndef XF_POOL_H
#define XF_POOL_H

#include <pthread.h>
#include <stdbool.h>

#include "core/status.h"

/* Runs as worker `worker` of `workers` (0 is the calling thread). */
typedef void (*xf_pool_fn)(void *ctx, int worker, int workers);

typedef struct {
    int workers;       /* including the caller */
    pthread_t *threads; /* workers - 1 */
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    xf_pool_fn fn;
    void *ctx;
    unsigned long generation; /* bumped per call; workers run once per value */
    int pending;              /* helper threads still running this call */
    bool stopping;
} xf_pool;

/* Starts workers - 1 threads (workers >= 1). */
xf_status xf_pool_init(xf_pool *p, int workers);
/* fn(ctx, w, workers) for every w in [0, workers), w = 0 on the caller;
 * returns when all have returned. */
void xf_pool_run(xf_pool *p, xf_pool_fn fn, void *ctx);
void xf_pool_free(xf_pool *p);

/* [*begin, *end): worker w's share of n items split into `workers` runs
 * that differ in length by at most one. */
void xf_pool_share(long n, int worker, int workers, long *begin, long *end);

#endif
