/* PNG (libpng) and JPEG (libjpeg-turbo) pictures decoded from memory to
 * 8-bit channels, alpha kept, so that xf_pipeline_apply composites it. */
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <jerror.h> /* after jpeglib.h: the message codes */
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "data/readers.h"

/* A picture bigger than this is refused before any pixel memory is taken:
 * a header can claim 100000 x 100000 in a few bytes. */
enum { MAX_SIDE = 16384 };
static const double MAX_PIXELS = 64.0 * 1024 * 1024;

static xf_status check_size(const char *origin, const char *kind, unsigned long h,
                            unsigned long w) {
    if (h == 0 || w == 0 || h > MAX_SIDE || w > MAX_SIDE || (double)h * w > MAX_PIXELS)
        return xf_fail(XF_EFORMAT, "%s: %s of %lu x %lu pixels, expected 1..%d a side and at "
                                   "most %.0f pixels",
                       origin, kind, h, w, MAX_SIDE, MAX_PIXELS);
    return XF_OK;
}

/* ---- PNG ---- */

typedef struct {
    const uint8_t *bytes;
    size_t size, at;
    char message[256];
} png_source;

static void png_read_memory(png_structp png, png_bytep out, size_t n) {
    png_source *s = png_get_io_ptr(png);
    if (s->size - s->at < n) png_error(png, "the file ends early (truncated)");
    memcpy(out, s->bytes + s->at, n);
    s->at += n;
}

static void png_on_error(png_structp png, png_const_charp msg) {
    png_source *s = png_get_error_ptr(png);
    snprintf(s->message, sizeof s->message, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/* Grey, grey + alpha, palette (to RGB, tRNS to alpha), RGB, RGBA; 1 to 16
 * bits (16 bits keep their high byte, as PIL does). */
static xf_status decode_png(const uint8_t *bytes, size_t size, const char *origin,
                            uint8_t **pixels, int *h, int *w, int *c) {
    png_source src = {bytes, size, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error,
                                             png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        return xf_fail(XF_ENOMEM, "%s: cannot start a PNG reader", origin);
    }
    uint8_t *volatile buf = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(buf);
        free(rows);
        return xf_fail(XF_EFORMAT, "%s: unreadable PNG: %s", origin, src.message);
    }
    png_set_read_fn(png, &src, png_read_memory);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    xf_status st = check_size(origin, "PNG", height, width);
    if (st != XF_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return st;
    }
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    size_t row = png_get_rowbytes(png, info);
    XF_ASSERT(ch >= 1 && ch <= 4 && row == (size_t)width * ch);
    buf = xf_malloc(row * height);
    rows = xf_malloc(sizeof(png_bytep) * height);
    if (!buf || !rows) {
        png_destroy_read_struct(&png, &info, NULL);
        free(buf);
        free(rows);
        return XF_ENOMEM;
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = buf + row * y;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    *pixels = buf;
    *h = (int)height;
    *w = (int)width;
    *c = ch;
    return XF_OK;
}

/* ---- JPEG ---- */

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    bool truncated;
} jpeg_errors;

static void jpeg_on_error(j_common_ptr cinfo) {
    jpeg_errors *e = (jpeg_errors *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

/* libjpeg only warns when the data ends early and pads the picture with
 * grey; a truncated file is an error here, as in PIL. Other warnings
 * (extraneous bytes, and so on) leave a usable picture. */
static void jpeg_on_message(j_common_ptr cinfo, int level) {
    jpeg_errors *e = (jpeg_errors *)cinfo->err;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) e->truncated = true;
}

/* CMYK as Adobe writes it (inverted) or plain, to RGB as PIL converts it:
 * R = (255 - C) (255 - K) / 255, rounded. In place: out may be in, as
 * every pixel is read before its (earlier or same) output is written. */
static void cmyk_to_rgb(const uint8_t *in, uint8_t *out, int width, bool inverted) {
    for (int x = 0; x < width; x++) {
        unsigned v[4];
        for (int k = 0; k < 4; k++) v[k] = inverted ? in[4 * x + k] : 255u - in[4 * x + k];
        for (int k = 0; k < 3; k++) out[3 * x + k] = (uint8_t)((v[k] * v[3] + 127) / 255);
    }
}

/* Grey, YCbCr (to RGB), CMYK and YCCK (to RGB). */
static xf_status decode_jpeg(const uint8_t *bytes, size_t size, const char *origin,
                             uint8_t **pixels, int *h, int *w, int *c) {
    struct jpeg_decompress_struct cinfo;
    jpeg_errors err;
    uint8_t *volatile buf = NULL;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_on_error;
    err.mgr.emit_message = jpeg_on_message;
    err.truncated = false;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(buf);
        return xf_fail(XF_EFORMAT, "%s: unreadable JPEG: %s", origin, err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    bool grey = cinfo.jpeg_color_space == JCS_GRAYSCALE;
    bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = grey ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
    xf_status st = check_size(origin, "JPEG", cinfo.image_height, cinfo.image_width);
    if (st != XF_OK) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    jpeg_start_decompress(&cinfo);
    int ch = cinfo.output_components;
    size_t row = (size_t)cinfo.output_width * ch;
    buf = xf_malloc(row * cinfo.output_height);
    if (!buf) {
        jpeg_destroy_decompress(&cinfo);
        return XF_ENOMEM;
    }
    while (cinfo.output_scanline < cinfo.output_height && !err.truncated) {
        JSAMPROW r = buf + row * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &r, 1);
    }
    if (err.truncated) {
        unsigned got = cinfo.output_scanline, total = cinfo.output_height;
        jpeg_destroy_decompress(&cinfo);
        free(buf);
        return xf_fail(XF_EFORMAT, "%s: truncated JPEG: the data ends at byte %zu, in row %u "
                                   "of %u",
                       origin, size, got, total);
    }
    jpeg_finish_decompress(&cinfo);
    *h = (int)cinfo.output_height;
    *w = (int)cinfo.output_width;
    *c = cmyk ? 3 : ch;
    if (cmyk)
        for (int y = 0; y < *h; y++)
            cmyk_to_rgb(buf + row * y, buf + (size_t)*w * 3 * y, *w, cinfo.saw_Adobe_marker);
    jpeg_destroy_decompress(&cinfo);
    *pixels = buf;
    return XF_OK;
}

xf_status xf_image_decode(const uint8_t *bytes, size_t size, const char *origin,
                          uint8_t **pixels, int *height, int *width, int *channels) {
    *pixels = NULL;
    if (size == 0) return xf_fail(XF_EFORMAT, "%s: empty file (0 bytes)", origin);
    if (size >= 8 && memcmp(bytes, "\x89PNG\r\n\x1a\n", 8) == 0)
        return decode_png(bytes, size, origin, pixels, height, width, channels);
    if (size >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff)
        return decode_jpeg(bytes, size, origin, pixels, height, width, channels);
    return xf_fail(XF_EFORMAT, "%s: byte 0: neither a PNG nor a JPEG signature", origin);
}
