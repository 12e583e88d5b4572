/* The command-line parser of every xfer command (src/cli/args.c): numbers
 * and lists refused on overflow, junk or overflowing their array with a
 * message naming the option, unknown options, --help from the table; and
 * the binary's commands going through it. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "core/log.h"
#include "models/family.h"
#include "models/model.h"
#include "support.h"

static const cli_command demo = {
    .name = "demo",
    .usage = "xfer demo FILE [--count N] [--ratio X] [--ids LIST] [--names LIST] [--on]",
    .about = "A command for the tests.",
    .operand = "FILE",
    .min_operands = 1,
    .max_operands = 1,
};

typedef struct {
    int count;
    double ratio;
    int ids[3], n_ids;
    const char *names[4];
    int n_names;
    bool on;
    const char *file;
} demo_options;

/* Runs the parser on a NULL-terminated list of arguments after "demo";
 * returns its result and what it printed to stderr in *err (caller frees). */
static int run(demo_options *o, char **err, const char *first, ...) {
    memset(o, 0, sizeof *o);
    o->count = 7;
    static char args[16][1024];
    char *argv[17] = {"demo"};
    int argc = 1;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        snprintf(args[argc - 1], sizeof args[0], "%s", a);
        argv[argc] = args[argc - 1];
        argc++;
    }
    va_end(ap);
    cli_option opts[] = {
        {.name = "--count", .value = "N", .kind = CLI_INT, .dest = &o->count, .lo = 1, .hi = 10,
         .help = "how many"},
        {.name = "--ratio", .value = "X", .kind = CLI_REAL, .dest = &o->ratio, .lo = 0, .hi = 1,
         .help = "a ratio"},
        {.name = "--ids", .value = "LIST", .kind = CLI_INTS, .dest = o->ids, .count = &o->n_ids,
         .max = 3, .lo = 0, .hi = 99, .help = "up to three ids"},
        {.name = "--names", .value = "LIST", .kind = CLI_STRINGS, .dest = o->names,
         .count = &o->n_names, .max = 4, .help = "up to four names"},
        {.name = "--on", .kind = CLI_FLAG, .dest = &o->on,
         .help = "a long help line that has to be wrapped because it does not fit into the "
                 "eighty columns of a terminal next to the option's name"},
    };
    test_capture_begin(2);
    int rc = cli_parse(&demo, opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, &o->file,
                       NULL);
    *err = test_capture_end();
    return rc;
}

Test(cli_args, values_and_forms) {
    demo_options o;
    char *err;
    cr_assert_eq(run(&o, &err, "f.yaml", "--count", "3", "--ratio=0.25", "--ids", "1,2,99",
                     "--names", "a,b", "--on", NULL),
                 -1, "%s", err);
    cr_assert_str_eq(o.file, "f.yaml");
    cr_assert_eq(o.count, 3);
    cr_assert_eq(o.ratio, 0.25);
    cr_assert_eq(o.n_ids, 3);
    cr_assert_eq(o.ids[2], 99);
    cr_assert_eq(o.n_names, 2);
    cr_assert_str_eq(o.names[1], "b");
    cr_assert(o.on);
    free(err);
    /* Defaults stay when an option is absent; `--` ends the options. */
    cr_assert_eq(run(&o, &err, "--", "--count", NULL), -1, "%s", err);
    cr_assert_eq(o.count, 7);
    cr_assert_str_eq(o.file, "--count");
    free(err);
}

/* One case: the arguments, the exit status and what stderr must say. */
typedef struct {
    const char *args[4];
    int rc;
    const char *needle;
} bad_case;

