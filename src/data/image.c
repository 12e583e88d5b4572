#include "data/image.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* Lays out the taps for one axis: output i reads src[first[i] + t] with
 * weight w[i * taps + t]. Coordinates map pixel centres onto each other:
 * x = (i + 0.5) * scale - 0.5. */
typedef struct {
    int taps;
    int *first;
    float *w;
} axis_filter;

static int axis_taps(int src, int dst) {
    double scale = (double)src / dst, support = scale > 1 ? scale : 1;
    return (int)ceil(support) * 2 + 1;
}

static void axis_build(int src, int dst, axis_filter *f) {
    double scale = (double)src / dst, support = scale > 1 ? scale : 1;
    for (int i = 0; i < dst; i++) {
        double centre = (i + 0.5) * scale - 0.5;
        int lo = (int)floor(centre - support) + 1;
        f->first[i] = lo;
        double sum = 0;
        for (int t = 0; t < f->taps; t++) {
            double d = fabs(lo + t - centre) / support;
            double w = d < 1 ? 1 - d : 0;
            f->w[i * f->taps + t] = (float)w;
            sum += w;
        }
        for (int t = 0; t < f->taps; t++) f->w[i * f->taps + t] = (float)(f->w[i * f->taps + t] / sum);
    }
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Reads source pixel (y, x) converted to channel k of a dc-channel image. */
static inline float pixel(const uint8_t *src, int sw, int sc, int y, int x, int dc, int k) {
    const uint8_t *p = src + ((size_t)y * sw + x) * sc;
    if (sc == dc) return p[k];
    if (sc == 1) return p[0];
    return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
}

void xf_image_convert(const uint8_t *src, int sh, int sw, int sc, uint8_t *dst, int dh, int dw,
                      int dc, float *work) {
    XF_ASSERT((sc == 1 || sc == 3) && (dc == 1 || dc == 3));
    int hx = axis_taps(sw, dw), hy = axis_taps(sh, dh);
    /* Small fixed stacks would do for MNIST sizes, but photos can be large. */
    int *first = malloc(sizeof(int) * (size_t)(dw + dh));
    float *w = malloc(sizeof(float) * ((size_t)dw * hx + (size_t)dh * hy));
    XF_ASSERT(first && w);
    axis_filter fx = {hx, first, w}, fy = {hy, first + dw, w + (size_t)dw * hx};
    axis_build(sw, dw, &fx);
    axis_build(sh, dh, &fy);
    for (int y = 0; y < sh; y++)
        for (int i = 0; i < dw; i++)
            for (int k = 0; k < dc; k++) {
                float acc = 0;
                for (int t = 0; t < hx; t++) {
                    float wt = fx.w[i * hx + t];
                    if (wt != 0) acc += wt * pixel(src, sw, sc, y, clampi(fx.first[i] + t, 0, sw - 1), dc, k);
                }
                work[((size_t)y * dw + i) * dc + k] = acc;
            }
    for (int j = 0; j < dh; j++)
        for (int i = 0; i < dw; i++)
            for (int k = 0; k < dc; k++) {
                float acc = 0;
                for (int t = 0; t < hy; t++) {
                    float wt = fy.w[j * hy + t];
                    if (wt != 0) acc += wt * work[((size_t)clampi(fy.first[j] + t, 0, sh - 1) * dw + i) * dc + k];
                }
                long v = lrintf(acc);
                dst[((size_t)j * dw + i) * dc + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    free(first);
    free(w);
}

xf_status xf_dataset_convert(const xf_dataset *src, int height, int width, int channels,
                             xf_dataset *out) {
    memset(out, 0, sizeof *out);
    if (height <= 0 || width <= 0 || height > 4096 || width > 4096 ||
        (channels != 1 && channels != 3))
        return xf_fail(XF_EINVAL, "task %s: cannot convert to %d x %d x %d (want sizes 1..4096, "
                                  "1 or 3 channels)",
                       src->name, height, width, channels);
    if (src->channels != 1 && src->channels != 3)
        return xf_fail(XF_EINVAL, "task %s: %d channels, expected 1 or 3", src->name,
                       src->channels);
    xf_status st = xf_dataset_alloc(out, src->name, src->n, height, width, channels,
                                    src->n_classes);
    if (st != XF_OK) return st;
    float *work = xf_malloc(sizeof(float) * (size_t)src->height * width * channels);
    if (!work) {
        xf_dataset_free(out);
        return XF_ENOMEM;
    }
    size_t in = xf_dataset_image_size(src), on = xf_dataset_image_size(out);
    for (int i = 0; i < src->n; i++)
        xf_image_convert(src->images + i * in, src->height, src->width, src->channels,
                         out->images + i * on, height, width, channels, work);
    memcpy(out->labels, src->labels, sizeof(int32_t) * (size_t)src->n);
    free(work);
    return XF_OK;
}

xf_status xf_png_write(const char *path, const uint8_t *pixels, int height, int width,
                       int channels) {
    FILE *f = xf_fopen(path, "wb");
    if (!f) return XF_EIO;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return xf_fail(XF_ENOMEM, "%s: cannot start a PNG writer", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return xf_fail(XF_EIO, "%s: writing the PNG failed", path);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++)
        png_write_row(png, (png_const_bytep)(pixels + (size_t)y * width * channels));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) return xf_fail(XF_EIO, "%s: closing the PNG failed", path);
    return XF_OK;
}

xf_status xf_dataset_contact_sheet(const xf_dataset *ds, int per_class, const char *path) {
    xf_status st = xf_dataset_validate(ds, ds->name);
    if (st != XF_OK) return st;
    if (per_class < 1 || ds->channels > 3 || ds->channels == 2)
        return xf_fail(XF_EINVAL, "contact sheet of %s: %d per class, %d channels", ds->name,
                       per_class, ds->channels);
    int side = ds->height > ds->width ? ds->height : ds->width;
    int zoom = side >= 28 ? 1 : (28 + side - 1) / side, gap = 2;
    int ch = ds->height * zoom + gap, cw = ds->width * zoom + gap, c = ds->channels;
    int h = ch * ds->n_classes + gap, w = cw * per_class + gap;
    uint8_t *sheet = xf_malloc((size_t)h * w * c);
    int *used = xf_calloc((size_t)ds->n_classes, sizeof(int));
    if (!sheet || !used) {
        free(sheet);
        free(used);
        return XF_ENOMEM;
    }
    /* A mid grey frame tells images (black or white backgrounds) apart. */
    memset(sheet, 96, (size_t)h * w * c);
    size_t image = xf_dataset_image_size(ds);
    for (int i = 0; i < ds->n; i++) {
        int label = ds->labels[i], col = used[label];
        if (col >= per_class) continue;
        used[label]++;
        const uint8_t *src = ds->images + (size_t)i * image;
        for (int y = 0; y < ds->height * zoom; y++)
            for (int x = 0; x < ds->width * zoom; x++) {
                uint8_t *p = sheet + ((size_t)(gap + label * ch + y) * w + gap + col * cw + x) * c;
                memcpy(p, src + ((size_t)(y / zoom) * ds->width + x / zoom) * c, (size_t)c);
            }
    }
    st = xf_png_write(path, sheet, h, w, c);
    free(sheet);
    free(used);
    return st;
}
