/* The table of timm names (timm_names.h). One row per name, so that a
 * family's rows merge without touching another's. Values are timm's
 * pretrained_cfg: vision_transformer.py's _cfg (input 224, crop_pct 0.9,
 * bicubic, Inception mean/std 0.5) with crop_pct 1.0 at 384; mlp_mixer.py's
 * _cfg (224, crop_pct 0.875, bicubic, mean/std 0.5). Heads: Ti 3, S 6, B 12,
 * L 16 (timm's vit_* constructors). */
#include "zoo/timm_names.h"

#include <stdbool.h>
#include <string.h>

/* timm's IMAGENET_INCEPTION_MEAN and _STD. */
#define INCEPTION {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}

const xf_timm_arch xf_timm_archs[] = {
    {"vit_tiny_patch16_224.augreg_in21k", "vit", "heads=3", 224, 0.9, "bicubic", INCEPTION},
    {"vit_small_patch32_224.augreg_in21k", "vit", "heads=6", 224, 0.9, "bicubic", INCEPTION},
    {"vit_small_patch16_224.augreg_in21k", "vit", "heads=6", 224, 0.9, "bicubic", INCEPTION},
    {"vit_base_patch32_224.augreg_in21k", "vit", "heads=12", 224, 0.9, "bicubic", INCEPTION},
    {"vit_base_patch16_224.augreg_in21k", "vit", "heads=12", 224, 0.9, "bicubic", INCEPTION},
    {"vit_base_patch8_224.augreg_in21k", "vit", "heads=12", 224, 0.9, "bicubic", INCEPTION},
    {"vit_large_patch16_224.augreg_in21k", "vit", "heads=16", 224, 0.9, "bicubic", INCEPTION},
    {"vit_tiny_patch16_224.augreg_in21k_ft_in1k", "vit", "heads=3", 224, 0.9, "bicubic", INCEPTION},
    {"vit_tiny_patch16_384.augreg_in21k_ft_in1k", "vit", "heads=3", 384, 1.0, "bicubic", INCEPTION},
    {"vit_small_patch32_224.augreg_in21k_ft_in1k", "vit", "heads=6", 224, 0.9, "bicubic", INCEPTION},
    {"vit_small_patch32_384.augreg_in21k_ft_in1k", "vit", "heads=6", 384, 1.0, "bicubic", INCEPTION},
    {"vit_small_patch16_224.augreg_in21k_ft_in1k", "vit", "heads=6", 224, 0.9, "bicubic", INCEPTION},
    {"vit_small_patch16_384.augreg_in21k_ft_in1k", "vit", "heads=6", 384, 1.0, "bicubic", INCEPTION},
    {"vit_base_patch32_224.augreg_in21k_ft_in1k", "vit", "heads=12", 224, 0.9, "bicubic", INCEPTION},
    {"vit_base_patch32_384.augreg_in21k_ft_in1k", "vit", "heads=12", 384, 1.0, "bicubic", INCEPTION},
    {"vit_base_patch16_224.augreg_in21k_ft_in1k", "vit", "heads=12", 224, 0.9, "bicubic", INCEPTION},
    {"vit_base_patch16_384.augreg_in21k_ft_in1k", "vit", "heads=12", 384, 1.0, "bicubic", INCEPTION},
    {"vit_base_patch8_224.augreg_in21k_ft_in1k", "vit", "heads=12", 224, 0.9, "bicubic", INCEPTION},
    {"vit_large_patch16_224.augreg_in21k_ft_in1k", "vit", "heads=16", 224, 0.9, "bicubic", INCEPTION},
    {"vit_large_patch16_384.augreg_in21k_ft_in1k", "vit", "heads=16", 384, 1.0, "bicubic", INCEPTION},
    {"vit_small_patch16_224.augreg_in1k", "vit", "heads=6", 224, 0.9, "bicubic", INCEPTION},
    {"vit_small_patch16_384.augreg_in1k", "vit", "heads=6", 384, 1.0, "bicubic", INCEPTION},
    {"vit_base_patch32_224.augreg_in1k", "vit", "heads=12", 224, 0.9, "bicubic", INCEPTION},
    {"vit_base_patch32_384.augreg_in1k", "vit", "heads=12", 384, 1.0, "bicubic", INCEPTION},
    {"vit_base_patch16_224.augreg_in1k", "vit", "heads=12", 224, 0.9, "bicubic", INCEPTION},
    {"vit_base_patch16_384.augreg_in1k", "vit", "heads=12", 384, 1.0, "bicubic", INCEPTION},
    {"vit_base_patch32_224.orig_in21k", "vit", "heads=12", 224, 0.9, "bicubic", INCEPTION},
    {"vit_base_patch16_224.orig_in21k", "vit", "heads=12", 224, 0.9, "bicubic", INCEPTION},
    {"vit_large_patch32_224.orig_in21k", "vit", "heads=16", 224, 0.9, "bicubic", INCEPTION},
    {"vit_large_patch16_224.orig_in21k", "vit", "heads=16", 224, 0.9, "bicubic", INCEPTION},
    {"vit_base_patch16_224.orig_in21k_ft_in1k", "vit", "heads=12", 224, 0.9, "bicubic", INCEPTION},
    {"vit_base_patch16_384.orig_in21k_ft_in1k", "vit", "heads=12", 384, 1.0, "bicubic", INCEPTION},
    {"vit_large_patch32_384.orig_in21k_ft_in1k", "vit", "heads=16", 384, 1.0, "bicubic", INCEPTION},
    {"mixer_b16_224.goog_in21k", "mixer", "", 224, 0.875, "bicubic", INCEPTION},
    {"mixer_b16_224.goog_in21k_ft_in1k", "mixer", "", 224, 0.875, "bicubic", INCEPTION},
    {"mixer_l16_224.goog_in21k", "mixer", "", 224, 0.875, "bicubic", INCEPTION},
    {"mixer_l16_224.goog_in21k_ft_in1k", "mixer", "", 224, 0.875, "bicubic", INCEPTION},
};

const int xf_timm_n_archs = (int)(sizeof xf_timm_archs / sizeof xf_timm_archs[0]);

const xf_timm_arch *xf_timm_arch_find(const char *name) {
    size_t len = strlen(name);
    bool tagged = strchr(name, '.') != NULL;
    for (int i = 0; i < xf_timm_n_archs; i++) {
        const char *row = xf_timm_archs[i].name;
        if (tagged ? strcmp(row, name) == 0 : strncmp(row, name, len) == 0 && row[len] == '.')
            return &xf_timm_archs[i];
    }
    return NULL;
}
