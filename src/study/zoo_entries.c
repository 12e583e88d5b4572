/* The `checkpoints` entries of a study file, resolved against the files
 * they name (config.h: xf_study_config_resolve). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"
#include "core/safetensors.h"
#include "core/path.h"
#include "core/progress.h"
#include "study/config.h"
#include "study/hash_cache.h"
#include "zoo/us_csv.h"

/* An entry's errors start like the parser's: file:line:column: key. */
static xf_status fail_entry(const xf_study_config *cfg, int i, const char *key, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));
static xf_status fail_entry(const xf_study_config *cfg, int i, const char *key, const char *fmt,
                            ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const xf_study_checkpoint *e = &cfg->checkpoints[i];
    return xf_fail(XF_EINVAL, "%s:%d:%d: checkpoints[%d]%s%s: %s", cfg->origin, e->line,
                   e->column, i, key ? "." : "", key ? key : "", msg);
}

/* path as written, made usable from the current directory. */
static xf_status relative_to(const char *base, const char *path, char *out, size_t size) {
    if (path[0] == '/' || strcmp(base, ".") == 0) return xf_path_format(out, size, "%s", path);
    return xf_path_format(out, size, "%s/%s", base, path);
}

/* FNV-1a 64 of the file's bytes, the same hash as trial ids. */
static xf_status hash_file(const char *path, xf_progress *progress, char out[17]) {
    FILE *f = xf_fopen(path, "rb");
    if (!f) return XF_EIO;
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = xf_malloc(CHUNK);
    if (!buf) {
        fclose(f);
        return XF_ENOMEM;
    }
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t got;
    while ((got = fread(buf, 1, CHUNK, f)) > 0) {
        for (size_t i = 0; i < got; i++) {
            h ^= buf[i];
            h *= 0x100000001b3ULL;
        }
        if (progress) xf_progress_add(progress, got, NULL);
    }
    xf_status st = ferror(f) ? xf_fail_errno(errno, "%s: cannot read", path) : XF_OK;
    fclose(f);
    free(buf);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    return st;
}

/* `us_acc: measure` runs the checkpoint's head on the US task's test set
 * as xfer feeds its own models; a timm checkpoint's input is normalised
 * otherwise and its head has ImageNet's classes, so only xfer's own. */
static xf_status check_measurable(const xf_study_config *cfg, int i) {
    const xf_study_checkpoint *e = &cfg->checkpoints[i];
    xf_safetensors file;
    xf_status st = xf_safetensors_open(e->path, &file);
    if (st) return xf_fail_context(st, "%s:%d:%d: checkpoints[%d].path: ", cfg->origin, e->line,
                                   e->column, i);
    bool own = xf_safetensors_meta(&file, "xfer_config") != NULL;
    xf_safetensors_free(&file);
    if (!own)
        return fail_entry(cfg, i, "us_acc", "measure needs a checkpoint written by xfer (its "
                          "head on the US task's test set); '%s' is not one: give its US "
                          "accuracy (us_acc: a fraction, or a us_csv row)", e->path);
    return XF_OK;
}

/* The results tables the entries name, each read once. */
typedef struct {
    char path[XF_PATH_MAX];
    xf_us_csv csv;
} table;

static xf_status table_for(table *tables, int *n_tables, const char *path, xf_us_csv **out) {
    for (int i = 0; i < *n_tables; i++)
        if (strcmp(tables[i].path, path) == 0) {
            *out = &tables[i].csv;
            return XF_OK;
        }
    table *t = &tables[*n_tables];
    snprintf(t->path, sizeof t->path, "%s", path);
    xf_status st = xf_us_csv_load(path, &t->csv);
    if (st) return st;
    (*n_tables)++;
    *out = &t->csv;
    return XF_OK;
}

/* Reading every byte of a large zoo takes a while: show it. */
enum { PROGRESS_MIN_BYTES = 256 << 20 };

/* Each entry's path made usable from here and checked to be a regular
 * file, and its content hash: remembered by the hash cache when the file
 * is unchanged since it was last hashed (hash_cache.h), else read. */