Test(cli_args, refuses_overflow_junk_and_long_lists_naming_the_option) {
    static const bad_case cases[] = {
        {{"f", "--count", "99999999999999999999"}, 1,
         "xfer demo: --count '99999999999999999999': expected an integer in [1, 10]"},
        {{"f", "--count", "4294967299"}, 1, "--count '4294967299': expected an integer in [1, 10]"},
        {{"f", "--count", "3x"}, 1, "--count '3x': expected an integer in [1, 10]"},
        {{"f", "--count", ""}, 1, "--count '': expected an integer"},
        {{"f", "--ratio", "1e999"}, 1, "--ratio '1e999': expected a number in [0, 1]"},
        {{"f", "--ratio", "nan"}, 1, "--ratio 'nan': expected a number in [0, 1]"},
        {{"f", "--ids", "1,2,3,4"}, 1, "--ids: more than 3 items in the list"},
        {{"f", "--ids", "1,,2"}, 1, "--ids: an empty item in the list"},
        {{"f", "--ids", "1,100"}, 1, "--ids '100': expected an integer in [0, 99]"},
        {{"f", "--names", "a,b,c,d,e"}, 1, "--names: more than 4 items in the list"},
        {{"f", "--bogus"}, 2, "xfer demo: unknown option '--bogus'"},
        {{"f", "--count"}, 2, "xfer demo: --count needs a value"},
        {{"f", "--on=1"}, 2, "--on takes no value"},
        {{"f", "g"}, 2, "unexpected argument 'g'"},
        {{"--on"}, 2, "missing FILE"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        demo_options o;
        char *err;
        const char *const *a = cases[i].args;
        int rc = run(&o, &err, a[0], a[1], a[2], a[3], NULL);
        cr_assert_eq(rc, cases[i].rc, "case %zu: rc %d: %s", i, rc, err);
        cr_assert(strstr(err, cases[i].needle), "case %zu: '%s' not in '%s'", i,
                  cases[i].needle, err);
        if (cases[i].rc == 2)
            cr_assert(strstr(err, "usage: xfer demo FILE"), "case %zu: %s", i, err);
        free(err);
    }
}

/* A list of any length within its array is kept whole: no fixed-size copy
 * cuts it. */
Test(cli_args, long_values_are_not_cut) {
    demo_options o;
    char *err;
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    char list[420];
    snprintf(list, sizeof list, "%s,%s", longname, longname);
    cr_assert_eq(run(&o, &err, "f", "--names", list, NULL), -1, "%s", err);
    cr_assert_eq(o.n_names, 2);
    cr_assert_eq(strlen(o.names[1]), sizeof longname - 1);
    free(err);
}

Test(cli_args, help_comes_from_the_table) {
    cli_option opts[] = {
        {.name = "--count", .value = "N", .kind = CLI_INT, .help = "how many"},
        {.name = "--old", .kind = CLI_FLAG},
        {.name = "--on", .kind = CLI_FLAG, .section = "switches:",
         .help = "a long help line that has to be wrapped because it does not fit into the "
                 "eighty columns of a terminal next to the option's name"},
    };
    test_capture_begin(1);
    char *argv[] = {"demo", "--help"};
    int rc = cli_parse(&demo, opts, 3, 2, argv, NULL, NULL);
    char *out = test_capture_end();
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "usage: xfer demo FILE"), "%s", out);
    cr_assert(strstr(out, "A command for the tests."), "%s", out);
    cr_assert(strstr(out, "  --count N "), "%s", out);
    cr_assert(strstr(out, "how many"), "%s", out);
    cr_assert(strstr(out, "switches:\n  --on "), "%s", out);
    cr_assert(!strstr(out, "--old"), "an option without help is not listed: %s", out);
    for (char *line = out; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (!strstr(line, "usage:")) cr_assert(len <= 80, "line over 80 columns: %.*s", (int)len, line);
        line += len + (end ? 1 : 0);
    }
    free(out);
}

/* A setting's option: its name, range and default from the table; an old
 * word is read with a deprecation warning naming the new one. */
static int parse_resnet(xf_model_config *cfg, char **err, char *flag, char *value) {
    const xf_family_info *resnet = xf_family_of(XF_FAMILY_RESNET);
    static char text[3][CLI_SETTING_TEXT];
    cli_option opts[3];
    for (int i = 0; i < 3; i++) opts[i] = cli_setting_option(&resnet->settings[i], cfg, text[i]);
    xf_model_config_default(cfg, XF_FAMILY_RESNET);
    char *argv[] = {"demo", "f", flag, value};
    xf_log_set_level(XF_LOG_WARN);
    test_capture_begin(2);
    int rc = cli_parse(&demo, opts, 3, 4, argv, (const char *[1]){NULL}, NULL);
    *err = test_capture_end();
    return rc;
}

