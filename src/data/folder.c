/* ImageFolder for real picture trees: a class is a first-level folder, its
 * pictures are found recursively below it, decoded on all cores and brought
 * through the task's pipeline as they are decoded, so no full-size copy of
 * the task is ever held. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/path.h"
#include "core/pool.h"
#include "data/preprocess.h"
#include "data/readers.h"

/* Folder depth below a class at which the walk stops (a loop the
 * device/inode check cannot see, such as a bind mount, ends here). */
enum { MAX_DEPTH = 64 };
/* Files larger than this are not read (no picture xfer can use is). */
static const long long MAX_FILE_BYTES = 512LL << 20;

typedef struct {
    char *path;
    int cls;  /* index into the class list */
    int part; /* 0: train (or the only set), 1: test */
} entry;

typedef struct {
    bool skip_bad;
    entry *items;
    int n, cap;
    int other_files; /* regular files that are not .png, .jpg or .jpeg */
    char first_other[XF_PATH_MAX];
    int problems; /* bad pictures and folders skipped */
} walk;

static void walk_free(walk *w) {
    for (int i = 0; i < w->n; i++) free(w->items[i].path);
    free(w->items);
}

/* A bad picture or folder: a warning when skipping, else the error. */
__attribute__((format(printf, 2, 3))) static xf_status trouble(walk *w, const char *fmt, ...) {
    char msg[XF_PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!w->skip_bad) return xf_fail(XF_EFORMAT, "%s", msg);
    xf_log_warn("%s (skipped)", msg);
    w->problems++;
    return XF_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_image_name(const char *n) {
    const char *dot = strrchr(n, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".jpeg") == 0);
}

static void names_free(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* The entries of dir but hidden ones (names starting with '.'), sorted. */
static xf_status list_names(const char *dir, char ***out, int *count) {
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return xf_fail(XF_EIO, "%s: cannot open the folder: %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0, cap = 0;
    xf_status st = XF_OK;
    struct dirent *e;
    while (st == XF_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = xf_realloc(names, sizeof(char *) * (size_t)cap);
            if (!grown) st = XF_ENOMEM;
            else names = grown;
        }
        if (st == XF_OK && !(names[n++] = xf_strdup(e->d_name))) n--, st = XF_ENOMEM;
    }
    closedir(d);
    if (st != XF_OK) {
        names_free(names, n);
        return st;
    }
    if (n > 1) qsort(names, (size_t)n, sizeof(char *), cmp_str);
    *out = names;
    *count = n;
    return XF_OK;
}

static xf_status add_entry(walk *w, const char *path, int cls, int part) {
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 256;
        entry *grown = xf_realloc(w->items, sizeof(entry) * (size_t)cap);
        if (!grown) return XF_ENOMEM;
        w->items = grown;
        w->cap = cap;
    }
    char *copy = xf_strdup(path);
    if (!copy) return XF_ENOMEM;
    w->items[w->n++] = (entry){copy, cls, part};
    return XF_OK;
}

typedef struct {
    dev_t dev;
    ino_t ino;
} folder_id;

/* Every picture below dir, depth first in name order. `above` holds the
 * folders on the way down (symbolic links are followed, so a link to one
 * of them is a loop). */
