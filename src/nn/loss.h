/* Softmax cross-entropy over class logits, mean over the batch (PyTorch's
 * nn.CrossEntropyLoss()). The loss is summed in double whatever REAL is, so
 * a batch's mean does not lose digits to float rounding. */
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

#endif
