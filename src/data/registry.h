/* The named tasks xfer knows, where their files live, and how to load
 * them. Two kinds: tasks whose IDX files a package installs as they are
 * (fashion-mnist, mnist), and tasks built from package files (QuickDraw,
 * sklearn digits, rendered glyphs and emoji) that `xfer data prepare`
 * converts once into the data cache (<data dir>/tasks/<version>/<name>/,
 * IDX). Nothing is downloaded at run time.
 *
 * Wherever a task name is accepted, xf_task_load also takes a task spec:
 *   PART[+PART...]            union, label spaces disjoint (shifted in order)
 *   PART = SOURCE[@OPT...]    OPT: classes=0,3,5-9 | per-class=N | fraction=F
 *                                  | seed=S | size=HxW[xC] | resize=S | crop=S|HxW
 *                                  | channels=1|3 | filter=bilinear|bicubic|box
 *                                  | background=white|black|V|R,G,B
 *                                  | mean=M[,M,M] | std=S[,S,S] | bad=skip|fail
 *   SOURCE = NAME | idx:DIR | cifar:DIR | folder:DIR | npy:IMAGES,LABELS[,TEST_IMAGES,TEST_LABELS]
 * Options apply to train and test alike, in the order classes, per-class,
 * fraction, pipeline (data/preprocess.h), normalisation; union parts of
 * other shapes are brought to the first part's shape. docs/data.md has the
 * details. */
#ifndef XF_REGISTRY_H
#define XF_REGISTRY_H

/* The cache folder of converted tasks. It changes whenever a conversion
 * does (v2: every picture through the preprocessing pipeline), so a cache
 * an older xfer made is never read as if this one had made it. */
#define XF_TASK_CACHE_VERSION "v2"

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"
#include "data/dataset.h"
#include "data/preprocess.h"

typedef struct {
    const char *name, *description, *source;
    int n_classes;
} xf_task_info;

size_t xf_task_count(void);
const xf_task_info *xf_task_at(size_t i);
/* The named task, or NULL. */
const xf_task_info *xf_task_find(const char *name);

/* True when the task can be loaded: its files are installed (IDX tasks) or
 * it is prepared or its source package is installed (built tasks). */
bool xf_task_available(const xf_task_info *task);

/* True when loading needs no conversion: IDX tasks whose files are present,
 * built tasks whose cache is complete. */
bool xf_task_prepared(const xf_task_info *task);

/* Builds a task from its source files into the data cache (again when
 * `force`); for IDX tasks only checks the files. */
xf_status xf_task_prepare(const xf_task_info *task, bool force);

/* Train and test sizes, read from the (prepared) label files only. */
xf_status xf_task_sizes(const xf_task_info *task, int *n_train, int *n_test);

/* Loads a named task or a task spec (see above); a built task that is not
 * prepared yet is prepared first. A missing file is XF_ENOTFOUND with a
 * message naming it and the command that installs it; an unknown name is
 * XF_ENOTFOUND listing the known ones. On failure both sets are empty. */
xf_status xf_task_load(const char *name, xf_dataset *train, xf_dataset *test);

/* xf_task_load for a known destination shape (a model's input, through
 * xf_pipeline_to_shape): folder: parts that state no size decode straight
 * to it, so a folder of large pictures never sits in memory at full size.
 * Other parts load as they are (their users convert them batch by batch).
 * target may be NULL. */
xf_status xf_task_load_at(const char *name, const xf_pipeline *target, xf_dataset *train,
                          xf_dataset *test);

#endif
