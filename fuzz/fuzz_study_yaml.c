/* libFuzzer target for the study YAML parser (study/config.h): the input
 * is a study file. Whatever it holds, the parser must return, fast (the
 * nesting depth is capped) and without a sanitizer report; an accepted
 * study must name its upstream tasks and models. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "study/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    xf_study_config cfg;
    if (xf_study_config_parse((const char *)data, size, "fuzz.yaml", &cfg) == XF_OK)
        XF_ASSERT(cfg.name[0] && (cfg.n_models > 0 ? cfg.n_upstream > 0 : cfg.n_checkpoints > 0));
    return 0;
}