static xf_status walk_folder(walk *w, const char *dir, int cls, int part, folder_id *above,
                             int depth) {
    struct stat sb;
    if (stat(dir, &sb) != 0) return trouble(w, "%s: %s", dir, strerror(errno));
    for (int i = 0; i < depth; i++)
        if (above[i].dev == sb.st_dev && above[i].ino == sb.st_ino)
            return trouble(w, "%s: symbolic link loop (it leads back to a folder above it)", dir);
    if (depth == MAX_DEPTH)
        return trouble(w, "%s: more than %d folders deep", dir, MAX_DEPTH);
    above[depth] = (folder_id){sb.st_dev, sb.st_ino};
    char **names;
    int n;
    xf_status st = list_names(dir, &names, &n);
    if (st == XF_EIO) return trouble(w, "%s", xf_error_message());
    if (st != XF_OK) return st;
    char path[XF_PATH_MAX];
    for (int i = 0; i < n && st == XF_OK; i++) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= sizeof path) {
            st = trouble(w, "%s/%s: path longer than %d bytes", dir, names[i], XF_PATH_MAX - 1);
            continue;
        }
        if (stat(path, &sb) != 0) {
            st = trouble(w, "%s: %s", path, strerror(errno));
        } else if (S_ISDIR(sb.st_mode)) {
            st = walk_folder(w, path, cls, part, above, depth + 1);
        } else if (S_ISREG(sb.st_mode) && is_image_name(names[i])) {
            if (sb.st_size > MAX_FILE_BYTES)
                st = trouble(w, "%s: %lld bytes, more than the %lld a picture may have", path,
                             (long long)sb.st_size, MAX_FILE_BYTES);
            else
                st = add_entry(w, path, cls, part);
        } else if (w->other_files++ == 0) {
            snprintf(w->first_other, sizeof w->first_other, "%s", path);
        }
    }
    names_free(names, n);
    return st;
}

/* The class folders of root (sorted); other entries count as other files. */
static xf_status list_classes(walk *w, const char *root, char ***classes, int *n_classes) {
    char **names;
    int n;
    xf_status st = list_names(root, &names, &n);
    if (st == XF_EIO) st = XF_ENOTFOUND;
    if (st != XF_OK) return st;
    int k = 0;
    char path[XF_PATH_MAX];
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (xf_path_format(path, sizeof path, "%s/%s", root, names[i]) == XF_OK &&
            stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            names[k++] = names[i];
            continue;
        }
        if (w->other_files++ == 0) snprintf(w->first_other, sizeof w->first_other, "%s", path);
        free(names[i]);
    }
    if (k == 0) {
        free(names);
        return xf_fail(XF_EFORMAT, "%s: no class folders (expected one folder per class)", root);
    }
    *classes = names;
    *n_classes = k;
    return XF_OK;
}

/* ---- decoding on all cores ---- */

typedef struct {
    const walk *w;
    const xf_pipeline *pipe;
    uint8_t *images; /* w->n pictures of `image` bytes */
    size_t image;
    int oh, ow;
    char **errors;       /* per entry: NULL, or why it cannot be used */
    int *other_size;     /* per worker: pictures not of oh x ow before the pipeline */
    xf_status *fatal;    /* per worker: out of memory */
} decode_job;

/* The picture at path, decoded (*px: caller frees). */
static xf_status read_picture(const char *path, uint8_t **px, int *h, int *w, int *c) {
    unsigned char *bytes;
    size_t size;
    *px = NULL;
    xf_status st = xf_read_file(path, &bytes, &size);
    if (st != XF_OK) return st;
    st = xf_image_decode(bytes, size, path, px, h, w, c);
    free(bytes);
    return st;
}

/* Decodes one picture through the pipeline into dst. */
static xf_status decode_one(const char *path, const xf_pipeline *pipe, uint8_t *dst,
                            int *h, int *w) {
    uint8_t *px;
    int c;
    xf_status st = read_picture(path, &px, h, w, &c);
    if (st == XF_OK) st = xf_pipeline_apply(pipe, px, *h, *w, c, dst);
    free(px);
    return st;
}

static void decode_slice(void *ctx, int worker, int workers) {
    decode_job *j = ctx;
    /* Interleaved, so each worker meets large and small pictures alike. */
    for (int i = worker; i < j->w->n && j->fatal[worker] == XF_OK; i += workers) {
        int h, w;
        xf_status st = decode_one(j->w->items[i].path, j->pipe, j->images + i * j->image, &h, &w);
        if (st == XF_ENOMEM) j->fatal[worker] = st;
        else if (st != XF_OK && !(j->errors[i] = xf_strdup(xf_error_message())))
            j->fatal[worker] = XF_ENOMEM;
        else if (h != j->oh || w != j->ow) j->other_size[worker]++;
    }
}

/* Completes the pipeline: with no size stated, the first decodable
 * picture's size (others are covered and centre cropped); with no
 * channels stated, grey or RGB as that picture is. */
