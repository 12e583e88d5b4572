#include "probe/probe_settings.h"

#include <stddef.h>

#include "probe/probe.h"

#define FIELD(type, name) type, offsetof(xf_probe_config, name)

const xf_setting xf_probe_settings[] = {
    /* Few-shot: the full training set is `--shots all`, not a large k. */
    {.key = "shots", .kind = XF_SETTING_INTS, .lo = 1, .hi = 10000,
     .max_items = XF_PROBE_MAX_SHOTS, .def = "1,5,10,25",
     .help = "images per class of the support sets", .field = XF_FIELD_INTS,
     .offset = offsetof(xf_probe_config, shots),
     .count_offset = offsetof(xf_probe_config, n_shots)},
    {.key = "draws", .kind = XF_SETTING_INT, .lo = 1, .hi = 1000, .def = "3",
     .help = "support sets drawn per shot count (seeds 0 to draws-1)", FIELD(XF_FIELD_INT, draws)},
    {.key = "test_limit", .kind = XF_SETTING_INT, .lo = 0, .hi = 1 << 30, .def = "0",
     .help = "score on a fixed seeded subsample of this many test images (0: all)",
     FIELD(XF_FIELD_INT, test_limit)},
    {.key = "lambda", .kind = XF_SETTING_REAL, .lo = 0, .lo_open = true, .hi = 1e30,
     .def = "1024", .help = "ridge strength", FIELD(XF_FIELD_DOUBLE, lambda)},
    {.key = "layers", .kind = XF_SETTING_INTS, .lo = -1024, .hi = 1023,
     .max_items = XF_PROBE_MAX_LAYERS,
     .help = "taps probed: all (the default), last, or tap indices (negative: from the end)",
     .field = XF_FIELD_INTS, .offset = offsetof(xf_probe_config, layers),
     .count_offset = offsetof(xf_probe_config, n_layers)},
};
const int xf_probe_n_settings = sizeof xf_probe_settings / sizeof xf_probe_settings[0];
