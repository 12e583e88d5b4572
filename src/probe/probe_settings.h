/* The probe settings a user gives: `xfer probe --shots 1,5 --draws 3` and a
 * study file's `downstream: {shots: [1, 5], draws: 3}` read this one table
 * (core/setting.h), and xf_probe_config_check holds a config to it, so a
 * limit is stated once and a study is refused at plan time, not after its
 * models have trained. Offsets are into xf_probe_config. */
#ifndef XF_PROBE_SETTINGS_H
#define XF_PROBE_SETTINGS_H

#include "core/setting.h"

extern const xf_setting xf_probe_settings[];
extern const int xf_probe_n_settings;

#endif