static xf_status choose_shape(const walk *w, xf_pipeline *pipe) {
    if (pipe->fit != XF_FIT_NONE && pipe->channels) return XF_OK;
    for (int i = 0; i < w->n; i++) {
        uint8_t *px;
        int h, wd, c;
        xf_status st = read_picture(w->items[i].path, &px, &h, &wd, &c);
        free(px);
        if (st == XF_ENOMEM) return st;
        if (st != XF_OK) continue;
        if (pipe->fit == XF_FIT_NONE) xf_pipeline_to_shape(pipe, h, wd, pipe->channels);
        if (!pipe->channels) pipe->channels = c >= 3 ? 3 : 1;
        return XF_OK;
    }
    /* Nothing decodes: every entry fails below and says why. */
    xf_pipeline_to_shape(pipe, 1, 1, 1);
    return XF_OK;
}

/* Decodes every entry into *images (w->n pictures); errors[i] says why
 * entry i cannot be used. *other_size counts pictures of another size than
 * the output. */
static xf_status decode_all(const walk *w, const xf_pipeline *pipe, uint8_t **images,
                            char ***errors, int *other_size) {
    int oh, ow, oc;
    xf_pipeline_shape(pipe, 1, 1, pipe->channels, &oh, &ow, &oc);
    size_t image = (size_t)oh * ow * oc;
    int workers = xf_preprocess_threads();
    if (workers > w->n) workers = w->n > 0 ? w->n : 1;
    *images = xf_malloc(image * (size_t)(w->n > 0 ? w->n : 1));
    *errors = xf_calloc((size_t)(w->n > 0 ? w->n : 1), sizeof(char *));
    int *others = xf_calloc((size_t)workers, sizeof(int));
    xf_status *fatal = xf_calloc((size_t)workers, sizeof(xf_status));
    xf_status st = *images && *errors && others && fatal ? XF_OK : XF_ENOMEM;
    xf_pool pool;
    if (st == XF_OK) st = xf_pool_init(&pool, workers);
    if (st == XF_OK) {
        decode_job job = {w, pipe, *images, image, oh, ow, *errors, others, fatal};
        xf_pool_run(&pool, decode_slice, &job);
        xf_pool_free(&pool);
        *other_size = 0;
        for (int k = 0; k < workers; k++) {
            if (st == XF_OK) st = fatal[k];
            *other_size += others[k];
        }
    }
    free(others);
    free(fatal);
    return st;
}

static void errors_free(char **errors, int n) {
    for (int i = 0; errors && i < n; i++) free(errors[i]);
    free(errors);
}

/* ---- assembling the sets ---- */

typedef struct {
    const char *dir;
    const char *roots[2]; /* class folders' parents: one, or train and test */
    int parts;
    char **classes;
    int n_classes;
} layout;

/* Reports unusable entries and classes left empty in a part; fills
 * label_of (class -> label, -1 when dropped) and returns the kept count. */
static xf_status keep_classes(walk *w, const layout *L, char **errors, int *label_of,
                              int *kept) {
    int *count = xf_calloc((size_t)L->n_classes * 2, sizeof(int));
    if (!count) return XF_ENOMEM;
    xf_status st = XF_OK;
    for (int i = 0; i < w->n && st == XF_OK; i++) {
        if (errors[i]) st = trouble(w, "%s", errors[i]);
        else count[w->items[i].cls * 2 + w->items[i].part]++;
    }
    *kept = 0;
    for (int c = 0; c < L->n_classes && st == XF_OK; c++) {
        label_of[c] = -1;
        int p = 0;
        while (p < L->parts && count[c * 2 + p] > 0) p++;
        if (p < L->parts)
            st = trouble(w, "%s/%s: empty class folder (no readable .png, .jpg or .jpeg below it)",
                         L->roots[p], L->classes[c]);
        else
            label_of[c] = (*kept)++;
    }
    free(count);
    if (st == XF_OK && *kept == 0)
        st = xf_fail(XF_EFORMAT, "%s: no readable pictures in any class folder", L->dir);
    return st;
}

