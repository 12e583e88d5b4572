#include "data/preprocess.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/pool.h"

void xf_pipeline_default(xf_pipeline *p) {
    memset(p, 0, sizeof *p);
    p->fit = XF_FIT_NONE;
    p->filter = XF_FILTER_BILINEAR;
}

void xf_pipeline_to_shape(xf_pipeline *p, int height, int width, int channels) {
    p->fit = XF_FIT_COVER;
    p->height = height;
    p->width = width;
    p->channels = channels;
}

/* The size the picture is resampled to before the centre crop. Integer
 * division floors, as torchvision's Resize computes the long side. */
static void resized_size(const xf_pipeline *p, int h, int w, int *rh, int *rw) {
    *rh = h, *rw = w;
    switch (p->fit) {
    case XF_FIT_NONE: return;
    case XF_FIT_STRETCH: *rh = p->height, *rw = p->width; return;
    case XF_FIT_SHORTER:
        if (h <= w) *rh = p->shorter, *rw = (int)((long long)p->shorter * w / h);
        else *rw = p->shorter, *rh = (int)((long long)p->shorter * h / w);
        return;
    case XF_FIT_COVER:
        /* height / h >= width / w: the height binds, the width overhangs. */
        if ((long long)p->height * w >= (long long)p->width * h)
            *rh = p->height, *rw = (int)((long long)w * p->height / h);
        else
            *rw = p->width, *rh = (int)((long long)h * p->width / w);
        return;
    }
}

void xf_pipeline_shape(const xf_pipeline *p, int h, int w, int c, int *oh, int *ow, int *oc) {
    if (p->fit == XF_FIT_NONE) *oh = h, *ow = w;
    else *oh = p->height, *ow = p->width;
    *oc = p->channels ? p->channels : c >= 3 ? 3 : 1;
}

/* ---- filters and their taps ---- */

static double filter_support(xf_filter f) {
    return f == XF_FILTER_BOX ? 0.5 : f == XF_FILTER_BILINEAR ? 1.0 : 2.0;
}

static double filter_at(xf_filter f, double x) {
    if (f == XF_FILTER_BOX) return x > -0.5 && x <= 0.5 ? 1 : 0;
    x = fabs(x);
    if (f == XF_FILTER_BILINEAR) return x < 1 ? 1 - x : 0;
    const double a = -0.5; /* Keys' cubic convolution, as PIL's BICUBIC */
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
}

/* Output pixels [first, first + count) of a resize from `in` to `out`
 * pixels along one axis read source pixels lo[k] .. lo[k] + n[k] - 1 with
 * weights w[k * taps ..]. */
typedef struct {
    int taps;
    int *lo, *n;
    double *w;
} axis;

static void axis_free(axis *a) {
    free(a->lo);
    free(a->n);
    free(a->w);
}

static xf_status axis_build(xf_filter f, int in, int out, int first, int count, axis *a) {
    double scale = (double)in / out, widen = scale > 1 ? scale : 1;
    double support = filter_support(f) * widen;
    a->taps = (int)ceil(support) * 2 + 1;
    a->lo = xf_malloc(sizeof(int) * (size_t)count);
    a->n = xf_malloc(sizeof(int) * (size_t)count);
    a->w = xf_calloc((size_t)count * a->taps, sizeof(double));
    if (!a->lo || !a->n || !a->w) {
        axis_free(a);
        return XF_ENOMEM;
    }
    for (int k = 0; k < count; k++) {
        double centre = (first + k + 0.5) * scale;
        int lo = (int)floor(centre - support + 0.5), hi = (int)floor(centre + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in) hi = in;
        double *w = a->w + (size_t)k * a->taps, sum = 0;
        for (int j = lo; j < hi; j++) sum += w[j - lo] = filter_at(f, (j + 0.5 - centre) / widen);
        for (int j = lo; sum != 0 && j < hi; j++) w[j - lo] /= sum;
        a->lo[k] = lo;
        a->n[k] = hi - lo;
    }
    return XF_OK;
}

