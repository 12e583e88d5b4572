#include "data/glyphs.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "data/idx.h"
#include "data/image.h"
#include "data/preprocess.h"
#include "data/readers.h"

/* ---- class characters ---- */

static int set_chars(xf_glyph_set set, unsigned *chars) {
    int n = 0;
    if (set == XF_GLYPHS_LETTERS) {
        for (unsigned c = 'A'; c <= 'Z'; c++) chars[n++] = c;
        for (unsigned c = 'a'; c <= 'z'; c++) chars[n++] = c;
    } else if (set == XF_GLYPHS_DIGITS) {
        for (unsigned c = '0'; c <= '9'; c++) chars[n++] = c;
    } else {
        /* alpha..omega without the final sigma (a form of sigma, not a letter). */
        for (unsigned c = 0x3b1; c <= 0x3c9; c++)
            if (c != 0x3c2) chars[n++] = c;
    }
    return n;
}

/* ---- collecting font files ---- */

typedef struct {
    char **paths;
    int n, cap;
} path_list;

static _Thread_local path_list *walk_out;

static int walk_add(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    if (type != FTW_F) return 0;
    const char *dot = strrchr(path, '.');
    if (!dot || (strcasecmp(dot, ".ttf") && strcasecmp(dot, ".otf") && strcasecmp(dot, ".t1") &&
                 strcasecmp(dot, ".pfb") && strcasecmp(dot, ".ttc")))
        return 0;
    path_list *l = walk_out;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 256;
        char **p = xf_realloc(l->paths, sizeof(char *) * (size_t)cap);
        if (!p) return 1;
        l->paths = p;
        l->cap = cap;
    }
    if (!(l->paths[l->n] = xf_strdup(path))) return 1;
    l->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void paths_free(path_list *l) {
    for (int i = 0; i < l->n; i++) free(l->paths[i]);
    free(l->paths);
}

/* ---- rendering ---- */

