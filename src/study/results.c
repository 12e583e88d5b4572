#include "study/results.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/path.h"
#include "core/timer.h"

static bool add_text(cJSON *o, const char *key, const char *text) {
    return text ? cJSON_AddStringToObject(o, key, text) != NULL
                : cJSON_AddNullToObject(o, key) != NULL;
}

xf_status xf_result_write(const char *results_dir, const xf_trial_record *rec,
                          const xf_probe_row *rows, int n) {
    char now[40], path[XF_PATH_MAX];
    xf_utc_timestamp(now, sizeof now);
    xf_status st = xf_path_format(path, sizeof path, "%s/%s.json", results_dir, rec->id);
    if (st) return st;
    cJSON *o = cJSON_CreateObject();
    bool ok = o && add_text(o, "id", rec->id) && add_text(o, "study", rec->study) &&
              add_text(o, "config_json", rec->config_json) && add_text(o, "family", rec->family) &&
              add_text(o, "us_task", rec->us_task) &&
              add_text(o, "status", xf_trial_status_name(rec->status)) &&
              cJSON_AddNumberToObject(o, "us_acc", rec->us_acc) &&
              cJSON_AddNumberToObject(o, "params", (double)rec->params) &&
              cJSON_AddNumberToObject(o, "flops_per_image", rec->flops_per_image) &&
              cJSON_AddNumberToObject(o, "train_flops", rec->train_flops) &&
              cJSON_AddNumberToObject(o, "seconds", rec->seconds) &&
              add_text(o, "error", rec->error) &&
              add_text(o, "finished_at", rec->finished_at ? rec->finished_at : now) &&
              (rec->resolution <= 0 || cJSON_AddNumberToObject(o, "resolution", rec->resolution));
    cJSON *probes = ok ? cJSON_AddArrayToObject(o, "probes") : NULL;
    ok = ok && probes;
    for (int i = 0; ok && i < n; i++) {
        cJSON *p = cJSON_CreateObject();
        ok = p && cJSON_AddItemToArray(probes, p) && add_text(p, "ds_task", rows[i].ds_task) &&
             cJSON_AddNumberToObject(p, "layer", rows[i].layer) &&
             add_text(p, "layer_name", rows[i].layer_name) &&
             cJSON_AddNumberToObject(p, "n_layers", rows[i].n_layers) &&
             cJSON_AddNumberToObject(p, "shots", rows[i].shots) &&
             cJSON_AddNumberToObject(p, "draw", rows[i].draw) &&
             cJSON_AddNumberToObject(p, "acc", rows[i].acc);
    }
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) return xf_fail(XF_ENOMEM, "%s: out of memory writing the result", path);
    st = xf_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

/* A parsed result file: the record and rows borrow from `json`. */
typedef struct {
    cJSON *json;
    xf_trial_record rec;
    xf_probe_row *rows;
    int n;
} result;

static void result_free(result *r) {
    cJSON_Delete(r->json);
    free(r->rows);
}

static const char *text_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool number_of(const cJSON *o, const char *key, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) return false;
    *out = v->valuedouble;
    return true;
}

