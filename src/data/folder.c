/* ImageFolder: one sub-folder per class of PNG (libpng) or JPEG
 * (libjpeg-turbo) files. */
#include <dirent.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/mem.h"
#include "core/path.h"
#include "data/image.h"
#include "data/readers.h"

enum { MAX_SIDE = 8192 };

static xf_status decode_png(const uint8_t *bytes, size_t size, const char *origin,
                            uint8_t **pixels, int *h, int *w, int *c) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, bytes, size))
        return xf_fail(XF_EFORMAT, "%s: unreadable PNG: %s", origin, img.message);
    if (img.width == 0 || img.height == 0 || img.width > MAX_SIDE || img.height > MAX_SIDE) {
        png_image_free(&img);
        return xf_fail(XF_EFORMAT, "%s: PNG of %u x %u pixels, expected 1..%d a side", origin,
                       img.height, img.width, MAX_SIDE);
    }
    /* Alpha is composited away by libpng onto black (no background given). */
    bool colour = (img.format & PNG_FORMAT_FLAG_COLOR) != 0;
    img.format = colour ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    *c = colour ? 3 : 1;
    uint8_t *buf = xf_malloc(PNG_IMAGE_SIZE(img));
    if (!buf) {
        png_image_free(&img);
        return XF_ENOMEM;
    }
    if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
        free(buf);
        return xf_fail(XF_EFORMAT, "%s: unreadable PNG: %s", origin, img.message);
    }
    *pixels = buf;
    *h = (int)img.height;
    *w = (int)img.width;
    return XF_OK;
}

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_errors;

static void jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_errors *e = (jpeg_errors *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo, int level) {
    (void)cinfo;
    (void)level;
}

static xf_status decode_jpeg(const uint8_t *bytes, size_t size, const char *origin,
                             uint8_t **pixels, int *h, int *w, int *c) {
    struct jpeg_decompress_struct cinfo;
    jpeg_errors err;
    uint8_t *volatile buf = NULL;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_error_exit;
    err.mgr.emit_message = jpeg_quiet;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(buf);
        return xf_fail(XF_EFORMAT, "%s: unreadable JPEG: %s", origin, err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    bool grey = cinfo.jpeg_color_space == JCS_GRAYSCALE;
    cinfo.out_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
    if (cinfo.image_width > MAX_SIDE || cinfo.image_height > MAX_SIDE) {
        jpeg_destroy_decompress(&cinfo);
        return xf_fail(XF_EFORMAT, "%s: JPEG of %u x %u pixels, expected at most %d a side",
                       origin, cinfo.image_height, cinfo.image_width, MAX_SIDE);
    }
    jpeg_start_decompress(&cinfo);
    int ch = cinfo.output_components;
    size_t row = (size_t)cinfo.output_width * ch;
    buf = xf_malloc(row * cinfo.output_height);
    if (!buf) {
        jpeg_destroy_decompress(&cinfo);
        return XF_ENOMEM;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW r = buf + row * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &r, 1);
    }
    jpeg_finish_decompress(&cinfo);
    *h = (int)cinfo.output_height;
    *w = (int)cinfo.output_width;
    *c = ch;
    jpeg_destroy_decompress(&cinfo);
    *pixels = buf;
    return XF_OK;
}

xf_status xf_image_decode(const uint8_t *bytes, size_t size, const char *origin,
                          uint8_t **pixels, int *height, int *width, int *channels) {
    *pixels = NULL;
    if (size >= 8 && memcmp(bytes, "\x89PNG\r\n\x1a\n", 8) == 0)
        return decode_png(bytes, size, origin, pixels, height, width, channels);
    if (size >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff)
        return decode_jpeg(bytes, size, origin, pixels, height, width, channels);
    return xf_fail(XF_EFORMAT, "%s: byte 0: neither a PNG nor a JPEG signature", origin);
}

/* ---- the folder walk ---- */

typedef struct {
    char **items;
    int n, cap;
} name_list;

static void names_free(name_list *l) {
    for (int i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_image_name(const char *n) {
    const char *dot = strrchr(n, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".jpeg") == 0);
}

/* Sorted entries of dir: sub-folders (dirs true) or image files. */
static xf_status list_dir(const char *dir, bool dirs, name_list *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return xf_fail(XF_ENOTFOUND, "%s: cannot open the folder", dir);
    struct dirent *e;
    xf_status st = XF_OK;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[XF_PATH_MAX];
        struct stat sb;
        if ((st = xf_path_format(path, sizeof path, "%s/%s", dir, e->d_name))) break;
        if (stat(path, &sb) != 0) continue;
        if (dirs ? !S_ISDIR(sb.st_mode) : !(S_ISREG(sb.st_mode) && is_image_name(e->d_name)))
            continue;
        if (out->n == out->cap) {
            int cap = out->cap ? out->cap * 2 : 64;
            char **items = xf_realloc(out->items, sizeof(char *) * (size_t)cap);
            if (!items) {
                st = XF_ENOMEM;
                break;
            }
            out->items = items;
            out->cap = cap;
        }
        if (!(out->items[out->n] = xf_strdup(e->d_name))) {
            st = XF_ENOMEM;
            break;
        }
        out->n++;
    }
    closedir(d);
    if (st != XF_OK) names_free(out);
    else if (out->n > 1) qsort(out->items, (size_t)out->n, sizeof(char *), cmp_str);
    return st;
}

