/* xfer data: the named tasks, preparing them into the data cache, a full
 * check of one task, and a contact sheet to look at. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/timer.h"
#include "data/cache.h"
#include "data/image.h"
#include "data/registry.h"

static const char usage[] =
    "xfer data list | prepare [--force] (NAME... | --all) | check TASK | show TASK [-o FILE] "
    "[-n PER_CLASS] [--test]";

static void print_help(void) {
    printf("usage: %s\n\n"
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
           "The data cache is $XFER_DATA (default ~/.cache/xfer).\n",
           usage);
}

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
    bool all = false, force = false;
    int names = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0) all = true;
        else if (strcmp(argv[i], "--force") == 0) force = true;
        else if (argv[i][0] == '-') return cli_usage(usage);
        else names++;
    }
    if (all == (names > 0)) return cli_usage(usage);
    int failed = 0;
    for (size_t i = 0; i < xf_task_count(); i++) {
        const xf_task_info *t = xf_task_at(i);
        bool wanted = all;
        for (int a = 0; a < argc && !wanted; a++) wanted = strcmp(argv[a], t->name) == 0;
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
    for (int a = 0; a < argc; a++)
        if (argv[a][0] != '-' && !xf_task_find(argv[a])) {
            fprintf(stderr, "xfer: data prepare: unknown task '%s' (see xfer data list)\n", argv[a]);
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
    const char *name = NULL, *out = NULL;
    int per_class = 12;
    bool use_test = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) out = argv[++i];
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) per_class = atoi(argv[++i]);
        else if (strcmp(argv[i], "--test") == 0) use_test = true;
        else if (!name && argv[i][0] != '-') name = argv[i];
        else return cli_usage(usage);
    }
    if (!name || per_class < 1 || per_class > 1000) return cli_usage(usage);
    char path[4096];
    if (!out) {
        /* A spec may hold '/' or ':'; keep the file name plain. */
        snprintf(path, sizeof path, "%s.png", name);
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
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        print_help();
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "list") == 0) return list_tasks();
    if (argc >= 3 && strcmp(argv[1], "prepare") == 0) return prepare(argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[1], "check") == 0) return check_task(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "show") == 0) return show_task(argc - 2, argv + 2);
    return cli_usage(usage);
}
