#include "study/store.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "study/store_fault.h"
#include "study/store_open.h"

struct xf_store {
    sqlite3 *db;
    char *path;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS trials("
    " id TEXT PRIMARY KEY, study TEXT, config_json TEXT, family TEXT, us_task TEXT,"
    " status TEXT, us_acc REAL, params INTEGER, flops_per_image REAL, train_flops REAL,"
    " seconds REAL, error TEXT, finished_at TEXT, resolution INTEGER);"
    "CREATE TABLE IF NOT EXISTS probes("
    " trial_id TEXT, ds_task TEXT, layer INTEGER, layer_name TEXT, n_layers INTEGER,"
    " shots INTEGER, draw INTEGER, acc REAL,"
    " PRIMARY KEY (trial_id, ds_task, layer, shots, draw));"
    "CREATE TABLE IF NOT EXISTS claims("
    " trial_id TEXT PRIMARY KEY, run TEXT, host TEXT, pid INTEGER, pid_start INTEGER,"
    " claimed_at TEXT);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);";

static xf_status db_fail(xf_store *s, const char *what) {
    /* A full disk or an I/O error is the machine's, not the store's. */
    int rc = sqlite3_errcode(s->db) & 0xff;
    xf_status code = rc == SQLITE_FULL || rc == SQLITE_IOERR ? XF_EENV : XF_EDB;
    return xf_fail(code, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static bool has_resolution(sqlite3 *db) {
    sqlite3_stmt *q = NULL;
    bool ok = sqlite3_prepare_v2(db, "SELECT resolution FROM trials LIMIT 0", -1, &q, NULL) ==
              SQLITE_OK;
    sqlite3_finalize(q);
    return ok;
}

static xf_status open_store(const char *path, bool read_only, xf_store **out) {
    *out = NULL;
    xf_store *s = xf_calloc(1, sizeof *s);
    if (!s) return XF_ENOMEM;
    s->path = xf_strdup(path);
    if (!s->path) {
        free(s);
        return XF_ENOMEM;
    }
    bool writable;
    xf_status st = xf_store_db_open(path, read_only, &s->db, &writable);
    /* A store a reader may write gets the tables it lacks, as it always
     * did: an empty file left by an interrupted first run reads as empty. */
    if (!st && writable && sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        st = db_fail(s, "cannot create the schema");
    /* Stores older than zoo studies lack the input resolution: add it
     * (NULL, unknown, for the trials they hold). Two processes may race to
     * add it; the loser finds it there. */
    if (!st && writable && !has_resolution(s->db) &&
        sqlite3_exec(s->db, "ALTER TABLE trials ADD COLUMN resolution INTEGER", NULL, NULL,
                     NULL) != SQLITE_OK &&
        !has_resolution(s->db))
        st = db_fail(s, "cannot add the resolution column");
    if (st) {
        xf_store_close(s);
        return st;
    }
    *out = s;
    return XF_OK;
}

xf_status xf_store_open(const char *path, xf_store **out) { return open_store(path, false, out); }

xf_status xf_store_open_read(const char *path, xf_store **out) {
    return open_store(path, true, out);
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
                 " us_acc, params, flops_per_image, train_flops, seconds, error, finished_at,"
                 " resolution) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,"
                 " coalesce(?13, strftime('%Y-%m-%dT%H:%M:%fZ','now')), ?14)",
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
    bind_opt_text(q, 13, r->finished_at);
    if (r->resolution > 0)
        sqlite3_bind_int(q, 14, r->resolution);
    else
        sqlite3_bind_null(q, 14);
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
    xf_store_fault_begin_record();
    /* IMMEDIATE takes the write lock now, so a concurrent writer waits in
     * the busy timeout instead of failing halfway through. */
    xf_status st = sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK
                       ? db_fail(store, "cannot begin a transaction")
                       : write_rows(store, record, probes, n);
    if (!st && sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        st = db_fail(store, "cannot commit a trial");
    xf_store_fault_end_record();
    if (st) {
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
        return xf_fail_context(st, "trial %s: ", record->id);
    }
    return XF_OK;
}

xf_status xf_store_update_us_acc(xf_store *store, const char *id, double us_acc, bool *changed) {
    *changed = false;
    sqlite3_stmt *q;
    xf_status st = prepare(store,
                           "UPDATE trials SET us_acc = ?1 WHERE id = ?2 AND status = 'finished'"
                           " AND us_acc IS NOT ?1",
                           &q);
    if (st) return st;
    sqlite3_bind_double(q, 1, us_acc);
    sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        st = db_fail(store, "cannot update a US accuracy");
    else
        *changed = sqlite3_changes(store->db) > 0;
    sqlite3_finalize(q);
    return st ? xf_fail_context(st, "trial %s: ", id) : XF_OK;
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
                           "SELECT u.us_task, p.ds_task, p.shots, t.id, t.family, t.us_acc,"
                           " t.params, avg(p.acc), count(*), avg(p.acc * p.acc)"
                           " FROM probes p JOIN trials t ON t.id ="
                           " p.trial_id JOIN (SELECT coalesce(us_task, '') AS us_task, count(*)"
                           " AS n FROM trials WHERE status = 'finished' GROUP BY 1) u"
                           " ON u.us_task = coalesce(t.us_task, '')"
                           " WHERE t.status = 'finished' AND p.layer = p.n_layers - 1"
                           " GROUP BY u.us_task, p.ds_task, p.shots, t.id"
                           " ORDER BY u.n DESC, u.us_task, p.ds_task, p.shots, t.us_acc, t.id",
                           &q);
    if (st) return st;
    xf_point_set *sets = NULL;
    int n_sets = 0, sets_cap = 0, points_cap = 0;
    int rc = SQLITE_DONE;
    while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *us = (const char *)sqlite3_column_text(q, 0);
        const char *task = (const char *)sqlite3_column_text(q, 1);
        int shots = sqlite3_column_int(q, 2);
        if (!us) us = "";
        if (!task) task = "";
        if (n_sets == 0 || sets[n_sets - 1].shots != shots ||
            strcmp(sets[n_sets - 1].ds_task, task) != 0 ||
            strcmp(sets[n_sets - 1].us_task, us) != 0) {
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
            snprintf(set->us_task, sizeof set->us_task, "%s", us);
            snprintf(set->ds_task, sizeof set->ds_task, "%s", task);
            set->shots = shots;
            points_cap = 0;
        }
        xf_point p;
        memset(&p, 0, sizeof p);
        copy_text(p.trial_id, sizeof p.trial_id, sqlite3_column_text(q, 3));
        copy_text(p.family, sizeof p.family, sqlite3_column_text(q, 4));
        p.us_acc = sqlite3_column_double(q, 5);
        p.params = sqlite3_column_double(q, 6);
        p.ds_acc = sqlite3_column_double(q, 7);
        p.draws = sqlite3_column_int(q, 8);
        /* sample sd over draws from the mean square (draws are few and the
         * accuracies far from cancellation at double precision) */
        double var = sqlite3_column_double(q, 9) - p.ds_acc * p.ds_acc;
        p.ds_draw_sd = p.draws > 1 ? sqrt(fmax(0, var) * p.draws / (p.draws - 1)) : 0;
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

/* ---- claims ---- */

/* Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or
 * -1 when the process is gone or a zombie: a killed worker whose parent
 * died may linger as a zombie until init reaps it. */
static long long process_start(long long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%lld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p || p[1] != ' ') return -1;
    char state = p[2];
    if (state == 'Z' || state == 'X' || state == 'x') return -1;
    p += 2;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p) p++;
    }
    return p ? strtoll(p, NULL, 10) : -1;
}

void xf_claimant_self(xf_claimant *who, const char *run) {
    memset(who, 0, sizeof *who);
    snprintf(who->run, sizeof who->run, "%s", run);
    if (gethostname(who->host, sizeof who->host - 1) != 0) snprintf(who->host, 8, "unknown");
    who->pid = (long long)getpid();
    who->pid_start = process_start(who->pid);
}

typedef enum { HOLDER_GONE, HOLDER_LIVE, HOLDER_UNKNOWN } holder_state;

static holder_state holder(const char *host, long long pid, long long start) {
    char me[64] = "";
    gethostname(me, sizeof me - 1);
    if (!host || strcmp(host, me) != 0) return HOLDER_UNKNOWN;
    return process_start(pid) == start && start >= 0 ? HOLDER_LIVE : HOLDER_GONE;
}

static xf_status claim_locked(xf_store *s, const char *id, const xf_claimant *who,
                              bool retry_failed, xf_claim_result *result) {
    xf_trial_status ts;
    xf_status st = xf_store_trial_status(s, id, &ts);
    if (st) return st;
    if (ts == XF_TRIAL_FINISHED || (ts != XF_TRIAL_ABSENT && !retry_failed)) {
        *result = XF_CLAIM_DONE;
        return XF_OK;
    }
    sqlite3_stmt *q;
    if ((st = prepare(s, "SELECT run, host, pid, pid_start FROM claims WHERE trial_id = ?", &q)))
        return st;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    *result = XF_CLAIM_TAKEN;
    if (rc == SQLITE_ROW) {
        const char *run = (const char *)sqlite3_column_text(q, 0);
        holder_state h = holder((const char *)sqlite3_column_text(q, 1),
                                sqlite3_column_int64(q, 2), sqlite3_column_int64(q, 3));
        /* The same run never takes a trial twice, even once its worker is
         * gone: it either recorded it or was killed running it (which the
         * parent records). */
        if (run && strcmp(run, who->run) == 0)
            *result = XF_CLAIM_DONE;
        else if (h == HOLDER_LIVE)
            *result = XF_CLAIM_BUSY;
        else if (h == HOLDER_UNKNOWN)
            *result = XF_CLAIM_ELSEWHERE;
    } else if (rc != SQLITE_DONE) {
        st = db_fail(s, "cannot read a claim");
    }
    sqlite3_finalize(q);
    if (st || *result != XF_CLAIM_TAKEN) return st;
    if ((st = prepare(s,
                      "INSERT OR REPLACE INTO claims(trial_id, run, host, pid, pid_start,"
                      " claimed_at) VALUES (?,?,?,?,?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                      &q)))
        return st;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, who->run, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, who->host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, who->pid);
    sqlite3_bind_int64(q, 5, who->pid_start);
    if (sqlite3_step(q) != SQLITE_DONE) st = db_fail(s, "cannot write a claim");
    sqlite3_finalize(q);
    return st;
}

xf_status xf_store_claim(xf_store *store, const char *id, const xf_claimant *who,
                         bool retry_failed, xf_claim_result *result) {
    *result = XF_CLAIM_DONE;
    /* IMMEDIATE: two workers looking at the same trial are serialised, so
     * only one of them sees it free. */
    if (sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(store, "cannot begin a transaction");
    xf_status st = claim_locked(store, id, who, retry_failed, result);
    if (!st && sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        st = db_fail(store, "cannot commit a claim");
    if (st) sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

static xf_status exec_text(xf_store *s, const char *sql, const char *a, const char *b,
                           const char *what) {
    sqlite3_stmt *q;
    xf_status st = prepare(s, sql, &q);
    if (st) return st;
    bind_opt_text(q, 1, a);
    if (b) bind_opt_text(q, 2, b);
    if (sqlite3_step(q) != SQLITE_DONE) st = db_fail(s, what);
    sqlite3_finalize(q);
    return st;
}

xf_status xf_store_release_run(xf_store *store, const char *run) {
    /* Claims on finished trials are moot whoever left them (a killed run). */
    return exec_text(store,
                     "DELETE FROM claims WHERE run = ?1 OR trial_id IN"
                     " (SELECT id FROM trials WHERE status = 'finished')",
                     run, NULL, "cannot release claims");
}

xf_status xf_store_live_claims(xf_store *store, long long *n) {
    *n = 0;
    sqlite3_stmt *q;
    xf_status st = prepare(store,
                           "SELECT c.host, c.pid, c.pid_start FROM claims c LEFT JOIN trials t"
                           " ON t.id = c.trial_id WHERE t.id IS NULL",
                           &q);
    if (st) return st;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (holder((const char *)sqlite3_column_text(q, 0), sqlite3_column_int64(q, 1),
                   sqlite3_column_int64(q, 2)) != HOLDER_GONE)
            (*n)++;
    if (rc != SQLITE_DONE) st = db_fail(store, "cannot read the claims");
    sqlite3_finalize(q);
    return st;
}

/* ---- meta, progress ---- */

xf_status xf_store_set_meta(xf_store *store, const char *key, const char *value) {
    return exec_text(store, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", key,
                     value, "cannot write the study's meta data");
}

xf_status xf_store_get_meta(xf_store *store, const char *key, char *value, size_t size) {
    value[0] = 0;
    sqlite3_stmt *q;
    xf_status st = prepare(store, "SELECT value FROM meta WHERE key = ?", &q);
    if (st) return st;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        copy_text(value, size, sqlite3_column_text(q, 0));
    else if (rc != SQLITE_DONE)
        st = db_fail(store, "cannot read the study's meta data");
    sqlite3_finalize(q);
    return st;
}

xf_status xf_store_progress_get(xf_store *store, xf_store_progress *p) {
    memset(p, 0, sizeof *p);
    char value[64];
    xf_status st = xf_store_get_meta(store, "planned", value, sizeof value);
    if (st) return st;
    p->planned = atoll(value);
    long long probes = 0;
    if ((st = xf_store_count(store, XF_TRIAL_FINISHED, &p->finished, &probes)) ||
        (st = xf_store_count(store, XF_TRIAL_FAILED, &p->failed, NULL)) ||
        (st = xf_store_count(store, XF_TRIAL_DIVERGED, &p->diverged, NULL)) ||
        (st = xf_store_count(store, XF_TRIAL_ABSENT, NULL, &p->probes)) ||
        (st = xf_store_live_claims(store, &p->in_flight)))
        return st;
    /* The run's own time: up to now while trials are in flight (a study
     * sharing the store may have ended meanwhile), else up to the run's
     * end (or, for a killed run, its last record), never the time since. */
    sqlite3_stmt *q;
    if ((st = prepare(store,
                      "SELECT (julianday(CASE"
                      "  WHEN ?1 > 0 THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
                      "  WHEN e.value >= s.value THEN e.value"
                      "  ELSE coalesce((SELECT max(finished_at) FROM trials"
                      "                 WHERE finished_at >= s.value), s.value) END)"
                      " - julianday(s.value)) * 86400,"
                      " (SELECT count(*) FROM trials WHERE finished_at >= s.value)"
                      " FROM meta s LEFT JOIN meta e ON e.key = 'run_ended'"
                      " WHERE s.key = 'run_started'",
                      &q)))
        return st;
    sqlite3_bind_int64(q, 1, p->in_flight);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        p->run_seconds = sqlite3_column_double(q, 0);
        p->run_done = sqlite3_column_int64(q, 1);
    } else if (rc != SQLITE_DONE) {
        st = db_fail(store, "cannot read the run's progress");
    }
    sqlite3_finalize(q);
    return st;
}

/* ---- export ---- */

xf_status xf_store_select(xf_store *store, const char *sql, const char *param,
                          xf_store_row_fn row, void *ctx) {
    sqlite3_stmt *q;
    xf_status st = prepare(store, sql, &q);
    if (st) return st;
    if (!sqlite3_stmt_readonly(q)) {
        sqlite3_finalize(q);
        return xf_fail(XF_EINVAL, "%s: only read-only queries are allowed", store->path);
    }
    if (param) sqlite3_bind_text(q, 1, param, -1, SQLITE_STATIC);
    int n = sqlite3_column_count(q);
    enum { MAX_COLS = 64 };
    if (n > MAX_COLS) n = MAX_COLS;
    const char *names[MAX_COLS], *values[MAX_COLS];
    int rc = SQLITE_DONE;
    bool is_number[MAX_COLS];
    for (int i = 0; i < n; i++) names[i] = sqlite3_column_name(q, i);
    while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        for (int i = 0; i < n; i++) {
            int type = sqlite3_column_type(q, i);
            is_number[i] = type == SQLITE_INTEGER || type == SQLITE_FLOAT;
            values[i] = type == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(q, i);
        }
        st = row(ctx, n, names, values, is_number);
    }
    if (!st && rc != SQLITE_DONE) st = db_fail(store, "cannot run a query");
    sqlite3_finalize(q);
    return st;
}
