/* timm's architecture names ("vit_base_patch16_224.augreg_in21k") and what
 * their checkpoints cannot say by their tensors: the family settings the
 * shapes leave open (a ViT's number of heads) and the input pipeline of
 * timm's pretrained_cfg (input size, crop_pct, interpolation, mean, std),
 * copied by hand from timm's model files (timm/models/vision_transformer.py,
 * mlp_mixer.py, resnetv2.py). docs/zoo.md lists them. */
#ifndef XF_TIMM_NAMES_H
#define XF_TIMM_NAMES_H

typedef struct {
    const char *name;          /* timm's "architecture.tag" */
    const char *family;        /* the xfer family ("vit", "mixer", "resnet") */
    const char *settings;      /* "key=value" pairs, space-separated, applied as --set ones */
    int input_size;            /* pretrained_cfg input_size: the square side */
    double crop_pct;           /* resize the shorter side to floor(input_size / crop_pct) */
    const char *interpolation; /* "bicubic" or "bilinear" */
    float mean[3], std[3];     /* per channel, on [0, 1] pixels */
} xf_timm_arch;

extern const xf_timm_arch xf_timm_archs[];
extern const int xf_timm_n_archs;

/* The row called `name`; a name without ".tag" gives the first row of that
 * architecture. NULL if none. */
const xf_timm_arch *xf_timm_arch_find(const char *name);

#endif
