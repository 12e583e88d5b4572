#include "study/task_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/timer.h"
#include "data/registry.h"

xf_status xf_task_cache_get(xf_task_cache *c, const char *name, xf_task_entry **out) {
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->items[i].name, name) == 0) {
            *out = &c->items[i];
            return XF_OK;
        }
    if (c->n == c->capacity) {
        int grown = c->capacity ? 2 * c->capacity : 4;
        xf_task_entry *bigger = xf_realloc(c->items, (size_t)grown * sizeof *bigger);
        if (!bigger) return XF_ENOMEM;
        c->items = bigger;
        c->capacity = grown;
    }
    xf_task_entry *e = &c->items[c->n];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    double t0 = xf_now();
    xf_status st = xf_task_load(name, &e->train, &e->test);
    if (st) return xf_fail_context(st, "loading task %s: ", name);
    c->n++;
    xf_log_info("loaded %s: %d train, %d test images (%.1fs)", name, e->train.n, e->test.n,
                xf_now() - t0);
    *out = e;
    return XF_OK;
}

void xf_task_cache_free(xf_task_cache *c) {
    for (int i = 0; i < c->n; i++) {
        xf_dataset_free(&c->items[i].train);
        xf_dataset_free(&c->items[i].test);
    }
    free(c->items);
}
