#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

xf_status cli_parse_int(const char *what, const char *text, long long lo, long long hi,
                        long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi)
        return xf_fail(XF_EINVAL, "%s%s'%.60s': expected an integer in [%lld, %lld]", what,
                       what[0] ? " " : "", text, lo, hi);
    *out = v;
    return XF_OK;
}

static xf_status parse_real(const char *text, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < lo || v > hi)
        return xf_fail(XF_EINVAL, "'%.60s': expected a number in [%g, %g]", text, lo, hi);
    *out = v;
    return XF_OK;
}

/* Splits `text` at commas in place (argv is the program's to change). */
static xf_status split(char *text, const char **items, int max, int *count) {
    *count = 0;
    for (char *p = text;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (!*p) return xf_fail(XF_EINVAL, "an empty item in the list");
        if (*count == max) return xf_fail(XF_EINVAL, "more than %d items in the list", max);
        items[(*count)++] = p;
        if (!comma) return XF_OK;
        p = comma + 1;
    }
}

static xf_status parse_setting(const cli_option *o, const char *text) {
    const xf_setting *s = o->setting;
    xf_status st;
    if (s->kind == XF_SETTING_INTS) {
        int items[64], n;
        XF_ASSERT(s->max_items <= 64 && s->field == XF_FIELD_INTS);
        if ((st = xf_setting_parse_ints(s, text, items, &n))) return st;
        memcpy((char *)o->dest + s->offset, items, sizeof(int) * (size_t)n);
        *(int *)((char *)o->dest + s->count_offset) = n;
        return XF_OK;
    }
    double v;
    bool deprecated;
    if ((st = xf_setting_parse(s, text, &v, &deprecated))) return st;
    if (deprecated)
        xf_log_warn("%s '%s' is deprecated; write %s %s", o->name, text, o->name,
                    xf_setting_word(s, (int)v));
    if (s->field == XF_FIELD_NONE)
        *(double *)o->dest = v;
    else
        xf_setting_set(s, o->dest, v);
    return XF_OK;
}

static bool takes_value(const cli_option *o) {
    if (o->kind == CLI_FLAG) return false;
    return !(o->kind == CLI_SETTING && o->setting->kind == XF_SETTING_SWITCH);
}

/* The value of one option; errors are put after the option's name. */
static xf_status parse_value(cli_option *o, char *text) {
    long long i = 0;
    xf_status st = XF_OK;
    switch (o->kind) {
    case CLI_FLAG: break;
    case CLI_STRING: *(const char **)o->dest = text; break;
    case CLI_STRINGS: st = split(text, o->dest, o->max, o->count); break;
    case CLI_INT:
        if (!(st = cli_parse_int("", text, (long long)o->lo, (long long)o->hi, &i)))
            *(int *)o->dest = (int)i;
        break;
    case CLI_REAL: st = parse_real(text, o->lo, o->hi, o->dest); break;
    case CLI_INTS: {
        const char *items[256];
        int n;
        XF_ASSERT(o->max <= 256);
        if ((st = split(text, items, o->max, &n))) break;
        for (int k = 0; k < n && !st; k++)
            if (!(st = cli_parse_int("", items[k], (long long)o->lo, (long long)o->hi, &i)))
                ((int *)o->dest)[k] = (int)i;
        if (!st) *o->count = n;
        break;
    }
    case CLI_SETTING: st = parse_setting(o, text); break;
    case CLI_CUSTOM: st = o->parse(text, o->dest); break;
    }
    return st;
}

static int usage_error(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const cli_command *cmd, const char *fmt, ...) {
    fprintf(stderr, "xfer %s: ", cmd->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s\n('xfer %s --help' lists the options)\n", cmd->usage,
            cmd->name);
    return 2;
}

