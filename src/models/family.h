/* What a model family plugs into the generic model code: its name, its
 * ops, and its settings: one table (core/setting.h) of the fields of its
 * part of xf_model_config, with their ranges, defaults, allowed words and
 * help. The command line, study files, `xfer help settings`, the range
 * checks and the config JSON (the object named after the family, e.g.
 * "vit": {"patch": 4, ...}) all read it. model.c holds the table of
 * families; a new family adds one entry. */
#ifndef XF_FAMILY_H
#define XF_FAMILY_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "core/safetensors.h"
#include "core/setting.h"
#include "models/model.h"

typedef struct {
    const char *name;
    const char *summary; /* the architecture in one line, for help and docs */
    const xf_model_ops *ops;
    /* Offsets are into xf_model_config; the JSON keys are in table order. */
    const xf_setting *settings;
    int n_settings;
    /* What the ranges cannot say, called once every setting is in range;
     * messages name the fields ("vit.heads"). check: settings that depend
     * on each other (heads divides dim), so a study's plan can refuse them
     * before anything trains; may be NULL. validate: what depends on the
     * image (patch divides it, sizes within int). */
    xf_status (*check)(const xf_model_config *c);
    xf_status (*validate)(const xf_model_config *c);
    /* Sets the family's settings that a timm state_dict's tensor names and
     * shapes determine (zoo/import.c), including the input size; settings
     * they cannot tell (ViT heads) keep the values c holds: what a timm
     * name, sidecar or --set told, else 0 (-1 for a word; height and width
     * 0 unless an input_size was told). n_classes: the head's, 0 without a
     * head. Errors name the file and the first tensor that does not fit.
     * NULL: not importable. */
    xf_status (*from_timm)(const xf_safetensors *st, xf_model_config *c);
} xf_family_info;

extern const xf_family_info xf_mlp_family;
extern const xf_family_info xf_vit_family;
extern const xf_family_info xf_resnet_family;
extern const xf_family_info xf_mixer_family;

/* The family of a config (NULL for an unknown one). */
const xf_family_info *xf_family_of(xf_family f);

/* models/model_settings.c: a family's settings checked against their table
 * (then its `check`), and written to / read from the family's JSON object.
 * Messages name the field ("model config: field 'vit.patch' is 300,
 * expected an integer in [1, 256]"). */
xf_status xf_family_check_settings(const xf_family_info *f, const xf_model_config *c);
bool xf_family_settings_to_json(const xf_family_info *f, const xf_model_config *c, cJSON *obj);
xf_status xf_family_settings_from_json(const xf_family_info *f, const cJSON *obj,
                                       xf_model_config *c);
xf_status xf_json_get_int(const cJSON *obj, const char *key, const char *field, int *out);

#endif
