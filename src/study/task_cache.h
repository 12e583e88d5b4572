/* The data sets of a study's tasks, each loaded once and shared by all
 * trials (the US task of one study is often a DS task of it too). */
#ifndef XF_STUDY_TASK_CACHE_H
#define XF_STUDY_TASK_CACHE_H

#include "data/dataset.h"
#include "study/config.h"

typedef struct {
    char name[XF_STUDY_NAME_LEN];
    xf_dataset train, test;
} xf_task_entry;

typedef struct {
    xf_task_entry *items;
    int n, capacity;
} xf_task_cache;

/* The task named `name`, loaded on first use. */
xf_status xf_task_cache_get(xf_task_cache *c, const char *name, xf_task_entry **out);
void xf_task_cache_free(xf_task_cache *c);

#endif
