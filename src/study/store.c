#include "study/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

struct xf_store {
    sqlite3 *db;
    char *path;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS trials("
    " id TEXT PRIMARY KEY, study TEXT, config_json TEXT, family TEXT, us_task TEXT,"
    " status TEXT, us_acc REAL, params INTEGER, flops_per_image REAL, train_flops REAL,"
    " seconds REAL, error TEXT, finished_at TEXT);"
    "CREATE TABLE IF NOT EXISTS probes("
    " trial_id TEXT, ds_task TEXT, layer INTEGER, layer_name TEXT, n_layers INTEGER,"
    " shots INTEGER, draw INTEGER, acc REAL,"
    " PRIMARY KEY (trial_id, ds_task, layer, shots, draw));";

static xf_status db_fail(xf_store *s, const char *what) {
    return xf_fail(XF_EDB, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

xf_status xf_store_open(const char *path, xf_store **out) {
    *out = NULL;
    xf_store *s = xf_calloc(1, sizeof *s);
    if (!s) return XF_ENOMEM;
    s->path = xf_strdup(path);
    if (!s->path) {
        free(s);
        return XF_ENOMEM;
    }
    xf_status st = XF_OK;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        st = s->db ? db_fail(s, "cannot open the results store")
                   : xf_fail(XF_EDB, "%s: cannot open the results store", path);
    } else if (sqlite3_busy_timeout(s->db, 30000) != SQLITE_OK ||
               /* WAL lets a report read while a study writes; NORMAL sync is
                * still crash-safe in WAL mode (a crash loses only the last
                * commits, never corrupts). */
               sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL,
                            NULL, NULL) != SQLITE_OK) {
        st = db_fail(s, "cannot set WAL mode");
    } else if (sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        st = db_fail(s, "cannot create the schema");
    }
    if (st) {
        xf_store_close(s);
        return st;
    }
    *out = s;
    return XF_OK;
}

void xf_store_close(xf_store *store) {
    if (!store) return;
    sqlite3_close(store->db);
    free(store->path);
    free(store);
}

static const char *const status_names[] = {"absent", "finished", "failed", "diverged"};

const char *xf_trial_status_name(xf_trial_status status) {
    return (unsigned)status < 4 ? status_names[status] : "unknown";
}

static xf_trial_status status_parse(const unsigned char *text) {
    for (int i = 1; i < 4; i++)
        if (text && strcmp((const char *)text, status_names[i]) == 0) return (xf_trial_status)i;
    return XF_TRIAL_ABSENT;
}

static xf_status prepare(xf_store *s, const char *sql, sqlite3_stmt **stmt) {
    if (sqlite3_prepare_v2(s->db, sql, -1, stmt, NULL) != SQLITE_OK)
        return db_fail(s, "cannot prepare a query");
    return XF_OK;
}

xf_status xf_store_trial_status(xf_store *store, const char *id, xf_trial_status *status) {
    *status = XF_TRIAL_ABSENT;
    sqlite3_stmt *q;
    xf_status st = prepare(store, "SELECT status FROM trials WHERE id = ?", &q);
    if (st) return st;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *status = status_parse(sqlite3_column_text(q, 0));
    else if (rc != SQLITE_DONE)
        st = db_fail(store, "cannot read a trial's status");
    sqlite3_finalize(q);
    return st;
}

static void bind_opt_text(sqlite3_stmt *q, int i, const char *text) {
    if (text)
        sqlite3_bind_text(q, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

static xf_status write_rows(xf_store *s, const xf_trial_record *r, const xf_probe_row *probes,
                            int n) {
    sqlite3_stmt *q = NULL;
    xf_status st = prepare(s, "DELETE FROM probes WHERE trial_id = ?", &q);
    if (st) return st;
    sqlite3_bind_text(q, 1, r->id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) st = db_fail(s, "cannot delete old probe rows");
    sqlite3_finalize(q);
    if (st) return st;

    st = prepare(s,
                 "INSERT OR REPLACE INTO trials(id, study, config_json, family, us_task, status,"
                 " us_acc, params, flops_per_image, train_flops, seconds, error, finished_at)"
                 " VALUES (?,?,?,?,?,?,?,?,?,?,?,?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                 &q);
    if (st) return st;
    bind_opt_text(q, 1, r->id);
    bind_opt_text(q, 2, r->study);
    bind_opt_text(q, 3, r->config_json);
    bind_opt_text(q, 4, r->family);
    bind_opt_text(q, 5, r->us_task);
    sqlite3_bind_text(q, 6, xf_trial_status_name(r->status), -1, SQLITE_STATIC);
    sqlite3_bind_double(q, 7, r->us_acc);
    sqlite3_bind_int64(q, 8, r->params);
    sqlite3_bind_double(q, 9, r->flops_per_image);
    sqlite3_bind_double(q, 10, r->train_flops);
    sqlite3_bind_double(q, 11, r->seconds);
    bind_opt_text(q, 12, r->error);
    if (sqlite3_step(q) != SQLITE_DONE) st = db_fail(s, "cannot write a trial row");
    sqlite3_finalize(q);
    if (st || n == 0) return st;

    st = prepare(s,
                 "INSERT OR REPLACE INTO probes(trial_id, ds_task, layer, layer_name, n_layers,"
                 " shots, draw, acc) VALUES (?,?,?,?,?,?,?,?)",
                 &q);
    if (st) return st;
    for (int i = 0; i < n && !st; i++) {
        const xf_probe_row *p = &probes[i];
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, r->id, -1, SQLITE_STATIC);
        bind_opt_text(q, 2, p->ds_task);
        sqlite3_bind_int(q, 3, p->layer);
        bind_opt_text(q, 4, p->layer_name);
        sqlite3_bind_int(q, 5, p->n_layers);
        sqlite3_bind_int(q, 6, p->shots);
        sqlite3_bind_int(q, 7, p->draw);
        sqlite3_bind_double(q, 8, p->acc);
        if (sqlite3_step(q) != SQLITE_DONE) st = db_fail(s, "cannot write a probe row");
    }
    sqlite3_finalize(q);
    return st;
}

xf_status xf_store_write_trial(xf_store *store, const xf_trial_record *record,
                               const xf_probe_row *probes, int n) {
    if (!record->id || !*record->id) return xf_fail(XF_EINVAL, "a trial record needs an id");
    /* IMMEDIATE takes the write lock now, so a concurrent writer waits in
     * the busy timeout instead of failing halfway through. */
    if (sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(store, "cannot begin a transaction");
    xf_status st = write_rows(store, record, probes, n);
    if (!st && sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        st = db_fail(store, "cannot commit a trial");
    if (st) {
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
        return xf_fail_context(st, "trial %s: ", record->id);
    }
    return XF_OK;
}

static void copy_text(char *dst, size_t size, const unsigned char *text) {
    snprintf(dst, size, "%s", text ? (const char *)text : "");
}

xf_status xf_store_trial_get(xf_store *store, const char *id, xf_trial_info *info) {
    memset(info, 0, sizeof *info);
    sqlite3_stmt *q;
    xf_status st = prepare(store,
                           "SELECT status, family, us_task, us_acc, params, seconds, finished_at,"
                           " error FROM trials WHERE id = ?",
                           &q);
    if (st) return st;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        info->status = status_parse(sqlite3_column_text(q, 0));
        copy_text(info->family, sizeof info->family, sqlite3_column_text(q, 1));
        copy_text(info->us_task, sizeof info->us_task, sqlite3_column_text(q, 2));
        info->us_acc = sqlite3_column_double(q, 3);
        info->params = sqlite3_column_int64(q, 4);
        info->seconds = sqlite3_column_double(q, 5);
        copy_text(info->finished_at, sizeof info->finished_at, sqlite3_column_text(q, 6));
        copy_text(info->error, sizeof info->error, sqlite3_column_text(q, 7));
    } else if (rc == SQLITE_DONE) {
        st = xf_fail(XF_ENOTFOUND, "%s: no trial %s", store->path, id);
    } else {
        st = db_fail(store, "cannot read a trial");
    }
    sqlite3_finalize(q);
    return st;
}

xf_status xf_store_count(xf_store *store, xf_trial_status status, long long *trials,
                         long long *probes) {
    sqlite3_stmt *q;
    xf_status st = prepare(store,
                           "SELECT (SELECT count(*) FROM trials WHERE ?1 IS NULL OR status = ?1),"
                           " (SELECT count(*) FROM probes p JOIN trials t ON t.id = p.trial_id"
                           "  WHERE ?1 IS NULL OR t.status = ?1)",
                           &q);
    if (st) return st;
    if (status == XF_TRIAL_ABSENT)
        sqlite3_bind_null(q, 1);
    else
        sqlite3_bind_text(q, 1, xf_trial_status_name(status), -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        if (trials) *trials = sqlite3_column_int64(q, 0);
        if (probes) *probes = sqlite3_column_int64(q, 1);
    } else {
        st = db_fail(store, "cannot count trials");
    }
    sqlite3_finalize(q);
    return st;
}

void xf_point_sets_free(xf_point_set *sets, int n_sets) {
    if (!sets) return;
    for (int i = 0; i < n_sets; i++) free(sets[i].points);
    free(sets);
}

/* Appends a point to set, growing its array by doubling. */
static xf_status push_point(xf_point_set *set, int *capacity, const xf_point *p) {
    if (set->n_points == *capacity) {
        int grown = *capacity ? *capacity * 2 : 16;
        xf_point *bigger = xf_realloc(set->points, (size_t)grown * sizeof *bigger);
        if (!bigger) return XF_ENOMEM;
        set->points = bigger;
        *capacity = grown;
    }
    set->points[set->n_points++] = *p;
    return XF_OK;
}

xf_status xf_store_points(xf_store *store, xf_point_set **sets_out, int *n_out) {
    *sets_out = NULL;
    *n_out = 0;
    sqlite3_stmt *q;
    xf_status st = prepare(store,
                           "SELECT p.ds_task, p.shots, t.id, t.family, t.us_acc, t.params,"
                           " avg(p.acc) FROM probes p JOIN trials t ON t.id = p.trial_id"
                           " WHERE t.status = 'finished' AND p.layer = p.n_layers - 1"
                           " GROUP BY p.ds_task, p.shots, t.id"
                           " ORDER BY p.ds_task, p.shots, t.us_acc, t.id",
                           &q);
    if (st) return st;
    xf_point_set *sets = NULL;
    int n_sets = 0, sets_cap = 0, points_cap = 0;
    int rc = SQLITE_DONE;
    while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *task = (const char *)sqlite3_column_text(q, 0);
        int shots = sqlite3_column_int(q, 1);
        if (!task) task = "";
        if (n_sets == 0 || sets[n_sets - 1].shots != shots ||
            strcmp(sets[n_sets - 1].ds_task, task) != 0) {
            if (n_sets == sets_cap) {
                int grown = sets_cap ? sets_cap * 2 : 8;
                xf_point_set *bigger = xf_realloc(sets, (size_t)grown * sizeof *bigger);
                if (!bigger) {
                    st = XF_ENOMEM;
                    break;
                }
                sets = bigger;
                sets_cap = grown;
            }
            xf_point_set *set = &sets[n_sets++];
            memset(set, 0, sizeof *set);
            snprintf(set->ds_task, sizeof set->ds_task, "%s", task);
            set->shots = shots;
            points_cap = 0;
        }
        xf_point p;
        memset(&p, 0, sizeof p);
        copy_text(p.trial_id, sizeof p.trial_id, sqlite3_column_text(q, 2));
        copy_text(p.family, sizeof p.family, sqlite3_column_text(q, 3));
        p.us_acc = sqlite3_column_double(q, 4);
        p.params = sqlite3_column_double(q, 5);
        p.ds_acc = sqlite3_column_double(q, 6);
        st = push_point(&sets[n_sets - 1], &points_cap, &p);
    }
    if (!st && rc != SQLITE_DONE) st = db_fail(store, "cannot read the points");
    sqlite3_finalize(q);
    if (st) {
        xf_point_sets_free(sets, n_sets);
        return st;
    }
    *sets_out = sets;
    *n_out = n_sets;
    return XF_OK;
}