static uint64_t fnv1a(const char *s) {
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* Crops a grey bitmap (h x w, `pitch` bytes a row, `c` channels) to its ink
 * (any channel > 0), fits it into fit x fit keeping the aspect ratio, and
 * centres it in an out x out image of `oc` channels. False when blank. */
static xf_status fit_ink(const uint8_t *bm, int h, int w, int pitch, int c, int fit, int out,
                         int oc, uint8_t *dst, bool *inked) {
    *inked = false;
    int y0 = h, y1 = -1, x0 = w, x1 = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                if (bm[y * pitch + x * c + k] > 0) {
                    if (y < y0) y0 = y;
                    if (y > y1) y1 = y;
                    if (x < x0) x0 = x;
                    if (x > x1) x1 = x;
                }
    if (y1 < 0) return XF_OK;
    int ch = y1 - y0 + 1, cw = x1 - x0 + 1;
    int th = ch >= cw ? fit : (ch * fit + cw / 2) / cw, tw = cw >= ch ? fit : (cw * fit + ch / 2) / ch;
    if (th < 1) th = 1;
    if (tw < 1) tw = 1;
    /* Sized by the font's bitmap: a failed allocation is the input's, not a bug. */
    uint8_t *crop = xf_malloc((size_t)ch * cw * c), *small = xf_malloc((size_t)th * tw * oc);
    if (!crop || !small) {
        free(crop);
        free(small);
        return XF_ENOMEM;
    }
    for (int y = 0; y < ch; y++) memcpy(crop + (size_t)y * cw * c, bm + (y0 + y) * pitch + x0 * c, (size_t)cw * c);
    xf_pipeline p;
    xf_pipeline_default(&p);
    p.fit = XF_FIT_STRETCH, p.height = th, p.width = tw, p.channels = oc;
    xf_status st = xf_pipeline_apply(&p, crop, ch, cw, c, small);
    free(crop);
    if (st != XF_OK) {
        free(small);
        return st;
    }
    memset(dst, 0, (size_t)out * out * oc);
    int oy = (out - th) / 2, ox = (out - tw) / 2;
    for (int y = 0; y < th; y++)
        memcpy(dst + ((size_t)(oy + y) * out + ox) * oc, small + (size_t)y * tw * oc, (size_t)tw * oc);
    free(small);
    *inked = true;
    return XF_OK;
}

static bool is_symbolic(FT_Face face) {
    const char *fam = face->family_name ? face->family_name : "";
    if (FT_HAS_COLOR(face) || strcasestr(fam, "symbol") || strcasestr(fam, "dingbat") ||
        strcasestr(fam, "emoji") || strcasestr(fam, "math") || strcasestr(fam, "music") ||
        strcasestr(fam, "keyboard") /* letters drawn on keycaps */)
        return true;
    for (int i = 0; i < face->num_charmaps; i++)
        if (face->charmaps[i]->encoding == FT_ENCODING_MS_SYMBOL) return true;
    return false;
}

/* Renders the chars of one face into imgs (n x 28 x 28); *usable is false
 * when the face is unusable. */
static xf_status render_face(FT_Face face, const unsigned *chars, int n, uint8_t *imgs,
                             bool *usable) {
    *usable = false;
    if (is_symbolic(face) || FT_Select_Charmap(face, FT_ENCODING_UNICODE) != 0) return XF_OK;
    if (FT_Set_Pixel_Sizes(face, 0, 64) != 0) return XF_OK;
    FT_UInt seen[64];
    for (int i = 0; i < n; i++) {
        FT_UInt g = FT_Get_Char_Index(face, chars[i]);
        if (g == 0) return XF_OK;
        for (int j = 0; j < i; j++)
            if (seen[j] == g) return XF_OK; /* two letters, one glyph */
        seen[i] = g;
        if (FT_Load_Glyph(face, g, FT_LOAD_RENDER) != 0) return XF_OK;
        FT_Bitmap *bm = &face->glyph->bitmap;
        if (bm->pixel_mode != FT_PIXEL_MODE_GRAY || bm->pitch <= 0) return XF_OK;
        bool inked;
        xf_status st = fit_ink(bm->buffer, (int)bm->rows, (int)bm->width, bm->pitch, 1, 20, 28, 1,
                               imgs + (size_t)i * 784, &inked);
        if (st != XF_OK || !inked) return st;
    }
    *usable = true;
    return XF_OK;
}

xf_status xf_glyphs_load(const char *font_dir, xf_glyph_set set, const char *name,
                         xf_dataset *train, xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    unsigned chars[64];
    int n = set_chars(set, chars);
    path_list files = {0};
    walk_out = &files;
    if (nftw(font_dir, walk_add, 16, FTW_PHYS) != 0) {
        paths_free(&files);
        return xf_fail(XF_EIO, "%s: cannot list the font files", font_dir);
    }
    if (files.n > 1) qsort(files.paths, (size_t)files.n, sizeof(char *), cmp_str);
    FT_Library lib;
    if (FT_Init_FreeType(&lib) != 0) {
        paths_free(&files);
        return xf_fail(XF_EINVAL, "FreeType would not start");
    }
    /* Faces in path order; keys "family\tstyle" dedupe formats. */
    int cap = 64, faces = 0;
    uint8_t *imgs = xf_malloc((size_t)cap * n * 784);
    char **keys = xf_malloc(sizeof(char *) * (size_t)cap);
    bool *is_test = xf_malloc(sizeof(bool) * (size_t)cap);
    xf_status st = imgs && keys && is_test ? XF_OK : XF_ENOMEM;
    for (int f = 0; f < files.n && st == XF_OK; f++) {
        FT_Face face;
        long num = 1;
        for (long fi = 0; fi < num && st == XF_OK; fi++) {
            if (FT_New_Face(lib, files.paths[f], fi, &face) != 0) break;
            num = face->num_faces;
            char key[512];
            snprintf(key, sizeof key, "%s\t%s", face->family_name ? face->family_name : "?",
                     face->style_name ? face->style_name : "?");
            bool dup = false;
            for (int k = 0; k < faces && !dup; k++) dup = strcmp(keys[k], key) == 0;
            if (faces == cap && !dup) {
                cap *= 2;
                uint8_t *ni = xf_realloc(imgs, (size_t)cap * n * 784);
                if (ni) imgs = ni;
                char **nk = xf_realloc(keys, sizeof(char *) * (size_t)cap);
                if (nk) keys = nk;
                bool *nt = xf_realloc(is_test, sizeof(bool) * (size_t)cap);
                if (nt) is_test = nt;
                if (!ni || !nk || !nt) st = XF_ENOMEM;
            }
            uint8_t *mine = imgs + (size_t)faces * n * 784;
            /* Script fonts often carry a copy of one Latin design: the same
             * pixels under another name are a duplicate too. */
            bool usable = false;
            if (st == XF_OK && !dup) st = render_face(face, chars, n, mine, &usable);
            for (int k = 0; k < faces && usable; k++)
                usable = memcmp(imgs + (size_t)k * n * 784, mine, (size_t)n * 784) != 0;
            if (usable) {
                keys[faces] = xf_strdup(key);
                if (!keys[faces]) st = XF_ENOMEM;
                else is_test[faces++] = fnv1a(face->family_name ? face->family_name : "?") % 5 == 0;
            }
            FT_Done_Face(face);
        }
    }
    FT_Done_FreeType(lib);
    paths_free(&files);
    int n_test = 0;
    for (int k = 0; k < faces; k++) n_test += is_test[k];
    if (st == XF_OK && (n_test == 0 || n_test == faces))
        st = xf_fail(XF_ENOTFOUND, "%s: %d usable typefaces (%d for test); need fonts in both "
                                   "splits (make deps installs the font packages)",
                     font_dir, faces, n_test);
    if (st == XF_OK) st = xf_dataset_alloc(train, name, (faces - n_test) * n, 28, 28, 1, n);
    if (st == XF_OK) st = xf_dataset_alloc(test, name, n_test * n, 28, 28, 1, n);
    for (int k = 0, a = 0, b = 0; k < faces && st == XF_OK; k++) {
        xf_dataset *ds = is_test[k] ? test : train;
        int *at = is_test[k] ? &b : &a;
        memcpy(ds->images + (size_t)*at * 784, imgs + (size_t)k * n * 784, (size_t)n * 784);
        for (int i = 0; i < n; i++) ds->labels[(*at)++] = i;
    }
    for (int k = 0; k < faces; k++) free(keys[k]);
    free(keys);
    free(imgs);
    free(is_test);
    if (st != XF_OK) {
        xf_dataset_free(train);
        xf_dataset_free(test);
    }
    return st;
}

/* ---- emoji ---- */

static const char *const groups[XF_EMOJI_GROUPS] = {
    "Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink",
    "Travel & Places",   "Activities",    "Objects",          "Symbols"};

xf_status xf_emoji_parse(const char *text, size_t size, const char *origin, unsigned **cps,
                         int **group_of, int *count) {
    *cps = NULL;
    *group_of = NULL;
    *count = 0;
    int cap = 256, n = 0, group = -1, line = 0;
    unsigned *c = xf_malloc(sizeof(unsigned) * (size_t)cap);
    int *g = xf_malloc(sizeof(int) * (size_t)cap);
    xf_status st = c && g ? XF_OK : XF_ENOMEM;
    const char *p = text, *end = text + size;
    while (p < end && st == XF_OK) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        line++;
        char buf[512];
        size_t len = (size_t)(eol - p) < sizeof buf - 1 ? (size_t)(eol - p) : sizeof buf - 1;
        memcpy(buf, p, len);
        buf[len] = 0;
        p = eol + 1;
        if (strncmp(buf, "# group: ", 9) == 0) {
            group = -1;
            for (int i = 0; i < XF_EMOJI_GROUPS; i++)
                if (strcmp(buf + 9, groups[i]) == 0) group = i;
            continue;
        }
        if (buf[0] == '#' || buf[0] == 0 || group < 0) continue;
        char *semi = strchr(buf, ';');
        if (!semi) {
            st = xf_fail(XF_EFORMAT, "%s: line %d: expected 'CODEPOINTS ; STATUS # ...'",
                         origin, line);
            break;
        }
        if (!strstr(semi, "; fully-qualified")) continue;
        unsigned v[4];
        int k = 0;
        char *q = buf;
        while (q < semi && k < 4) {
            char *e;
            unsigned long x = strtoul(q, &e, 16);
            if (e == q) break;
            v[k++] = (unsigned)x;
            q = e;
        }
        if (k == 0 || v[0] > 0x10ffff) {
            st = xf_fail(XF_EFORMAT, "%s: line %d: expected hex code points before ';'", origin,
                         line);
            break;
        }
        if (!(k == 1 || (k == 2 && v[1] == 0xfe0f))) continue;
        if (n == cap) {
            cap *= 2;
            unsigned *nc = xf_realloc(c, sizeof(unsigned) * (size_t)cap);
            int *ng = xf_realloc(g, sizeof(int) * (size_t)cap);
            if (nc) c = nc;
            if (ng) g = ng;
            if (!nc || !ng) st = XF_ENOMEM;
            if (st != XF_OK) break;
        }
        c[n] = v[0];
        g[n++] = group;
    }
    if (st == XF_OK && n == 0) st = xf_fail(XF_EFORMAT, "%s: no emoji found", origin);
    if (st != XF_OK) {
        free(c);
        free(g);
        return st;
    }
    *cps = c;
    *group_of = g;
    *count = n;
    return XF_OK;
}