/* Loads every image of DIR/<class>/ for the given class names into out. */
static xf_status load_classes(const char *dir, const name_list *classes, const char *name,
                              xf_dataset *out) {
    memset(out, 0, sizeof *out);
    name_list *files = xf_calloc((size_t)classes->n, sizeof(name_list));
    if (!files) return XF_ENOMEM;
    xf_status st = XF_OK;
    int total = 0;
    char path[XF_PATH_MAX];
    for (int c = 0; c < classes->n && st == XF_OK; c++) {
        st = xf_path_format(path, sizeof path, "%s/%s", dir, classes->items[c]);
        if (st == XF_OK) st = list_dir(path, false, &files[c]);
        if (st == XF_OK && files[c].n == 0)
            st = xf_fail(XF_EFORMAT, "%s: empty class folder (no .png, .jpg or .jpeg files)", path);
        if (st == XF_OK) total += files[c].n;
    }
    int at = 0;
    for (int c = 0; c < classes->n && st == XF_OK; c++)
        for (int i = 0; i < files[c].n && st == XF_OK; i++) {
            unsigned char *bytes;
            size_t size;
            uint8_t *px = NULL;
            int h, w, ch;
            st = xf_path_format(path, sizeof path, "%s/%s/%s", dir, classes->items[c],
                                files[c].items[i]);
            if (st == XF_OK) st = xf_read_file(path, &bytes, &size);
            if (st != XF_OK) break;
            st = xf_image_decode(bytes, size, path, &px, &h, &w, &ch);
            free(bytes);
            if (st == XF_OK && at == 0)
                st = xf_dataset_alloc(out, name, total, h, w, ch, classes->n);
            if (st == XF_OK && (h != out->height || w != out->width))
                st = xf_fail(XF_EFORMAT, "%s: image is %d x %d, but the first one is %d x %d "
                                         "(resize the folder to one size)",
                             path, h, w, out->height, out->width);
            if (st == XF_OK) {
                uint8_t *dst = out->images + (size_t)at * xf_dataset_image_size(out);
                if (ch == out->channels) {
                    memcpy(dst, px, xf_dataset_image_size(out));
                } else {
                    float *work = xf_malloc(sizeof(float) * (size_t)h * w * out->channels);
                    if (!work) st = XF_ENOMEM;
                    else xf_image_convert(px, h, w, ch, dst, h, w, out->channels, work);
                    free(work);
                }
                out->labels[at++] = c;
            }
            free(px);
        }
    for (int c = 0; c < classes->n; c++) names_free(&files[c]);
    free(files);
    if (st != XF_OK) xf_dataset_free(out);
    return st;
}

static bool same_names(const name_list *a, const name_list *b) {
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->items[i], b->items[i]) != 0) return false;
    return true;
}

xf_status xf_folder_load(const char *dir, const char *name, xf_dataset *train,
                         xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char tr[XF_PATH_MAX], te[XF_PATH_MAX];
    xf_status st = xf_path_format(tr, sizeof tr, "%s/train", dir);
    if (st == XF_OK) st = xf_path_format(te, sizeof te, "%s/test", dir);
    if (st != XF_OK) return st;
    struct stat sb;
    bool split = stat(tr, &sb) == 0 && S_ISDIR(sb.st_mode) && stat(te, &sb) == 0 &&
                 S_ISDIR(sb.st_mode);
    name_list classes, test_classes;
    st = list_dir(split ? tr : dir, true, &classes);
    if (st != XF_OK) return st;
    if (classes.n == 0) {
        names_free(&classes);
        return xf_fail(XF_EFORMAT, "%s: no class folders", split ? tr : dir);
    }
    if (split) {
        st = list_dir(te, true, &test_classes);
        if (st == XF_OK && !same_names(&classes, &test_classes))
            st = xf_fail(XF_EFORMAT, "%s: class folders differ from those in %s", te, tr);
        if (st == XF_OK) st = load_classes(tr, &classes, name, train);
        if (st == XF_OK) st = load_classes(te, &classes, name, test);
        if (st == XF_OK && (test->height != train->height || test->width != train->width ||
                            test->channels != train->channels))
            st = xf_fail(XF_EFORMAT, "%s: images are %d x %d x %d, but %s has %d x %d x %d", te,
                         test->height, test->width, test->channels, tr, train->height,
                         train->width, train->channels);
        names_free(&test_classes);
    } else {
        xf_dataset all;
        st = load_classes(dir, &classes, name, &all);
        if (st == XF_OK) {
            st = xf_dataset_split(&all, XF_SPLIT_TEST_FRACTION, XF_SPLIT_SEED, train, test);
            xf_dataset_free(&all);
        }
    }
    names_free(&classes);
    if (st != XF_OK) {
        xf_dataset_free(train);
        xf_dataset_free(test);
    }
    return st;
}
