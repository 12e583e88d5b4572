/* What the study-file parser's parts share (config.c: the file, its
 * sections and the YAML helpers; config_checkpoints.c: the zoo entries).
 * Not for use outside src/study/config*.c. */
#ifndef XF_CONFIG_YAML_H
#define XF_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "core/setting.h"
#include "study/config.h"

typedef struct {
    const char *origin;
    yaml_document_t *doc;
} ctx;

/* Every error names file:line:column (1-based, as editors count) and the
 * key's full path, so a typo in a large grid is found at once. */
xf_status cfg_fail_at(const ctx *c, const yaml_node_t *n, const char *key, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
void cfg_describe(const yaml_node_t *n, char *buf, size_t size);
const char *cfg_scalar(const yaml_node_t *n);
xf_status cfg_expect_kind(const ctx *c, const yaml_node_t *n, const char *key,
                          yaml_node_type_t type, const char *what);
bool cfg_plain_scalar(const yaml_node_t *n);
xf_status cfg_parse_value(const ctx *c, const yaml_node_t *n, const char *key,
                          const xf_setting *s, double *out);
xf_status cfg_parse_name_as(const ctx *c, const yaml_node_t *n, const char *key, char *out,
                            size_t size, bool task);
xf_status cfg_parse_name(const ctx *c, const yaml_node_t *n, const char *key, char *out,
                         size_t size);

/* Walks a mapping, rejecting unknown and repeated keys; `handle` gets the
 * index of each key in `keys` and the object being filled. */
typedef xf_status (*key_handler)(const ctx *c, int index, const char *path, yaml_node_t *value,
                                 void *obj);
xf_status cfg_walk_mapping(const ctx *c, yaml_node_t *n, const char *section,
                           const char *const *keys, int n_keys, key_handler handle, void *obj,
                           unsigned *seen_out);
xf_status cfg_missing(const ctx *c, yaml_node_t *n, const char *section, const char *key);

/* config_checkpoints.c: a file path relative to the study file's folder, the `checkpoints:` list, and what is checked once
 * the whole file is read. */
xf_status cfg_parse_path(const ctx *c, const yaml_node_t *n, const char *key, char *out,
                         size_t size);
xf_status cfg_parse_checkpoints(const ctx *c, yaml_node_t *n, xf_study_config *cfg);
xf_status cfg_finish_checkpoints(const ctx *c, xf_study_config *cfg);

#endif
