/* The named tasks xfer knows, where their files live, and how to load
 * them. Every task is a train/test pair of IDX files installed by a package
 * (never downloaded at run time). Besides the named tasks, "idx:DIR" loads
 * any folder holding the four standard MNIST file names (.gz or not). */
#ifndef XF_REGISTRY_H
#define XF_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"
#include "data/dataset.h"

typedef struct {
    const char *name, *description, *source;
    int n_classes;
} xf_task_info;

size_t xf_task_count(void);
const xf_task_info *xf_task_at(size_t i);
/* The named task, or NULL. */
const xf_task_info *xf_task_find(const char *name);

/* True when all four files of the task are present. */
bool xf_task_available(const xf_task_info *task);

/* Train and test sizes, read from the label files only. */
xf_status xf_task_sizes(const xf_task_info *task, int *n_train, int *n_test);

/* Loads a named task (or "idx:DIR"). A missing file is XF_ENOTFOUND with a
 * message naming it and the command that installs it; an unknown name is
 * XF_ENOTFOUND listing the known ones. On failure both sets are empty. */
xf_status xf_task_load(const char *name, xf_dataset *train, xf_dataset *test);

#endif
