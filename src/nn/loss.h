/* Softmax cross-entropy over class logits, mean over the batch (PyTorch's
 * nn.CrossEntropyLoss(label_smoothing=s)). With smoothing s the target is
 * (1 - s) onehot(y) + s / classes, so the loss per image is
 * (1 - s) (-log p_y) + s / classes * sum_c (-log p_c) and its gradient
 * p - target. The loss is summed in double whatever REAL is, so a batch's
 * mean does not lose digits to float rounding. */
#ifndef XF_NN_LOSS_H
#define XF_NN_LOSS_H

#include <stdint.h>

/* logits: [n, classes], labels: [n] in [0, classes),
 * dlogits: [n, classes] (written: (softmax - onehot) / n; may be NULL).
 * Returns the mean loss (NaN or Inf when a logit is). */
double xf_softmax_xent(const float *logits, const int32_t *labels, int n, int classes,
                       float *dlogits);
double xf_softmax_xent_f64(const double *logits, const int32_t *labels, int n, int classes,
                           double *dlogits);

/* The same with label smoothing s in [0, 1]: dlogits (softmax - target) / n.
 * s = 0 gives exactly xf_softmax_xent's results. */
double xf_softmax_xent_smoothed(const float *logits, const int32_t *labels, int n, int classes,
                                double smoothing, float *dlogits);
double xf_softmax_xent_smoothed_f64(const double *logits, const int32_t *labels, int n,
                                    int classes, double smoothing, double *dlogits);

#endif
