#include "core/pool.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

typedef struct {
    xf_pool *pool;
    int worker;
} worker_arg;

static void *worker_loop(void *arg) {
    worker_arg *a = arg;
    xf_pool *p = a->pool;
    int worker = a->worker;
    free(a);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stopping && p->generation == seen) pthread_cond_wait(&p->wake, &p->lock);
        if (p->stopping) break;
        seen = p->generation;
        xf_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->lock);
        fn(ctx, worker, p->workers);
        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

xf_status xf_pool_init(xf_pool *p, int workers) {
    memset(p, 0, sizeof *p);
    if (workers < 1) return xf_fail(XF_EINVAL, "thread pool: %d workers, expected >= 1", workers);
    p->workers = 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (workers == 1) return XF_OK;
    p->threads = xf_malloc(sizeof(pthread_t) * (size_t)(workers - 1));
    if (!p->threads) {
        xf_pool_free(p);
        return XF_ENOMEM;
    }
    for (int w = 1; w < workers; w++) {
        worker_arg *a = xf_malloc(sizeof *a);
        if (!a) {
            xf_pool_free(p);
            return XF_ENOMEM;
        }
        *a = (worker_arg){p, w};
        /* Workers count only once started, so a failed start leaves a
         * smaller, working pool to free. */
        if (pthread_create(&p->threads[w - 1], NULL, worker_loop, a) != 0) {
            free(a);
            xf_pool_free(p);
            return xf_fail(XF_ENOMEM, "thread pool: could not start thread %d of %d", w + 1,
                           workers);
        }
        p->workers = w + 1;
    }
    return XF_OK;
}

void xf_pool_run(xf_pool *p, xf_pool_fn fn, void *ctx) {
    if (p->workers > 1) {
        pthread_mutex_lock(&p->lock);
        p->fn = fn;
        p->ctx = ctx;
        p->pending = p->workers - 1;
        p->generation++;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    fn(ctx, 0, p->workers);
    if (p->workers > 1) {
        pthread_mutex_lock(&p->lock);
        while (p->pending > 0) pthread_cond_wait(&p->done, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
}

void xf_pool_free(xf_pool *p) {
    if (p->threads) {
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
        for (int w = 1; w < p->workers; w++) pthread_join(p->threads[w - 1], NULL);
        free(p->threads);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    memset(p, 0, sizeof *p);
}

void xf_pool_share(long n, int worker, int workers, long *begin, long *end) {
    *begin = n * worker / workers;
    *end = n * (worker + 1) / workers;
}
