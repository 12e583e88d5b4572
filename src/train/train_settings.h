/* The training settings a user gives: `xfer pretrain --lr 0.01` and a study
 * file's `train: {lr: 0.01}` read this one table (core/setting.h). Offsets
 * are into xf_train_config; data_fraction and data_count choose the
 * training subset and have no field there (XF_FIELD_NONE). Defaults agree
 * with xf_train_config_default (tests/test_settings.c checks). */
#ifndef XF_TRAIN_SETTINGS_H
#define XF_TRAIN_SETTINGS_H

#include "core/setting.h"

extern const xf_setting xf_train_settings[];
extern const int xf_train_n_settings;

#endif
