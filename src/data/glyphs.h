/* Tasks rendered with FreeType from Debian font packages: glyphs of
 * letters, digits and Greek letters (one image per usable typeface), and
 * colour emoji labelled by their Unicode emoji group. */
#ifndef XF_GLYPHS_H
#define XF_GLYPHS_H

#include "core/status.h"
#include "data/dataset.h"

typedef enum { XF_GLYPHS_LETTERS, XF_GLYPHS_DIGITS, XF_GLYPHS_GREEK } xf_glyph_set;

/* Renders every class character of `set` in every usable face of the font
 * files under font_dir (searched recursively, in path order): a face is
 * usable when it has a distinct, inked glyph for every character, is not a
 * symbol, dingbat or colour font, and is the first file of its family and
 * style (one face in two formats counts once). Each glyph is cropped to its
 * ink, scaled to fit 20x20 and centred in 28x28, white on black. Train and
 * test are split by family (FNV-1a hash of the family name, about one in
 * five to test), so test typefaces are unseen. */
xf_status xf_glyphs_load(const char *font_dir, xf_glyph_set set, const char *name,
                         xf_dataset *train, xf_dataset *test);

/* Emoji groups used as classes: emoji-test.txt's groups without Component
 * (skin tones, hair) and Flags (nearly all flags are two-code-point
 * sequences, which FreeType alone cannot shape). */
enum { XF_EMOJI_GROUPS = 8 };

/* Parses emoji-test.txt: every fully-qualified emoji of one code point
 * (optionally followed by U+FE0F) in a used group. *cps and *groups: caller
 * frees. Errors name the line. */
xf_status xf_emoji_parse(const char *text, size_t size, const char *origin, unsigned **cps,
                         int **groups, int *count);

/* Renders those emoji with the colour font (its bitmap strike), on black,
 * fitted and centred into size x size with `channels` 1 or 3, split 5:1 per
 * group by seed 0. `source` is "FONT_FILE|EMOJI_TEST_FILE". */
xf_status xf_emoji_load(const char *font, const char *emoji_test, int size, int channels,
                        const char *name, xf_dataset *train, xf_dataset *test);

#endif
