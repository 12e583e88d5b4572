#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/mem.h"
#include "core/path.h"
#include "study/store.h"

static const cli_command command = {
    .name = "export",
    .usage = "xfer export DIR --csv|--json [--probes] [-o FILE]",
    .about = "Writes the study's store DIR/study.db to stdout (or FILE).",
    .operand = "DIR",
    .min_operands = 1,
    .max_operands = 1,
};

static const char trials_sql[] =
    "SELECT id, study, family, us_task, status, us_acc, params, flops_per_image, train_flops,"
    " seconds, error, finished_at, config_json FROM trials ORDER BY id";
static const char probes_sql[] =
    "SELECT trial_id, ds_task, layer, layer_name, n_layers, shots, draw, acc FROM probes"
    " ORDER BY trial_id, ds_task, shots, layer, draw";
static const char trial_probes_sql[] =
    "SELECT ds_task, layer, layer_name, n_layers, shots, draw, acc FROM probes"
    " WHERE trial_id = ?1 ORDER BY ds_task, shots, layer, draw";

typedef struct {
    FILE *out;
    xf_store *store;
    long long rows;
    bool header_done;
} exporter;

static void csv_field(FILE *f, const char *v) {
    if (!v) return;
    if (!strpbrk(v, ",\"\n\r")) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"') fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static xf_status csv_row(void *ctx, int n, const char *const *names, const char *const *values,
                         const bool *is_number) {
    (void)is_number;
    exporter *e = ctx;
    if (!e->header_done) {
        for (int i = 0; i < n; i++) fprintf(e->out, "%s%s", i ? "," : "", names[i]);
        fputc('\n', e->out);
        e->header_done = true;
    }
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', e->out);
        csv_field(e->out, values[i]);
    }
    fputc('\n', e->out);
    e->rows++;
    return ferror(e->out) ? xf_fail(XF_EIO, "export: write error") : XF_OK;
}

static void json_string(FILE *f, const char *v) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* One object; a column named config_json holds JSON and is embedded as
 * "config". */
static void json_object(FILE *f, int n, const char *const *names, const char *const *values,
                        const bool *is_number) {
    fputc('{', f);
    for (int i = 0; i < n; i++) {
        bool config = strcmp(names[i], "config_json") == 0;
        fprintf(f, "%s", i ? "," : "");
        json_string(f, config ? "config" : names[i]);
        fputc(':', f);
        if (!values[i])
            fputs("null", f);
        else if (is_number[i] || (config && values[i][0] == '{'))
            fputs(values[i], f);
        else
            json_string(f, values[i]);
    }
}

static xf_status json_probe(void *ctx, int n, const char *const *names,
                            const char *const *values, const bool *is_number) {
    exporter *e = ctx;
    fputs(e->rows++ ? "," : "", e->out);
    json_object(e->out, n, names, values, is_number);
    fputc('}', e->out);
    return XF_OK;
}

static xf_status json_trial(void *ctx, int n, const char *const *names,
                            const char *const *values, const bool *is_number) {
    exporter *e = ctx;
    fputs(e->rows++ ? ",\n " : "\n ", e->out);
    json_object(e->out, n, names, values, is_number);
    fputs(",\"probes\":[", e->out);
    exporter inner = {e->out, e->store, 0, false};
    xf_status st = xf_store_select(e->store, trial_probes_sql, values[0], json_probe, &inner);
    fputs("]}", e->out);
    if (!st && ferror(e->out)) st = xf_fail(XF_EIO, "export: write error");
    return st;
}

int cmd_export(int argc, char **argv) {
    const char *dir = NULL, *path = NULL;
    bool csv = false, json = false, probes = false;
    cli_option opts[] = {
        {.name = "--csv", .kind = CLI_FLAG, .dest = &csv,
         .help = "one row per trial (config as its JSON text)"},
        {.name = "--probes", .kind = CLI_FLAG, .dest = &probes,
         .help = "with --csv: one row per probe accuracy instead"},
        {.name = "--json", .kind = CLI_FLAG, .dest = &json,
         .help = "an array of trials, each with its config and probes"},
        {.name = "-o", .value = "FILE", .kind = CLI_STRING, .dest = &path,
         .help = "write to FILE instead of stdout"},
    };
    int rc = cli_parse(&command, opts, 4, argc, argv, &dir, NULL);
    if (rc >= 0) return rc;
    if (csv == json || (probes && !csv)) {
        fprintf(stderr, "xfer export: give --csv or --json (--probes goes with --csv)\n"
                        "usage: %s\n", command.usage);
        return 2;
    }
    int format = csv ? 1 : 2;
    char db[XF_PATH_MAX];
    if (xf_path_format(db, sizeof db, "%s/study.db", dir)) return cli_fail(XF_EINVAL, "export");
    if (access(db, F_OK) != 0) {
        fprintf(stderr, "xfer: export: %s: no study store\n", db);
        return 1;
    }
    xf_store *store;
    xf_status st = xf_store_open_read(db, &store);
    if (st) return cli_fail(st, "export");
    FILE *out = path ? xf_fopen(path, "w") : stdout;
    if (!out) {
        xf_store_close(store);
        return cli_fail(XF_EIO, "export");
    }
    exporter e = {out, store, 0, false};
    if (format == 1) {
        st = xf_store_select(store, probes ? probes_sql : trials_sql, NULL, csv_row, &e);
    } else {
        fputc('[', out);
        st = xf_store_select(store, trials_sql, NULL, json_trial, &e);
        fputs("\n]\n", out);
    }
    xf_store_close(store);
    if (path && fclose(out) != 0 && !st) st = xf_fail(XF_EIO, "%s: write error", path);
    if (!path) fflush(stdout);
    return st ? cli_fail(st, "export") : 0;
}