static xf_status result_read(const char *path, result *r) {
    memset(r, 0, sizeof *r);
    unsigned char *data = NULL;
    size_t size = 0;
    xf_status st = xf_read_file(path, &data, &size);
    if (st) return st;
    r->json = cJSON_ParseWithLength((const char *)data, size);
    free(data);
    if (!cJSON_IsObject(r->json)) {
        result_free(r);
        return xf_fail(XF_EFORMAT, "%s: not a JSON object", path);
    }
    const cJSON *o = r->json;
    xf_trial_record *rec = &r->rec;
    const char *status = text_of(o, "status");
    double params = 0;
    rec->id = text_of(o, "id");
    rec->study = text_of(o, "study");
    rec->config_json = text_of(o, "config_json");
    rec->family = text_of(o, "family");
    rec->us_task = text_of(o, "us_task");
    rec->error = text_of(o, "error");
    rec->finished_at = text_of(o, "finished_at");
    rec->status = XF_TRIAL_ABSENT;
    for (int i = 1; status && i < 4; i++)
        if (strcmp(status, xf_trial_status_name((xf_trial_status)i)) == 0)
            rec->status = (xf_trial_status)i;
    const char *bad = !rec->id                             ? "id"
                      : rec->status == XF_TRIAL_ABSENT     ? "status"
                      : !rec->finished_at                  ? "finished_at"
                      : !number_of(o, "us_acc", &rec->us_acc) ? "us_acc"
                      : !number_of(o, "params", &params)   ? "params"
                      : !number_of(o, "flops_per_image", &rec->flops_per_image) ? "flops_per_image"
                      : !number_of(o, "train_flops", &rec->train_flops) ? "train_flops"
                      : !number_of(o, "seconds", &rec->seconds) ? "seconds"
                                                                : NULL;
    rec->params = (long long)params;
    /* Result files older than zoo studies have no resolution: unknown. */
    double resolution = 0;
    if (number_of(o, "resolution", &resolution) && resolution >= 1 && resolution <= 1e6)
        rec->resolution = (int)resolution;
    const cJSON *probes = cJSON_GetObjectItemCaseSensitive(o, "probes");
    if (!bad && !cJSON_IsArray(probes)) bad = "probes";
    int count = bad ? 0 : cJSON_GetArraySize(probes);
    if (count > 0 && !(r->rows = xf_calloc((size_t)count, sizeof *r->rows))) {
        result_free(r);
        return XF_ENOMEM;
    }
    const cJSON *p;
    const cJSON *walk = bad ? (const cJSON *)NULL : probes;
    cJSON_ArrayForEach(p, walk) {
        xf_probe_row *row = &r->rows[r->n];
        double layer, n_layers, shots, draw;
        row->ds_task = text_of(p, "ds_task");
        row->layer_name = text_of(p, "layer_name");
        if (!row->ds_task || !number_of(p, "layer", &layer) ||
            !number_of(p, "n_layers", &n_layers) || !number_of(p, "shots", &shots) ||
            !number_of(p, "draw", &draw) || !number_of(p, "acc", &row->acc)) {
            bad = "probes";
            break;
        }
        row->layer = (int)layer;
        row->n_layers = (int)n_layers;
        row->shots = (int)shots;
        row->draw = (int)draw;
        r->n++;
    }
    if (bad) {
        result_free(r);
        return xf_fail(XF_EFORMAT, "%s: field '%s' is missing or of the wrong type", path, bad);
    }
    return XF_OK;
}

xf_status xf_result_status(const char *results_dir, const char *id, xf_trial_status *status) {
    *status = XF_TRIAL_ABSENT;
    char path[XF_PATH_MAX];
    xf_status st = xf_path_format(path, sizeof path, "%s/%s.json", results_dir, id);
    if (st) return st;
    FILE *f = fopen(path, "rb");
    if (!f) return XF_OK;
    fclose(f);
    result r;
    st = result_read(path, &r);
    if (st) return st;
    *status = r.rec.status;
    result_free(&r);
    return XF_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of dir's *.json files, sorted (temp files end otherwise). */
static xf_status list_results(const char *dir, char ***names_out, int *n_out) {
    *names_out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d) return XF_OK; /* no results yet */
    char **names = NULL;
    int n = 0, cap = 0;
    xf_status st = XF_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **bigger = xf_realloc(names, (size_t)cap * sizeof *bigger);
            if (!bigger) {
                st = XF_ENOMEM;
                break;
            }
            names = bigger;
        }
        if (!(names[n] = xf_strdup(e->d_name)))
            st = XF_ENOMEM;
        else
            n++;
    }
    closedir(d);
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    *names_out = names;
    *n_out = n;
    return st;
}

xf_status xf_study_merge(const char *study_dir, xf_merge_summary *sum) {
    memset(sum, 0, sizeof *sum);
    char results[XF_PATH_MAX], db[XF_PATH_MAX];
    char **names = NULL;
    int n = 0;
    xf_status st = xf_path_format(results, sizeof results, "%s/results", study_dir);
    if (!st) st = xf_path_format(db, sizeof db, "%s/study.db", study_dir);
    if (!st) st = list_results(results, &names, &n);
    xf_store *store = NULL;
    if (!st) st = xf_store_open(db, &store);
    for (int i = 0; i < n && !st; i++) {
        sum->files++;
        char path[XF_PATH_MAX];
        if ((st = xf_path_format(path, sizeof path, "%s/%s", results, names[i]))) break;
        result r;
        if (result_read(path, &r)) {
            xf_log_warn("merge: skipping %s", xf_error_message());
            sum->bad++;
            continue;
        }
        xf_trial_status have;
        st = xf_store_trial_status(store, r.rec.id, &have);
        bool write = !st && (have == XF_TRIAL_ABSENT ||
                             (have != XF_TRIAL_FINISHED && r.rec.status == XF_TRIAL_FINISHED));
        if (write) {
            /* A failed record replaced by a newer failed file would change
             * nothing worth a write; the first failure stays. */
            st = xf_store_write_trial(store, &r.rec, r.rows,
                                      r.rec.status == XF_TRIAL_FINISHED ? r.n : 0);
            if (!st) sum->merged++;
        } else if (!st) {
            sum->skipped++;
        }
        result_free(&r);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    xf_store_close(store);
    return st;
}
