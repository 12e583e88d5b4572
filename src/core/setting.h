/* A setting a user gives by name: a model's width, the learning rate, the
 * probes' shot counts. Each is described once, in a table next to the code
 * it configures (models/<family>.c, train/settings.c, probe/settings.c);
 * the command line, the study-file parser, the config JSON of checkpoints,
 * `xfer help settings` and the docs all read that one row, so a setting has
 * one name, one range and one spelling of each value everywhere.
 *
 * Keys are written with '_' ("token_mlp_dim"); on the command line the
 * same key is a flag with '-' ("--token-mlp-dim"). */
#ifndef XF_SETTING_H
#define XF_SETTING_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

typedef enum {
    XF_SETTING_INT,    /* an integer in [lo, hi] */
    XF_SETTING_REAL,   /* a number between lo and hi (lo_open / hi_open exclude them) */
    XF_SETTING_WORD,   /* one of `words`; the value is the word's index */
    XF_SETTING_SWITCH, /* true or false (1 or 0); on the command line a flag alone */
    XF_SETTING_INTS,   /* 1 to max_items integers in [lo, hi], "2,2,2" */
} xf_setting_kind;

/* The C type of the field a setting fills, at `offset` in its struct. */
typedef enum {
    XF_FIELD_NONE = 0, /* no field: the caller stores it (e.g. data_fraction) */
    XF_FIELD_INT,
    XF_FIELD_DOUBLE,
    XF_FIELD_U64,
    XF_FIELD_BOOL,
    XF_FIELD_INTS, /* int[max_items] at offset, its count an int at count_offset */
} xf_setting_field;

typedef struct {
    const char *key;
    xf_setting_kind kind;
    double lo, hi;
    bool lo_open, hi_open;
    const char *const *words;     /* WORD: NULL-terminated, in value order */
    const char *const (*aliases)[2]; /* WORD: {old spelling, word} pairs, {NULL} last */
    int max_items;                /* INTS */
    const char *def;              /* the default as a user writes it; NULL: see follows */
    const char *follows;          /* the default is this other setting's value */
    bool required;                /* a study file must give it */
    bool optional;                /* config JSON (checkpoints) holds it only when it is not
                                     the default, and an absent one is the default: a setting
                                     added later leaves older configs' bytes as they were */
    const char *help;             /* one line, for --help and the docs */
    xf_setting_field field;
    size_t offset;
    size_t count_offset;          /* INTS */
    const char *count_key;        /* INTS: the count's key in config JSON, or NULL */
} xf_setting;

/* What a value must be, for messages and help: "an integer in [1, 256]",
 * "a number in (0, 1]", "gap or cls", "1 to 4 integers in [1, 64]". */
void xf_setting_expect(const xf_setting *s, char *buf, size_t size);

/* Parses one value of an INT, REAL, WORD or SWITCH setting: the whole of
 * `text` must be the number or word, within range. A deprecated spelling
 * is accepted and sets *deprecated (may be NULL). On error the message is
 * "expected <what>, got '<text>'"; the caller puts the key in front. */
xf_status xf_setting_parse(const xf_setting *s, const char *text, double *value,
                           bool *deprecated);

/* Parses an INTS value, "2,2,2", into items[0..*n). */
xf_status xf_setting_parse_ints(const xf_setting *s, const char *text, int *items, int *n);

/* Whether v is a valid value (in range; an integer for INT; a word's index). */
bool xf_setting_valid(const xf_setting *s, double v);

/* The word a WORD or SWITCH value is written as. */
const char *xf_setting_word(const xf_setting *s, int value);

/* The setting named `key` in table[0..n), or NULL. */
const xf_setting *xf_setting_find(const xf_setting *table, int n, const char *key);

/* Reads / writes a scalar field (not XF_FIELD_INTS / NONE) of `base`. */
double xf_setting_get(const xf_setting *s, const void *base);
void xf_setting_set(const xf_setting *s, void *base, double v);

/* Sets every field of `base` that has a default (`def`) to it, then those
 * that follow another setting. */
void xf_settings_apply_defaults(const xf_setting *table, int n, void *base);

#endif