xf_status xf_emoji_load(const char *font, const char *emoji_test, int size, int channels,
                        const char *name, xf_dataset *train, xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    unsigned char *text;
    size_t text_size;
    xf_status st = xf_read_file(emoji_test, &text, &text_size);
    if (st != XF_OK) return st;
    unsigned *cps;
    int *grp, n;
    st = xf_emoji_parse((const char *)text, text_size, emoji_test, &cps, &grp, &n);
    free(text);
    if (st != XF_OK) return st;
    FT_Library lib;
    FT_Face face = NULL;
    if (FT_Init_FreeType(&lib) != 0) {
        free(cps);
        free(grp);
        return xf_fail(XF_EINVAL, "FreeType would not start");
    }
    if (FT_New_Face(lib, font, 0, &face) != 0 || !FT_HAS_COLOR(face) || face->num_fixed_sizes < 1 ||
        FT_Select_Size(face, 0) != 0)
        st = xf_fail(XF_EFORMAT, "%s: not a colour bitmap font FreeType can open", font);
    xf_dataset all = {0};
    if (st == XF_OK) st = xf_dataset_alloc(&all, name, n, size, size, channels, XF_EMOJI_GROUPS);
    int kept = 0;
    size_t image = (size_t)size * size * channels;
    for (int i = 0; i < n && st == XF_OK; i++) {
        FT_UInt g = FT_Get_Char_Index(face, cps[i]);
        if (g == 0 || FT_Load_Glyph(face, g, FT_LOAD_COLOR) != 0) continue;
        if (face->glyph->format != FT_GLYPH_FORMAT_BITMAP &&
            FT_Render_Glyph(face->glyph, FT_RENDER_MODE_NORMAL) != 0)
            continue;
        FT_Bitmap *bm = &face->glyph->bitmap;
        if (bm->pixel_mode != FT_PIXEL_MODE_BGRA || bm->pitch <= 0) continue;
        /* Premultiplied BGRA over black is its BGR; reorder to RGB. */
        int h = (int)bm->rows, w = (int)bm->width;
        uint8_t *rgb = xf_malloc((size_t)h * w * 3);
        if (!rgb) {
            st = XF_ENOMEM;
            break;
        }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const uint8_t *px = bm->buffer + y * bm->pitch + x * 4;
                uint8_t *o = rgb + ((size_t)y * w + x) * 3;
                o[0] = px[2];
                o[1] = px[1];
                o[2] = px[0];
            }
        /* Emoji fill their cell: fit to the full size, not an inner box. */
        bool inked;
        st = fit_ink(rgb, h, w, w * 3, 3, size, size, channels, all.images + (size_t)kept * image,
                     &inked);
        if (st == XF_OK && inked) all.labels[kept++] = grp[i];
        free(rgb);
    }
    if (face) FT_Done_Face(face);
    FT_Done_FreeType(lib);
    free(cps);
    free(grp);
    if (st == XF_OK && kept < n / 2)
        st = xf_fail(XF_EFORMAT, "%s: only %d of %d emoji rendered", font, kept, n);
    if (st == XF_OK) {
        all.n = kept;
        st = xf_dataset_split(&all, XF_SPLIT_TEST_FRACTION, XF_SPLIT_SEED, train, test);
    }
    xf_dataset_free(&all);
    return st;
}
