/* xfer data: the named tasks, whether they are installed, and a full check
 * of one task's files. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "data/registry.h"

static const char usage[] = "xfer data list | xfer data check TASK";

static void print_help(void) {
    printf("usage: %s\n\n"
           "  list        every named task: classes, train/test sizes, source, installed or not\n"
           "  check TASK  load TASK (a name from the list, or idx:DIR with the four MNIST file\n"
           "              names, .gz or not), validate every file and print the class counts\n\n"
           "Missing packages are installed by `make deps` (scripts/install-deps.sh).\n"
           "MNIST is unpacked under $XFER_DATA (default ~/.cache/xfer).\n",
           usage);
}

static int list_tasks(void) {
    printf("%-15s %7s %7s %7s  %-13s  %s\n", "task", "classes", "train", "test", "status",
           "source");
    for (size_t i = 0; i < xf_task_count(); i++) {
        const xf_task_info *t = xf_task_at(i);
        char train[16] = "-", test[16] = "-";
        const char *state = "not installed";
        if (xf_task_available(t)) {
            int n_train, n_test;
            if (xf_task_sizes(t, &n_train, &n_test) == XF_OK) {
                snprintf(train, sizeof train, "%d", n_train);
                snprintf(test, sizeof test, "%d", n_test);
                state = "installed";
            } else {
                state = "damaged";
                fprintf(stderr, "xfer: data: %s\n", xf_error_message());
            }
        }
        printf("%-15s %7d %7s %7s  %-13s  %s\n", t->name, t->n_classes, train, test, state,
               t->source);
    }
    return 0;
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

int cmd_data(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        print_help();
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "list") == 0) return list_tasks();
    if (argc == 3 && strcmp(argv[1], "check") == 0) return check_task(argv[2]);
    return cli_usage(usage);
}