/* The usable pictures of one part, in entry order: copied out of `images`,
 * or (in_place) moved to its front, the dataset then owning the buffer
 * (*images becomes NULL), so a task is never held twice. */
static xf_status build_part(const walk *w, char **errors, const int *label_of, int kept,
                            int part, uint8_t **images, size_t image, const int shape[3],
                            bool in_place, const char *name, xf_dataset *out) {
    memset(out, 0, sizeof *out);
    int n = 0;
    for (int i = 0; i < w->n; i++)
        n += !errors[i] && w->items[i].part == part && label_of[w->items[i].cls] >= 0;
    xf_status st = XF_OK;
    if (!in_place) {
        st = xf_dataset_alloc(out, name, n, shape[0], shape[1], shape[2], kept);
    } else {
        XF_ASSERT(n > 0); /* keep_classes left every kept class a picture */
        if (!(out->labels = xf_malloc(sizeof(int32_t) * (size_t)n))) st = XF_ENOMEM;
        if (st == XF_OK) {
            snprintf(out->name, sizeof out->name, "%s", name);
            out->n = n, out->height = shape[0], out->width = shape[1], out->channels = shape[2];
            out->n_classes = kept;
            out->images = *images;
            *images = NULL;
        }
    }
    if (st != XF_OK) return st;
    const uint8_t *from = in_place ? out->images : *images;
    for (int i = 0, at = 0; i < w->n; i++) {
        if (errors[i] || w->items[i].part != part || label_of[w->items[i].cls] < 0) continue;
        if (!in_place || at != i)
            memmove(out->images + (size_t)at * image, from + (size_t)i * image, image);
        out->labels[at++] = label_of[w->items[i].cls];
    }
    if (in_place) {
        uint8_t *shrunk = realloc(out->images, (size_t)n * image);
        if (shrunk) out->images = shrunk;
    }
    return XF_OK;
}

static bool same_names(char **a, int na, char **b, int nb) {
    if (na != nb) return false;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0) return false;
    return true;
}

/* The named classes, each a folder of root. */
static xf_status given_classes(const char *root, const char *const *names, int n,
                               char ***classes, int *n_classes) {
    *classes = xf_calloc((size_t)n, sizeof(char *));
    if (!*classes) return XF_ENOMEM;
    char path[XF_PATH_MAX];
    for (int i = 0; i < n; i++) {
        struct stat sb;
        xf_status st = xf_path_format(path, sizeof path, "%s/%s", root, names[i]);
        if (st == XF_OK && (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)))
            st = xf_fail(XF_ENOTFOUND, "%s: no such class folder", path);
        if (st == XF_OK && !((*classes)[i] = xf_strdup(names[i]))) st = XF_ENOMEM;
        if (st != XF_OK) {
            names_free(*classes, i);
            *classes = NULL;
            return st;
        }
    }
    *n_classes = n;
    return XF_OK;
}

/* Both roots' class lists, which must agree, and every picture below. */
static xf_status walk_all(walk *w, layout *L, const char *const *only, int n_only) {
    xf_status st = only ? given_classes(L->roots[0], only, n_only, &L->classes, &L->n_classes)
                        : list_classes(w, L->roots[0], &L->classes, &L->n_classes);
    if (st != XF_OK) return st;
    if (only && L->parts == 2)
        return xf_fail(XF_EINVAL, "%s: a class list is for folders without train/test", L->dir);
    if (L->parts == 2) {
        char **test;
        int n_test;
        walk ignored = {0};
        st = list_classes(&ignored, L->roots[1], &test, &n_test);
        if (st == XF_OK) {
            if (!same_names(L->classes, L->n_classes, test, n_test))
                st = xf_fail(XF_EFORMAT, "%s: class folders differ from those in %s",
                             L->roots[1], L->roots[0]);
            names_free(test, n_test);
        }
        w->other_files += ignored.other_files;
    }
    folder_id above[MAX_DEPTH + 1];
    char path[XF_PATH_MAX];
    for (int p = 0; p < L->parts && st == XF_OK; p++)
        for (int c = 0; c < L->n_classes && st == XF_OK; c++) {
            st = xf_path_format(path, sizeof path, "%s/%s", L->roots[p], L->classes[c]);
            if (st == XF_OK) st = walk_folder(w, path, c, p, above, 0);
        }
    return st;
}