static inline uint8_t round8(double v) {
    v = floor(v + 0.5);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Columns [left, left + ow) of src (h x w x c) resized to rw columns. */
static xf_status pass_horizontal(const xf_pipeline *p, const uint8_t *src, int h, int w, int c,
                                 int rw, int left, int ow, uint8_t *dst) {
    if (rw == w) {
        for (int y = 0; y < h; y++)
            memcpy(dst + (size_t)y * ow * c, src + ((size_t)y * w + left) * c, (size_t)ow * c);
        return XF_OK;
    }
    axis a;
    xf_status st = axis_build(p->filter, w, rw, left, ow, &a);
    if (st != XF_OK) return st;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = src + (size_t)y * w * c;
        for (int x = 0; x < ow; x++) {
            const double *wt = a.w + (size_t)x * a.taps;
            for (int k = 0; k < c; k++) {
                double acc = 0;
                for (int t = 0; t < a.n[x]; t++) acc += wt[t] * row[(size_t)(a.lo[x] + t) * c + k];
                dst[((size_t)y * ow + x) * c + k] = round8(acc);
            }
        }
    }
    axis_free(&a);
    return XF_OK;
}

/* Rows [top, top + oh) of src (h x w x c) resized to rh rows. */
static xf_status pass_vertical(const xf_pipeline *p, const uint8_t *src, int h, int w, int c,
                               int rh, int top, int oh, uint8_t *dst) {
    size_t row = (size_t)w * c;
    if (rh == h) {
        memcpy(dst, src + (size_t)top * row, row * oh);
        return XF_OK;
    }
    axis a;
    xf_status st = axis_build(p->filter, h, rh, top, oh, &a);
    if (st != XF_OK) return st;
    for (int y = 0; y < oh; y++) {
        const double *wt = a.w + (size_t)y * a.taps;
        for (size_t i = 0; i < row; i++) {
            double acc = 0;
            for (int t = 0; t < a.n[y]; t++) acc += wt[t] * src[(size_t)(a.lo[y] + t) * row + i];
            dst[(size_t)y * row + i] = round8(acc);
        }
    }
    axis_free(&a);
    return XF_OK;
}

/* ---- alpha and channels ---- */

