/* The one way a decoded picture becomes a task's image: alpha composited
 * onto a background, channels converted, resized (antialiased when
 * shrinking), centre cropped. Readers, task spec options, unions and the
 * probes' "bring the task to the model's input shape" all go through
 * xf_pipeline_apply, so a pixel means the same thing everywhere.
 *
 * The arithmetic is Pillow's (Image.convert, alpha compositing,
 * Image.resize), so every step can be checked against PIL:
 *   - alpha: out = round((fg * a + bg * (255 - a)) / 255) per channel;
 *   - RGB to grey: round(0.299 R + 0.587 G + 0.114 B) (ITU-R 601-2 luma),
 *     grey to RGB by replication;
 *   - resize: separable, horizontal pass first, each pass rounded to 8 bits;
 *     output pixel i reads source pixels around the centre (i + 0.5) * scale
 *     (pixel centres mapped onto each other) with a filter widened by the
 *     scale factor when shrinking (box: area averaging; bilinear: a triangle;
 *     bicubic: Keys' cubic with a = -0.5); taps outside the image are dropped
 *     and the rest renormalised. */
#ifndef XF_PREPROCESS_H
#define XF_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"

typedef enum { XF_FILTER_BILINEAR, XF_FILTER_BICUBIC, XF_FILTER_BOX } xf_filter;

typedef enum {
    XF_FIT_NONE,    /* keep the picture's size */
    XF_FIT_STRETCH, /* both sides to height x width */
    XF_FIT_SHORTER, /* shorter side to `shorter` (aspect kept), centre crop height x width */
    XF_FIT_COVER,   /* the smallest scale (aspect kept) that covers height x width, centre crop */
} xf_fit;

typedef struct {
    xf_fit fit;
    int height, width; /* the output size (all fits but XF_FIT_NONE) */
    int shorter;       /* XF_FIT_SHORTER; at least max(height, width) */
    int channels;      /* 1 or 3; 0: grey stays grey, colour stays colour */
    xf_filter filter;
    uint8_t background[3]; /* RGB that transparent pixels show */
} xf_pipeline;

/* No resize, channels kept, bilinear, black background. */
void xf_pipeline_default(xf_pipeline *p);

/* Cover height x width and centre crop, to `channels`: how xfer brings a
 * task to a shape it did not state (a model's input, a union's first part). */
void xf_pipeline_to_shape(xf_pipeline *p, int height, int width, int channels);

/* The output shape for a picture of h x w x c (c: 1 grey, 2 grey + alpha,
 * 3 RGB, 4 RGBA). */
void xf_pipeline_shape(const xf_pipeline *p, int h, int w, int c, int *oh, int *ow, int *oc);

/* src (h x w x c, channels last) through the pipeline into dst (the shape
 * xf_pipeline_shape gives). Fails only when out of memory. */
xf_status xf_pipeline_apply(const xf_pipeline *p, const uint8_t *src, int h, int w, int c,
                            uint8_t *dst);

/* "shorter side to 256, centre crop 224x224, RGB, bilinear": for
 * messages (the background matters to pictures with alpha only, so their
 * reader names it). */
void xf_pipeline_describe(const xf_pipeline *p, char *buf, size_t cap);

/* Every image of src through the pipeline (on all cores); labels kept.
 * p must give one output shape (any fit but XF_FIT_NONE, or src's shape). */
xf_status xf_dataset_preprocess(const xf_dataset *src, const xf_pipeline *p, xf_dataset *out);

/* The number of threads decoding and preprocessing use: the online cores. */
int xf_preprocess_threads(void);

#endif
