#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/path.h"
#include "core/progress.h"
#include "study/store.h"

static const cli_command command = {
    .name = "status",
    .usage = "xfer status DIR [--errors]",
    .about = "Where the study in DIR stands, from its store: finished/planned,\n"
             "failed, in flight, the rate of the latest run and its ETA.",
    .operand = "DIR",
    .min_operands = 1,
    .max_operands = 1,
};

static xf_status print_error(void *ctx, int n, const char *const *names,
                             const char *const *values, const bool *is_number) {
    (void)ctx;
    (void)names;
    (void)is_number;
    if (n == 3)
        printf("  %s  %-8s  %s\n", values[0] ? values[0] : "", values[1] ? values[1] : "",
               values[2] ? values[2] : "");
    return XF_OK;
}

int cmd_status(int argc, char **argv) {
    const char *dir = NULL;
    bool errors = false;
    cli_option opts[] = {
        {.name = "--errors", .kind = CLI_FLAG, .dest = &errors,
         .help = "also list the failed and diverged trials with their error"},
    };
    int rc = cli_parse(&command, opts, 1, argc, argv, &dir, NULL);
    if (rc >= 0) return rc;
    char db[XF_PATH_MAX];
    if (xf_path_format(db, sizeof db, "%s/study.db", dir)) return cli_fail(XF_EINVAL, "status");
    if (access(db, F_OK) != 0) {
        fprintf(stderr, "xfer: status: %s: no study store (run xfer study first)\n", db);
        return 1;
    }
    xf_store *store;
    xf_status st = xf_store_open_read(db, &store);
    if (st) return cli_fail(st, "status");
    xf_store_progress p;
    char name[128];
    if (!(st = xf_store_progress_get(store, &p)))
        st = xf_store_get_meta(store, "study", name, sizeof name);
    if (!st) {
        long long done = p.finished + p.failed + p.diverged;
        long long left = p.planned > done ? p.planned - done : 0;
        double rate = p.run_seconds > 0 ? p.run_done / p.run_seconds : 0;
        char eta[32] = "-", rate_text[64] = "-";
        if (rate > 0) snprintf(rate_text, sizeof rate_text, "%.2f trials/min", rate * 60);
        if (left == 0)
            snprintf(eta, sizeof eta, "done");
        else if (rate > 0 && p.in_flight > 0)
            xf_format_duration(left / rate, eta, sizeof eta);
        printf("study %s: %lld/%lld finished, %lld failed, %lld diverged, %lld in flight, "
               "%lld left; %lld probe rows; latest run: %lld trials in %.0fs, %s, ETA %s\n",
               name[0] ? name : dir, p.finished, p.planned, p.failed, p.diverged, p.in_flight,
               left, p.probes, p.run_done, p.run_seconds, rate_text, eta);
    }
    if (!st && errors)
        st = xf_store_select(store,
                             "SELECT id, status, error FROM trials WHERE status != 'finished'"
                             " ORDER BY id",
                             NULL, print_error, NULL);
    xf_store_close(store);
    return st ? cli_fail(st, "status") : 0;
}