/* ITU-R 601-2 luma in 16-bit fixed point, rounded (as PIL's convert("L")). */
static inline uint8_t luma(unsigned r, unsigned g, unsigned b) {
    return (uint8_t)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

/* round((fg * a + bg * (255 - a)) / 255); never a tie, as 2 * v is even. */
static inline uint8_t blend(unsigned fg, unsigned a, unsigned bg) {
    return (uint8_t)((fg * a + bg * (255 - a) + 127) / 255);
}

/* One source pixel (c channels) as oc channels over the background. */
static void convert_pixel(const uint8_t *s, int c, int oc, const uint8_t *bg, uint8_t *d) {
    uint8_t rgb[3];
    switch (c) {
    case 1: rgb[0] = rgb[1] = rgb[2] = s[0]; break;
    case 2: /* over a colour background, grey + alpha becomes colour */
        for (int k = 0; k < 3; k++) rgb[k] = blend(s[0], s[1], bg[k]);
        break;
    case 3: memcpy(rgb, s, 3); break;
    default:
        for (int k = 0; k < 3; k++) rgb[k] = blend(s[k], s[3], bg[k]);
        break;
    }
    if (oc == 3) memcpy(d, rgb, 3);
    else d[0] = c == 1 ? s[0] : luma(rgb[0], rgb[1], rgb[2]);
}

xf_status xf_pipeline_apply(const xf_pipeline *p, const uint8_t *src, int h, int w, int c,
                            uint8_t *dst) {
    XF_ASSERT(h > 0 && w > 0 && c >= 1 && c <= 4);
    int oh, ow, oc, rh, rw;
    xf_pipeline_shape(p, h, w, c, &oh, &ow, &oc);
    resized_size(p, h, w, &rh, &rw);
    XF_ASSERT(rh >= oh && rw >= ow);
    int top = (rh - oh) / 2, left = (rw - ow) / 2;
    uint8_t *conv = NULL, *mid = NULL;
    if (c != oc) {
        if (!(conv = xf_malloc((size_t)h * w * oc))) return XF_ENOMEM;
        for (size_t i = 0; i < (size_t)h * w; i++)
            convert_pixel(src + i * c, c, oc, p->background, conv + i * oc);
        src = conv;
    }
    xf_status st = XF_OK;
    if (!(mid = xf_malloc((size_t)h * ow * oc))) st = XF_ENOMEM;
    if (st == XF_OK) st = pass_horizontal(p, src, h, w, oc, rw, left, ow, mid);
    if (st == XF_OK) st = pass_vertical(p, mid, h, ow, oc, rh, top, oh, dst);
    free(conv);
    free(mid);
    return st;
}

void xf_pipeline_describe(const xf_pipeline *p, char *buf, size_t cap) {
    static const char *filters[] = {"bilinear", "bicubic", "box"};
    char size[96];
    switch (p->fit) {
    case XF_FIT_NONE: snprintf(size, sizeof size, "size kept"); break;
    case XF_FIT_STRETCH: snprintf(size, sizeof size, "both sides to %dx%d", p->height, p->width); break;
    case XF_FIT_SHORTER:
        snprintf(size, sizeof size, "shorter side to %d, centre crop %dx%d", p->shorter, p->height,
                 p->width);
        break;
    case XF_FIT_COVER:
        snprintf(size, sizeof size, "scaled to cover %dx%d, centre crop", p->height, p->width);
        break;
    }
    snprintf(buf, cap, "%s, %s, %s", size,
             p->channels == 3 ? "RGB" : p->channels == 1 ? "grey" : "channels kept",
             filters[p->filter]);
}

int xf_preprocess_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

typedef struct {
    const xf_dataset *src;
    const xf_pipeline *p;
    xf_dataset *out;
    xf_status *status; /* one per worker */
} preprocess_job;

static void preprocess_slice(void *ctx, int worker, int workers) {
    preprocess_job *j = ctx;
    long begin, end;
    xf_pool_share(j->src->n, worker, workers, &begin, &end);
    size_t in = xf_dataset_image_size(j->src), on = xf_dataset_image_size(j->out);
    for (long i = begin; i < end && j->status[worker] == XF_OK; i++)
        j->status[worker] = xf_pipeline_apply(j->p, j->src->images + i * in, j->src->height,
                                              j->src->width, j->src->channels,
                                              j->out->images + i * on);
}

xf_status xf_dataset_preprocess(const xf_dataset *src, const xf_pipeline *p, xf_dataset *out) {
    memset(out, 0, sizeof *out);
    if (src->channels < 1 || src->channels > 4)
        return xf_fail(XF_EINVAL, "task %s: %d channels, expected 1 to 4", src->name,
                       src->channels);
    int oh, ow, oc;
    xf_pipeline_shape(p, src->height, src->width, src->channels, &oh, &ow, &oc);
    xf_status st = xf_dataset_alloc(out, src->name, src->n, oh, ow, oc, src->n_classes);
    if (st != XF_OK) return st;
    int workers = xf_preprocess_threads();
    if (workers > src->n) workers = src->n;
    xf_status *status = xf_calloc((size_t)workers, sizeof(xf_status));
    xf_pool pool;
    if (!status) st = XF_ENOMEM;
    else st = xf_pool_init(&pool, workers);
    if (st == XF_OK) {
        preprocess_job job = {src, p, out, status};
        xf_pool_run(&pool, preprocess_slice, &job);
        xf_pool_free(&pool);
        for (int w = 0; w < workers && st == XF_OK; w++) st = status[w];
    }
    free(status);
    if (st != XF_OK) {
        xf_dataset_free(out);
        return st;
    }
    memcpy(out->labels, src->labels, sizeof(int32_t) * (size_t)src->n);
    out->norm = src->norm;
    return XF_OK;
}
