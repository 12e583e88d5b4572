/* Support sets of the few-shot protocol and the probe config/results. */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/rng.h"
#include "probe/probe.h"
#include "probe/probe_settings.h"

void xf_probe_config_default(xf_probe_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    xf_settings_apply_defaults(xf_probe_settings, xf_probe_n_settings, cfg);
}

void xf_probe_results_free(xf_probe_results *r) {
    free(r->items);
    r->items = NULL;
    r->count = 0;
}

/* The rng is seeded with the draw alone and permutes every class in class
 * order, each class's indices listed ascending; the permutation of a class
 * therefore does not depend on `shots`, which is what nests the shot sets. */
xf_status xf_fewshot_support(const int32_t *labels, int n, int n_classes, int shots, int draw,
                             int *support, int *n_support) {
    *n_support = 0;
    if (n < 0 || n_classes < 1 || shots < 1 || draw < 0)
        return xf_fail(XF_EINVAL,
                       "few-shot support: bad arguments (n %d, classes %d, shots %d, draw %d)", n,
                       n_classes, shots, draw);
    int *count = xf_calloc((size_t)n_classes + 1, sizeof(int));
    int *order = xf_malloc(sizeof(int) * (n > 0 ? n : 1));
    if (!count || !order) {
        free(count);
        free(order);
        return XF_ENOMEM;
    }
    xf_status st = XF_OK;
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= n_classes) {
            st = xf_fail(XF_EINVAL, "few-shot support: image %d has label %d, outside [0, %d)", i,
                         (int)labels[i], n_classes);
            goto done;
        }
        count[labels[i] + 1]++;
    }
    for (int c = 0; c < n_classes; c++) {
        if (count[c + 1] < shots) {
            st = xf_fail(XF_EINVAL,
                         "few-shot support: class %d has %d training image%s, fewer than %d shots",
                         c, count[c + 1], count[c + 1] == 1 ? "" : "s", shots);
            goto done;
        }
    }
    /* count becomes each class's start in `order`: a counting sort keeps
     * every class's indices ascending. */
    for (int c = 0; c < n_classes; c++) count[c + 1] += count[c];
    {
        int *next = xf_malloc(sizeof(int) * n_classes);
        if (!next) {
            st = XF_ENOMEM;
            goto done;
        }
        memcpy(next, count, sizeof(int) * n_classes);
        for (int i = 0; i < n; i++) order[next[labels[i]]++] = i;
        free(next);
    }
    xf_rng rng;
    xf_rng_seed(&rng, (uint64_t)draw);
    for (int c = 0; c < n_classes; c++) {
        int *members = order + count[c];
        xf_rng_shuffle(&rng, members, (size_t)(count[c + 1] - count[c]));
        memcpy(support + (size_t)c * shots, members, sizeof(int) * shots);
    }
    *n_support = n_classes * shots;
done:
    free(count);
    free(order);
    return st;
}
