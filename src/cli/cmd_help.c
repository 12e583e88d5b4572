/* xfer help settings: every setting of the settings tables, the models'
 * (per family), training and downstream (probe) ones, as text or as the
 * Markdown tables that docs/models.md and docs/studies.md include (a test
 * checks that the docs hold this command's output). */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "models/family.h"
#include "probe/probe_settings.h"
#include "train/train_settings.h"

static const cli_command command = {
    .name = "help",
    .usage = "xfer help settings [models|train|downstream] [--markdown]",
    .about = "Lists the settings of models (per family), of training and of the downstream\n"
             "probes: a study file's keys, and `xfer pretrain` / `xfer probe` options with\n"
             "'-' for '_'; each with its values, its default and what it does. Numbers\n"
             "outside the range are refused when a study file is read (xfer plan) and on\n"
             "the command line. 'xfer COMMAND --help' describes one command.",
    .operand = "TOPIC",
    .min_operands = 1,
    .max_operands = 2,
};

/* What the default column says. */
static void default_text(const xf_setting *s, bool study_file, char *buf, size_t size) {
    if (s->required && study_file)
        snprintf(buf, size, "required (pretrain: %s)", s->def);
    else if (s->def)
        snprintf(buf, size, "%s", s->def);
    else if (s->follows)
        snprintf(buf, size, "= %s", s->follows);
    else
        snprintf(buf, size, "-");
}

static void print_rows(const char *family, const xf_setting *table, int n, bool markdown) {
    for (int i = 0; i < n; i++) {
        const xf_setting *s = &table[i];
        char expect[160], def[96];
        xf_setting_expect(s, expect, sizeof expect);
        default_text(s, true, def, sizeof def);
        if (markdown && family)
            printf("| %s | `%s` | %s | %s | %s |\n", family, s->key, expect, def, s->help);
        else if (markdown)
            printf("| `%s` | %s | %s | %s |\n", s->key, expect, def, s->help);
        else
            printf("  %-16s %-34s default %s\n  %16s %s\n", s->key, expect, def, "", s->help);
    }
}

static void print_models(bool markdown) {
    if (markdown)
        printf("| family | key | value | default | meaning |\n|---|---|---|---|---|\n");
    else
        printf("Model settings (a study's model entries; xfer pretrain --KEY):\n");
    for (int f = 0; f < XF_N_FAMILIES; f++) {
        const xf_family_info *fi = xf_family_of((xf_family)f);
        if (!markdown) printf("%s: %s\n", fi->name, fi->summary);
        print_rows(fi->name, fi->settings, fi->n_settings, markdown);
    }
}

static void print_table(const char *title, const xf_setting *table, int n, bool markdown) {
    if (markdown)
        printf("| key | value | default | meaning |\n|---|---|---|---|\n");
    else
        printf("%s:\n", title);
    print_rows(NULL, table, n, markdown);
}

int cmd_help(int argc, char **argv) {
    const char *topic[2] = {NULL, NULL};
    int n_topics;
    bool markdown = false;
    cli_option opts[] = {
        {.name = "--markdown", .kind = CLI_FLAG, .dest = &markdown,
         .help = "Markdown tables, as in docs/models.md and docs/studies.md"},
    };
    int rc = cli_parse(&command, opts, 1, argc, argv, topic, &n_topics);
    if (rc >= 0) return rc;
    const char *which = n_topics > 1 ? topic[1] : "all";
    bool all = strcmp(which, "all") == 0;
    if (strcmp(topic[0], "settings") != 0 ||
        !(all || strcmp(which, "models") == 0 || strcmp(which, "train") == 0 ||
          strcmp(which, "downstream") == 0)) {
        fprintf(stderr, "xfer help: expected settings [models|train|downstream]\nusage: %s\n",
                command.usage);
        return 2;
    }
    if (all || strcmp(which, "models") == 0) print_models(markdown);
    if (all && !markdown) printf("\n");
    if (all || strcmp(which, "train") == 0)
        print_table("Training settings (a study's train keys; xfer pretrain --KEY)",
                    xf_train_settings, xf_train_n_settings, markdown);
    if (all && !markdown) printf("\n");
    if (all || strcmp(which, "downstream") == 0)
        print_table("Downstream settings (a study's downstream keys; xfer probe --KEY)",
                    xf_probe_settings, xf_probe_n_settings, markdown);
    return 0;
}
