#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "study/store.h"
#include "study/store_open.h"

static void copy_text(char *dst, size_t size, const unsigned char *text) {
    snprintf(dst, size, "%s", text ? (const char *)text : "");
}

static xf_trial_status parse_status(const unsigned char *text) {
    for (int i = 1; i < 4; i++)
        if (text && strcmp((const char *)text, xf_trial_status_name((xf_trial_status)i)) == 0)
            return (xf_trial_status)i;
    return XF_TRIAL_ABSENT;
}

static xf_status db_fail(sqlite3 *db, const char *path, const char *what) {
    return xf_fail(XF_EDB, "%s: %s: %s", path, what, db ? sqlite3_errmsg(db) : "no connection");
}

static xf_status read_trials(sqlite3 *db, const char *path, xf_study_table *t) {
    sqlite3_stmt *q;
    /* A store older than zoo studies, opened read-only, has no resolution. */
    if (sqlite3_prepare_v2(db,
                           "SELECT id, family, us_task, config_json, status, us_acc, params,"
                           " flops_per_image, train_flops, seconds, resolution FROM trials"
                           " ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT id, family, us_task, config_json, status, us_acc, params,"
                           " flops_per_image, train_flops, seconds, NULL FROM trials ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, path, "cannot read the trials");
    int cap = 0, rc;
    xf_status st = XF_OK;
    while (st == XF_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (t->n_trials == cap) {
            cap = cap ? 2 * cap : 64;
            xf_trial_full *bigger = xf_realloc(t->trials, (size_t)cap * sizeof *bigger);
            if (!bigger) {
                st = XF_ENOMEM;
                break;
            }
            t->trials = bigger;
        }
        xf_trial_full *r = &t->trials[t->n_trials];
        memset(r, 0, sizeof *r);
        copy_text(r->id, sizeof r->id, sqlite3_column_text(q, 0));
        copy_text(r->family, sizeof r->family, sqlite3_column_text(q, 1));
        copy_text(r->us_task, sizeof r->us_task, sqlite3_column_text(q, 2));
        const unsigned char *cfg = sqlite3_column_text(q, 3);
        r->config_json = xf_strdup(cfg ? (const char *)cfg : "");
        if (!r->config_json) st = XF_ENOMEM;
        r->status = parse_status(sqlite3_column_text(q, 4));
        r->us_acc = sqlite3_column_double(q, 5);
        r->params = sqlite3_column_double(q, 6);
        r->flops_per_image = sqlite3_column_double(q, 7);
        r->train_flops = sqlite3_column_double(q, 8);
        r->seconds = sqlite3_column_double(q, 9);
        r->resolution = sqlite3_column_type(q, 10) == SQLITE_NULL ? NAN
                                                                  : sqlite3_column_double(q, 10);
        t->n_trials++;
    }
    if (st == XF_OK && rc != SQLITE_DONE) st = db_fail(db, path, "cannot read the trials");
    sqlite3_finalize(q);
    return st;
}

static xf_status read_probes(sqlite3 *db, const char *path, xf_study_table *t) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT p.trial_id, p.ds_task, p.layer, max(p.n_layers), p.shots,"
                           " count(*), avg(p.acc) FROM probes p JOIN trials t ON t.id ="
                           " p.trial_id WHERE t.status = 'finished'"
                           " GROUP BY p.trial_id, p.ds_task, p.shots, p.layer"
                           " ORDER BY p.trial_id, p.ds_task, p.shots, p.layer",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, path, "cannot read the probes");
    int cap = 0, rc;
    xf_status st = XF_OK;
    while (st == XF_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (t->n_probes == cap) {
            cap = cap ? 2 * cap : 256;
            xf_probe_mean *bigger = xf_realloc(t->probes, (size_t)cap * sizeof *bigger);
            if (!bigger) {
                st = XF_ENOMEM;
                break;
            }
            t->probes = bigger;
        }
        xf_probe_mean *p = &t->probes[t->n_probes];
        const unsigned char *id = sqlite3_column_text(q, 0);
        p->trial = xf_study_table_find(t, id ? (const char *)id : "");
        if (p->trial < 0) continue; /* the join guarantees it; be safe */
        copy_text(p->ds_task, sizeof p->ds_task, sqlite3_column_text(q, 1));
        p->layer = sqlite3_column_int(q, 2);
        p->n_layers = sqlite3_column_int(q, 3);
        p->shots = sqlite3_column_int(q, 4);
        p->draws = sqlite3_column_int(q, 5);
        p->acc = sqlite3_column_double(q, 6);
        t->n_probes++;
    }
    if (st == XF_OK && rc != SQLITE_DONE) st = db_fail(db, path, "cannot read the probes");
    sqlite3_finalize(q);
    return st;
}

xf_status xf_store_read_table(const char *path, xf_study_table *t) {
    memset(t, 0, sizeof *t);
    sqlite3 *db = NULL;
    bool writable;
    xf_status st = xf_store_db_open(path, true, &db, &writable);
    if (st == XF_OK) st = read_trials(db, path, t);
    if (st == XF_OK) st = read_probes(db, path, t);
    sqlite3_close(db);
    if (st != XF_OK) xf_study_table_free(t);
    return st;
}

void xf_study_table_free(xf_study_table *t) {
    for (int i = 0; i < t->n_trials; i++) free(t->trials[i].config_json);
    free(t->trials);
    free(t->probes);
    memset(t, 0, sizeof *t);
}

int xf_study_table_find(const xf_study_table *t, const char *id) {
    int lo = 0, hi = t->n_trials - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(t->trials[mid].id, id);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}