xf_status xf_folder_load(const char *dir, const char *name, const xf_pipeline *pipeline,
                         bool skip_bad, xf_dataset *train, xf_dataset *test) {
    return xf_folder_load_classes(dir, NULL, 0, name, pipeline, skip_bad, train, test);
}

xf_status xf_folder_load_classes(const char *dir, const char *const *classes, int n_classes,
                                 const char *name, const xf_pipeline *pipeline, bool skip_bad,
                                 xf_dataset *train, xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char tr[XF_PATH_MAX], te[XF_PATH_MAX];
    xf_status st = xf_path_format(tr, sizeof tr, "%s/train", dir);
    if (st == XF_OK) st = xf_path_format(te, sizeof te, "%s/test", dir);
    if (st != XF_OK) return st;
    struct stat sb;
    bool split = stat(tr, &sb) == 0 && S_ISDIR(sb.st_mode) && stat(te, &sb) == 0 &&
                 S_ISDIR(sb.st_mode);
    layout L = {dir, {split ? tr : dir, te}, split ? 2 : 1, NULL, 0};
    walk w = {.skip_bad = skip_bad};
    xf_pipeline pipe = *pipeline;
    uint8_t *images = NULL;
    char **errors = NULL;
    int *label_of = NULL, kept = 0, other_size = 0;
    xf_dataset all = {0};
    st = walk_all(&w, &L, classes, n_classes);
    if (st == XF_OK) st = choose_shape(&w, &pipe);
    if (st == XF_OK) st = decode_all(&w, &pipe, &images, &errors, &other_size);
    if (st == XF_OK && !(label_of = xf_malloc(sizeof(int) * (size_t)L.n_classes))) st = XF_ENOMEM;
    if (st == XF_OK) st = keep_classes(&w, &L, errors, label_of, &kept);
    int shape[3];
    xf_pipeline_shape(&pipe, 1, 1, pipe.channels, &shape[0], &shape[1], &shape[2]);
    int oh = shape[0], ow = shape[1], oc = shape[2];
    size_t image = (size_t)oh * ow * oc;
    /* The test part is copied out first, then the rest moves in place. */
    if (st == XF_OK && split)
        st = build_part(&w, errors, label_of, kept, 1, &images, image, shape, false, name, test);
    if (st == XF_OK)
        st = build_part(&w, errors, label_of, kept, 0, &images, image, shape, true, name,
                        split ? train : &all);
    free(images);
    images = NULL;
    if (st == XF_OK && !split)
        st = xf_dataset_split_consume(&all, XF_SPLIT_TEST_FRACTION, XF_SPLIT_SEED, train, test);
    if (st == XF_OK) {
        char how[256];
        xf_pipeline_describe(&pipe, how, sizeof how);
        xf_log_info("folder %s: %d pictures in %d classes, as %dx%dx%d (%s, alpha over "
                    "%d,%d,%d)",
                    dir, train->n + test->n, kept, oh, ow, oc, how, pipe.background[0],
                    pipe.background[1], pipe.background[2]);
        if (w.other_files)
            xf_log_warn("folder %s: %d files that are not .png, .jpg or .jpeg skipped (the "
                        "first: %s)",
                        dir, w.other_files, w.first_other);
        if (w.problems)
            xf_log_warn("folder %s: %d bad pictures or folders skipped (each named above)", dir,
                        w.problems);
        if (other_size && pipeline->fit == XF_FIT_NONE)
            xf_log_warn("folder %s: %d pictures are not %dx%d, the first one's size: scaled to "
                        "cover it and centre cropped (choose with @size= or @resize=)",
                        dir, other_size, oh, ow);
    }
    errors_free(errors, w.n);
    free(label_of);
    names_free(L.classes, L.n_classes);
    walk_free(&w);
    if (st != XF_OK) {
        xf_dataset_free(train);
        xf_dataset_free(test);
        xf_dataset_free(&all);
    }
    return st;
}
