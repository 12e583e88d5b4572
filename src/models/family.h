/* What a model family plugs into the generic model code: its name, its
 * ops, and its part of the config (checked, and written to / read from the
 * JSON object named after the family, e.g. "vit": {"patch": 4, ...}).
 * model.c holds the table of families; a new family adds one entry. */
#ifndef XF_FAMILY_H
#define XF_FAMILY_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "models/model.h"

typedef struct {
    const char *name;
    const xf_model_ops *ops;
    /* Checks the family's own fields; messages name them ("vit.heads"). */
    xf_status (*validate)(const xf_model_config *c);
    /* Adds the family's fields to `obj`; false when out of memory. */
    bool (*to_json)(const xf_model_config *c, cJSON *obj);
    /* Reads the family's fields from `obj`; errors name the field. */
    xf_status (*from_json)(const cJSON *obj, xf_model_config *c);
} xf_family_info;

extern const xf_family_info xf_mlp_family;
extern const xf_family_info xf_vit_family;
extern const xf_family_info xf_resnet_family;
extern const xf_family_info xf_mixer_family;

/* Helpers for the families' config code. Each names `field` on error. */
xf_status xf_config_check_range(const char *field, int v, int lo, int hi);
xf_status xf_json_get_int(const cJSON *obj, const char *key, const char *field, int *out);
xf_status xf_json_get_double(const cJSON *obj, const char *key, const char *field, double *out);
xf_status xf_json_get_string(const cJSON *obj, const char *key, const char *field,
                             const char **out);

#endif