int cli_parse(const cli_command *cmd, cli_option *opts, int n_opts, int argc, char **argv,
              const char **operands, int *n_operands) {
    int n = 0;
    bool options_done = false;
    for (int i = 0; i < n_opts; i++) opts[i].seen = false;
    for (int a = 1; a < argc; a++) {
        char *arg = argv[a];
        if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (n == cmd->max_operands)
                return usage_error(cmd, "unexpected argument '%s'", arg);
            operands[n++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_print_help(cmd, opts, n_opts, stdout);
            return 0;
        }
        /* --name=value */
        char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        cli_option *o = NULL;
        for (int i = 0; i < n_opts && !o; i++)
            if (!opts[i].help_only && strlen(opts[i].name) == len &&
                strncmp(opts[i].name, arg, len) == 0)
                o = &opts[i];
        if (!o) return usage_error(cmd, "unknown option '%s'", arg);
        char *value = NULL;
        if (takes_value(o)) {
            if (eq)
                value = eq + 1;
            else if (a + 1 < argc)
                value = argv[++a];
            else
                return usage_error(cmd, "%s needs a value", o->name);
        } else if (eq) {
            return usage_error(cmd, "%s takes no value", o->name);
        }
        xf_status st = value ? parse_value(o, value) : XF_OK;
        if (!value) {
            if (o->kind == CLI_FLAG)
                *(bool *)o->dest = true;
            else
                xf_setting_set(o->setting, o->dest, 1);
        }
        if (st) {
            fprintf(stderr, "xfer %s: %s%s%s\n", cmd->name, o->name,
                    xf_error_message()[0] == '\'' ? " " : ": ", xf_error_message());
            return 1;
        }
        o->seen = true;
    }
    if (n < cmd->min_operands)
        return usage_error(cmd, "missing %s", cmd->operand ? cmd->operand : "an argument");
    if (n_operands) *n_operands = n;
    return -1;
}

/* Help lines wrap at 80 columns under the description column. */
static void print_option(const cli_option *o, FILE *out) {
    char left[64];
    snprintf(left, sizeof left, "  %s%s%s", o->name, o->value ? " " : "", o->value ? o->value : "");
    const int column = 26;
    fprintf(out, "%s", left);
    int at = (int)strlen(left);
    if (at >= column - 1) {
        fputc('\n', out);
        at = 0;
    }
    fprintf(out, "%*s", column - at, "");
    at = column;
    const char *p = o->help;
    while (*p) {
        const char *space = strchr(p, ' ');
        int word = space ? (int)(space - p) : (int)strlen(p);
        if (at > column && at + 1 + word > 80) {
            fprintf(out, "\n%*s", column, "");
            at = column;
        } else if (at > column) {
            fputc(' ', out);
            at++;
        }
        fprintf(out, "%.*s", word, p);
        at += word;
        p += word;
        while (*p == ' ') p++;
    }
    fputc('\n', out);
}

void cli_print_help(const cli_command *cmd, const cli_option *opts, int n_opts, FILE *out) {
    fprintf(out, "usage: %s\n\n%s\n", cmd->usage, cmd->about);
    if (n_opts) fputc('\n', out);
    for (int i = 0; i < n_opts; i++) {
        if (opts[i].section) fprintf(out, "%s\n", opts[i].section);
        if (opts[i].help) print_option(&opts[i], out);
    }
    if (cmd->epilog) fprintf(out, "\n%s\n", cmd->epilog);
}

cli_option cli_setting_option(const xf_setting *s, void *base, char text[CLI_SETTING_TEXT]) {
    /* text holds the flag, the value's name and the help line, one after another. */
    char *flag = text, *value = NULL, *help;
    int n = snprintf(flag, 48, "--%s", s->key);
    for (char *p = flag + 2; *p; p++)
        if (*p == '_') *p = '-';
    char *next = flag + n + 1;
    if (s->kind == XF_SETTING_WORD) {
        value = next;
        value[0] = 0;
        for (int i = 0; s->words[i]; i++)
            snprintf(value + strlen(value), 64 - strlen(value), "%s%s", i ? "|" : "", s->words[i]);
        next = value + strlen(value) + 1;
    } else if (s->kind != XF_SETTING_SWITCH) {
        value = s->kind == XF_SETTING_INT ? "N" : s->kind == XF_SETTING_REAL ? "X" : "N,N,...";
    }
    help = next;
    size_t room = (size_t)(text + CLI_SETTING_TEXT - help);
    /* Numbers say their range: the limit a study file is held to too. */
    char range[128] = "";
    if (s->kind != XF_SETTING_WORD && s->kind != XF_SETTING_SWITCH) {
        xf_setting_expect(s, range, sizeof range - 2);
        strcat(range, ", ");
    }
    if (s->kind == XF_SETTING_SWITCH)
        snprintf(help, room, "%s", s->help);
    else if (s->def)
        snprintf(help, room, "%s (%sdefault %s)", s->help, range, s->def);
    else if (s->follows)
        snprintf(help, room, "%s (%sdefault: the value of --%s)", s->help, range, s->follows);
    else
        snprintf(help, room, "%s (%.*s)", s->help, (int)strlen(range) - 2, range);
    for (char *p = strstr(help, "of --"); p && *p; p++)
        if (*p == '_') *p = '-';
    return (cli_option){.name = flag,
                        .value = value,
                        .help = help,
                        .kind = CLI_SETTING,
                        .dest = base,
                        .setting = s};
}
