/* Helpers shared by the test files. */
#ifndef XF_TEST_SUPPORT_H
#define XF_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/rng.h"
#include "core/status.h"
#include "data/dataset.h"
#include "models/model.h"

/* The repository root (XFER_TEST_ROOT, else "."). */
const char *test_root(void);
/* Path of the xfer binary under test (XFER_BIN, else build/xfer). */
const char *test_xfer_bin(void);
/* A new empty temporary directory (caller frees the string). */
char *test_tmpdir(void);
/* Runs a shell command, returns its exit status; output goes to `log` if not NULL. */
int test_system(const char *cmd);
/* Writes bytes to a file; returns 0 on success. */
int test_write_file(const char *path, const void *data, size_t size);
/* Removes directory dir and all below it, then frees the string (from
 * test_tmpdir). */
void test_remove_dir(char *dir);
/* Waits for child pid; its exit status, or 128 + the signal that ended it. */
int test_wait_exit(pid_t pid);
/* The first column of the first row of sql on the SQLite file db, opened
 * read-only (waiting up to 5 s for a writer); -1 if there is none. */
long long test_query(const char *db, const char *sql);

/* A temporary directory per test: name test_tmp_make and test_tmp_remove
 * as a suite's .init and .fini; test_tmp is the directory in between. */
extern char *test_tmp;
void test_tmp_make(void);
void test_tmp_remove(void);
/* test_tmp/rel, in one of 8 rotating static buffers. */
const char *test_tmp_path(const char *rel);
/* Writes bytes to test_tmp/rel (asserting it worked) and returns the path
 * (a test_tmp_path buffer). */
const char *test_tmp_write(const char *rel, const void *data, size_t size);

/* Sends file descriptor fd (1 or 2) to a temporary file until
 * test_capture_end, which returns what was written (caller frees). For
 * messages printed by the code under test (Criterion runs each test in its
 * own process). */
void test_capture_begin(int fd);
char *test_capture_end(void);

/* Asserts that `st` is `want` and that the error message contains `needle`. */
void test_expect_error(xf_status st, xf_status want, const char *needle);
/* xf_model_init refuses cfg (XF_EINVAL) with a message containing needle. */
void test_expect_bad_config(const xf_model_config *cfg, const char *needle);
/* xf_model_config_from_json refuses json (XF_EFORMAT) with a message
 * containing needle. */
void test_expect_bad_json(const char *json, const char *needle);

/* The model families' harness. A model with a batch of inputs, labels and
 * parameters in double, for the double instance of its passes
 * (xf_model_loss_f64). */
typedef struct {
    xf_model m;
    int batch;
    double *x;       /* batch x H x W x C */
    int32_t *labels; /* batch */
    double *params;  /* m.n_params */
    xf_rng rng;      /* after the draws below, for a test's own */
} test_grad_case;

/* Builds cfg's model (weights 0, as xf_model_init leaves them) and draws
 * from `seed`, in this order: x uniform in [-1, 1), labels uniform over the
 * classes, params uniform in [-0.5, 0.5) (far from the default init, so
 * every softmax, norm and nonlinearity works off its linear regime). */
void test_grad_case_init(test_grad_case *c, const xf_model_config *cfg, int batch,
                         uint64_t seed);
void test_grad_case_free(test_grad_case *c);
/* The double loss at c->params. */
double test_grad_case_loss(test_grad_case *c);

/* xf_model_loss_f64's gradient against central differences (h = 1e-6),
 * tensor by tensor: the largest numeric gradient above min_scale (a check
 * of a gradient that is all ~0 would prove nothing), the largest error
 * below max_rel of it. Tensors whose name contains `vanishing` (NULL: none)
 * must have a gradient of 0 instead, analytic and numeric (below 1e-9).
 * Also asserts that the loss is the same with and without the gradient. */
void test_check_gradients(test_grad_case *c, double min_scale, double max_rel,
                          const char *vanishing);

/* The float model against the double instance on c's batch: c's params
 * are rounded to float (the model's and c's own), the arena is reserved for
 * `reserve` images (a forward may use fewer) and every gradient starts at 1
 * (backward accumulates). */
typedef struct {
    double loss, loss_f64; /* of the float model, of the double instance */
    double worst;          /* the largest |float - double| gradient */
    double scale;          /* the largest |double gradient| */
} test_float_gap;
test_float_gap test_float_against_double(test_grad_case *c, int reserve);

/* After a forward on `batch` images: the logits are the head applied to
 * the last tap (the prelogits), <head>.weight ([classes, dim], or
 * [classes, dim, 1, 1]) and <head>.bias, within tol. */
void test_check_head(const xf_model *m, const char *head, const float *logits, int batch,
                     double tol);
/* Builds m for cfg with its default init from seed and checks its taps:
 * n_taps of them, "block<t>" then "prelogits"; on 3 images (pixel i =
 * i * step % 256) the logits are the head "head" on the prelogits (within
 * 1e-5), and the probe's extraction of the images, with the taps off, gives
 * every tap's rows (within 1e-6). m keeps the taps of those images; the
 * caller frees it. */
void test_check_block_taps(xf_model *m, const xf_model_config *cfg, uint64_t seed, int n_taps,
                           int step);
/* Tensors named head.* are in the head group, the others in the body. */
void test_check_groups(const xf_model *m);

#endif