static xf_status hash_entries(xf_study_config *cfg, const char *base_dir) {
    struct stat *sb = xf_malloc((size_t)cfg->n_checkpoints * sizeof *sb);
    if (!sb) return XF_ENOMEM;
    xf_hash_cache cache;
    xf_hash_cache_load(&cache);
    xf_status st = XF_OK;
    size_t total = 0;
    for (int i = 0; i < cfg->n_checkpoints && !st; i++) {
        xf_study_checkpoint *e = &cfg->checkpoints[i];
        char path[XF_PATH_MAX];
        if (relative_to(base_dir, e->path, path, sizeof path) != XF_OK ||
            strlen(path) >= sizeof e->path)
            st = fail_entry(cfg, i, "path", "'%s' relative to '%s' is too long", e->path,
                            base_dir);
        else if (stat(path, &sb[i]) != 0)
            st = fail_entry(cfg, i, "path", "cannot read '%s': %s", path, strerror(errno));
        else if (!S_ISREG(sb[i].st_mode))
            st = fail_entry(cfg, i, "path", "'%s' is not a regular file", path);
        if (st) break;
        memcpy(e->path, path, strlen(path) + 1); /* it fits: checked above */
        e->content[0] = 0;
        if (!xf_hash_cache_get(&cache, &sb[i], e->content)) total += (size_t)sb[i].st_size;
    }
    xf_progress progress;
    bool show = !st && total >= PROGRESS_MIN_BYTES;
    if (show) xf_progress_init(&progress, "hashing checkpoints", "B", total);
    for (int i = 0; i < cfg->n_checkpoints && !st; i++) {
        xf_study_checkpoint *e = &cfg->checkpoints[i];
        if (e->content[0]) continue;
        st = hash_file(e->path, show ? &progress : NULL, e->content);
        if (!st) xf_hash_cache_put(&cache, e->path, &sb[i], e->content);
    }
    if (show) xf_progress_finish(&progress, NULL);
    xf_hash_cache_close(&cache);
    free(sb);
    for (int i = 0; i < cfg->n_checkpoints && !st; i++)
        for (int j = 0; j < i && !st; j++)
            if (strcmp(cfg->checkpoints[j].content, cfg->checkpoints[i].content) == 0)
                st = fail_entry(cfg, i, "path", "'%s' has the same content as checkpoints[%d] "
                                "('%s', line %d): list a checkpoint once",
                                cfg->checkpoints[i].path, j, cfg->checkpoints[j].path,
                                cfg->checkpoints[j].line);
    return st;
}

xf_status xf_study_config_resolve(xf_study_config *cfg, const char *base_dir) {
    if (cfg->checkpoints_resolved || cfg->n_checkpoints == 0) return XF_OK;
    xf_status st = hash_entries(cfg, base_dir);
    if (st) return st;
    for (int i = 0; i < cfg->n_checkpoints && !st; i++)
        if (cfg->checkpoints[i].us_source == XF_US_ACC_MEASURE) st = check_measurable(cfg, i);
    if (st) return st;

    table *tables = xf_calloc(XF_STUDY_MAX_CHECKPOINTS, sizeof *tables);
    if (!tables) return XF_ENOMEM;
    int n_tables = 0;
    for (int i = 0; i < cfg->n_checkpoints && !st; i++) {
        xf_study_checkpoint *e = &cfg->checkpoints[i];
        if (e->us_source != XF_US_ACC_CSV) continue;
        char path[XF_PATH_MAX];
        xf_us_csv *csv;
        const char *name = e->us_name[0] ? e->us_name : e->arch;
        if ((st = relative_to(base_dir, e->us_csv[0] ? e->us_csv : cfg->us_csv, path,
                              sizeof path)) ||
            (st = table_for(tables, &n_tables, path, &csv))) {
            if (e->us_csv[0]) st = xf_fail_context(st, "%s:%d:%d: checkpoints[%d].us_csv: ",
                                                   cfg->origin, e->line, e->column, i);
            else st = xf_fail_context(st, "%s:%d:%d: us_csv: ", cfg->origin, cfg->us_csv_line,
                                      cfg->us_csv_column);
            break;
        }
        int row = xf_us_csv_find(csv, name);
        if (row < 0) {
            st = fail_entry(cfg, i, e->us_name[0] ? "us_name" : "arch",
                            "'%s' is not a model of %s (%d models; give us_name: the table's "
                            "name for it, or us_acc)", name, path, csv->n);
            break;
        }
        e->us_acc = csv->top1[row];
    }
    for (int i = 0; i < n_tables; i++) xf_us_csv_free(&tables[i].csv);
    free(tables);
    if (!st) cfg->checkpoints_resolved = true;
    return st;
}