Test(cli_args, setting_options_read_the_table) {
    xf_model_config cfg;
    char *err;
    cr_assert_eq(parse_resnet(&cfg, &err, "--norm", "batch"), -1, "%s", err);
    cr_assert_eq(cfg.resnet.norm, XF_NORM_BATCH);
    cr_assert_eq(err[0], 0, "the current word warns of nothing: %s", err);
    free(err);
    cr_assert_eq(parse_resnet(&cfg, &err, "--norm", "bn"), -1, "%s", err);
    cr_assert_eq(cfg.resnet.norm, XF_NORM_BATCH);
    cr_assert(strstr(err, "--norm 'bn' is deprecated; write --norm batch"), "%s", err);
    free(err);
    cr_assert_eq(parse_resnet(&cfg, &err, "--blocks", "1,2"), -1, "%s", err);
    cr_assert_eq(cfg.resnet.stages, 2);
    cr_assert_eq(cfg.resnet.blocks[1], 2);
    free(err);
    cr_assert_eq(parse_resnet(&cfg, &err, "--blocks", "1,2,3,4,5"), 1);
    cr_assert(strstr(err, "--blocks: expected 1 to 4 integers in [1, 64] separated by commas"),
              "%s", err);
    free(err);
    cr_assert_eq(parse_resnet(&cfg, &err, "--base-width", "5000"), 1);
    cr_assert(strstr(err, "--base-width: expected an integer in [1, 4096], got '5000'"), "%s",
              err);
    free(err);
    cr_assert_eq(parse_resnet(&cfg, &err, "--norm", "layer"), 1);
    cr_assert(strstr(err, "--norm: expected group_ws or batch, got 'layer'"), "%s", err);
    free(err);
    cr_assert_eq(parse_resnet(&cfg, &err, "--help", "x"), 0);
    free(err);
}

/* The binary: -v / -q before the command, every command's --help, the
 * settings reference, and a value refused with the option's name. */
Test(cli_args, binary_commands_use_the_parser) {
    const char *bin = test_xfer_bin();
    char cmd[1200];
    static const char *const commands[] = {"info", "data", "pretrain", "probe", "plan",
                                           "study", "status", "export", "merge", "fit",
                                           "report", "help"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        snprintf(cmd, sizeof cmd, "'%s' -q %s --help | grep -q '^usage: xfer %s'", bin,
                 commands[i], commands[i]);
        cr_assert_eq(test_system(cmd), 0, "%s", cmd);
    }
    snprintf(cmd, sizeof cmd,
             "'%s' -v probe x.safetensors --ds a --draws 99999999999999999999 2>&1 | "
             "grep -q \"^xfer probe: --draws: expected an integer in \\[1, 1000\\], got "
             "'99999999999999999999'\"",
             bin);
    cr_assert_eq(test_system(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "'%s' study f.yaml -j 5x 2>/dev/null", bin);
    cr_assert_eq(test_system(cmd), 1, "a bad value is an error");
    snprintf(cmd, sizeof cmd, "'%s' plan f.yaml --bogus 2>/dev/null", bin);
    cr_assert_eq(test_system(cmd), 2, "an unknown option is a usage error");
    snprintf(cmd, sizeof cmd, "XFER_LOG=9 '%s' info 2>&1 | grep -q \"XFER_LOG '9'\"", bin);
    cr_assert_eq(test_system(cmd), 0, "XFER_LOG is checked");
    snprintf(cmd, sizeof cmd,
             "'%s' pretrain --us a --out b --family mlp --heads 4 2>&1 | "
             "grep -q 'xfer pretrain: --heads: does not apply to --family mlp'",
             bin);
    cr_assert_eq(test_system(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd,
             "'%s' pretrain --help | tr -s ' \\n' ' ' | grep -q -- '--batch N images per step; "
             "a last partial batch of an epoch is dropped (an integer in \\[1, 1048576\\], "
             "default 128)'",
             bin);
    cr_assert_eq(test_system(cmd), 0, "pretrain's help states the limit");
}
