#include "data/image.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

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
