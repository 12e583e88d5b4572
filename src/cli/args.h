/* The one argument parser of every xfer command.
 *
 * A command lists its options in a table (name, value name, help, kind,
 * where the value goes, limits); cli_parse reads argv against it and
 * prints the --help text from the same table, so an option cannot be
 * parsed one way and documented another. Options take `--name VALUE` or
 * `--name=VALUE`; `--` ends the options. A number must be the whole value
 * and within its limits, a list must fit its array, or the command stops
 * with a message that names the option and says what was expected: nothing
 * is cut short or wrapped around silently.
 *
 * Exit statuses: a value that does not parse is an error (1); an unknown
 * option, a missing value or missing arguments a usage error (2). */
#ifndef XF_CLI_ARGS_H
#define XF_CLI_ARGS_H

#include <stdbool.h>
#include <stdio.h>

#include "core/setting.h"
#include "core/status.h"

typedef enum {
    CLI_FLAG,    /* no value; *(bool *)dest = true */
    CLI_STRING,  /* *(const char **)dest */
    CLI_STRINGS, /* comma-separated, split in place: (const char **)dest[0..*count), at most max */
    CLI_INT,     /* *(int *)dest, an integer in [lo, hi] */
    CLI_REAL,    /* *(double *)dest, a number in [lo, hi] */
    CLI_INTS,    /* comma-separated integers in [lo, hi]: (int *)dest[0..*count), at most max */
    CLI_SETTING, /* a value of `setting` (core/setting.h), stored in its field of the struct
                  * at dest (*(double *)dest for XF_FIELD_NONE); a SWITCH is a flag */
    CLI_CUSTOM,  /* parse(text, dest); its message is put after the option's name */
} cli_kind;

typedef struct {
    const char *name;  /* "--out", "-j" */
    const char *value; /* the value's name in help ("DIR"); NULL for a flag */
    const char *help;  /* one line; NULL: accepted but not listed (an old spelling) */
    cli_kind kind;
    void *dest;
    double lo, hi;           /* CLI_INT, CLI_REAL, CLI_INTS */
    int max;                 /* CLI_STRINGS, CLI_INTS: capacity of dest */
    int *count;              /* CLI_STRINGS, CLI_INTS */
    const xf_setting *setting;
    xf_status (*parse)(const char *text, void *dest);
    const char *section;     /* starts a titled group of options in help ("vit:") */
    bool help_only;          /* listed in help, never matched (another family's knob) */
    bool seen;               /* set by cli_parse: the option was given */
} cli_option;

typedef struct {
    const char *name;     /* "plan", for messages ("xfer plan: ...") */
    const char *usage;    /* "xfer plan FILE [--out DIR] [-q]" */
    const char *about;    /* the paragraph under the usage line */
    const char *epilog;   /* text after the options, or NULL */
    const char *operand;  /* name of the positional arguments ("FILE"), NULL: none */
    int min_operands, max_operands;
} cli_command;

/* Parses argv[1..argc) (argv[0] is the command's name). Operands go to
 * operands[0..*n_operands) (may be NULL when the command takes none).
 * Returns -1 when the command should go on, else the exit status to return
 * now: 0 after printing --help, 1 or 2 after printing why. */
int cli_parse(const cli_command *cmd, cli_option *opts, int n_opts, int argc, char **argv,
              const char **operands, int *n_operands);

/* The --help text: usage, about, the options from the table, epilog. */
void cli_print_help(const cli_command *cmd, const cli_option *opts, int n_opts, FILE *out);

enum { CLI_SETTING_TEXT = 320 };

/* An option for the setting `s`, stored into `base`, named after its key
 * ("--token-mlp-dim" for token_mlp_dim), with its help line and default;
 * `text` holds those texts while the option is in use. */
cli_option cli_setting_option(const xf_setting *s, void *base, char text[CLI_SETTING_TEXT]);

/* Parses an integer in [lo, hi] for a name in messages (`what`); for
 * values taken apart by hand, such as an environment variable. */
xf_status cli_parse_int(const char *what, const char *text, long long lo, long long hi,
                        long long *out);

#endif
