#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/blas.h"
#include "core/csv.h"
#include "core/mem.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/status.h"
#include "support.h"

Test(rng, same_seed_same_stream_and_uniform_in_range) {
    xf_rng a, b;
    xf_rng_seed(&a, 42);
    xf_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) {
        double u = xf_rng_uniform(&a);
        cr_assert_eq(u, xf_rng_uniform(&b));
        cr_assert(u >= 0 && u < 1);
    }
    xf_rng_seed(&b, 43);
    cr_assert_neq(xf_rng_next(&a), xf_rng_next(&b));
}

Test(rng, normal_has_unit_moments) {
    xf_rng r;
    xf_rng_seed(&r, 7);
    double sum = 0, sq = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = xf_rng_normal(&r);
        sum += x;
        sq += x * x;
    }
    cr_assert(fabs(sum / n) < 0.01, "mean %g", sum / n);
    cr_assert(fabs(sq / n - 1) < 0.02, "variance %g", sq / n);
}

Test(rng, shuffle_is_a_permutation) {
    int items[100], seen[100] = {0};
    for (int i = 0; i < 100; i++) items[i] = i;
    xf_rng r;
    xf_rng_seed(&r, 1);
    xf_rng_shuffle(&r, items, 100);
    int moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[items[i]]++;
        moved += items[i] != i;
    }
    for (int i = 0; i < 100; i++) cr_assert_eq(seen[i], 1);
    cr_assert_gt(moved, 50);
}

Test(status, message_and_context) {
    xf_status st = xf_fail(XF_EFORMAT, "byte %d: bad magic", 3);
    cr_assert_eq(st, XF_EFORMAT);
    xf_fail_context(st, "%s: ", "file.idx");
    cr_assert_str_eq(xf_error_message(), "file.idx: byte 3: bad magic");
}

/* A user's error: the path and the reason, no source location. */
Test(mem, fopen_names_path_and_reason) {
    FILE *f = xf_fopen("/nonexistent/dir/file", "rb");
    cr_assert_null(f);
    cr_assert_str_eq(xf_error_message(),
                     "cannot open '/nonexistent/dir/file' (mode rb): No such file or directory");
}

Test(progress, durations) {
    char buf[32];
    xf_format_duration(5, buf, sizeof buf);
    cr_assert_str_eq(buf, "5s");
    xf_format_duration(185, buf, sizeof buf);
    cr_assert_str_eq(buf, "3m05s");
    xf_format_duration(3720, buf, sizeof buf);
    cr_assert_str_eq(buf, "1h02m");
}

Test(blas, sgemm_transposes_match_naive) {
    enum { M = 5, N = 4, K = 3 };
    float a[M * K], b[K * N], at[K * M], bt[N * K], c[M * N], ref[M * N];
    for (int i = 0; i < M * K; i++) a[i] = (float)(i % 7) - 3;
    for (int i = 0; i < K * N; i++) b[i] = (float)(i % 5) * 0.5f;
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) at[k * M + i] = a[i * K + k];
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) bt[j * K + k] = b[k * N + j];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (int k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
            ref[i * N + j] = s;
        }
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            for (int i = 0; i < M * N; i++) c[i] = 1;
            xf_sgemm(ta, tb, M, N, K, 1, ta ? at : a, ta ? M : K, tb ? bt : b, tb ? K : N, 0,
                     c, N);
            for (int i = 0; i < M * N; i++) cr_assert_float_eq(c[i], ref[i], 1e-5);
        }
}

Test(blas, preferred_core_respects_user_setting) {
    setenv("OPENBLAS_CORETYPE", "Prescott", 1);
    cr_assert_null(xf_blas_preferred_core());
}

Test(blas, core_ranks_order_the_kernels) {
    cr_assert_lt(xf_blas_core_rank("Prescott"), xf_blas_core_rank("Haswell"));
    cr_assert_lt(xf_blas_core_rank("Sandybridge"), xf_blas_core_rank("Haswell"));
    cr_assert_lt(xf_blas_core_rank("Haswell"), xf_blas_core_rank("SkylakeX"));
    cr_assert_eq(xf_blas_core_rank("Cooperlake"), xf_blas_core_rank("SkylakeX"));
    cr_assert_eq(xf_blas_core_rank("skylakex"), xf_blas_core_rank("SkylakeX"));
    cr_assert_gt(xf_blas_core_rank("SomeFutureCore"), xf_blas_core_rank("SapphireRapids"));
}

Test(blas, cli_leaves_a_user_setting_alone_and_never_runs_slower_kernels) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_CORETYPE=Prescott %s info | grep -q '^blas core: *Prescott$'",
             test_xfer_bin());
    cr_assert_eq(test_system(cmd), 0, "a user's OPENBLAS_CORETYPE must be kept");
    if (!xf_blas_best_core()) return; /* a CPU without AVX2 has nothing better */
    snprintf(cmd, sizeof cmd,
             "env -u OPENBLAS_CORETYPE %s info | grep '^blas core:' | grep -qv Prescott",
             test_xfer_bin());
    cr_assert_eq(test_system(cmd), 0, "xfer must not run the Prescott fallback by itself");
}

/* Data records after a header: blank lines skipped, line numbers counted
 * through quoted newlines, short and malformed records named by line. */
Test(csv, data_records_skip_blank_lines_and_name_bad_lines) {
    static xf_csv_record row;
    char good[] = "a,\"b\nc\"\n\n\r\nd,e\n";
    char *at = good, *end = good + strlen(good);
    int line = 1, record_line = 0;
    cr_assert_eq(xf_csv_next_data_record(&at, end, &row, &line, 2, 2, "t.csv", &record_line),
                 XF_OK);
    cr_assert_eq(row.n, 2);
    cr_assert_str_eq(row.field[1], "b\nc");
    cr_assert_eq(record_line, 2);
    cr_assert_eq(xf_csv_next_data_record(&at, end, &row, &line, 2, 2, "t.csv", &record_line),
                 XF_OK);
    cr_assert_str_eq(row.field[0], "d");
    cr_assert_eq(record_line, 6, "the record after a quoted newline and two blank lines");
    cr_assert_eq(xf_csv_next_data_record(&at, end, &row, &line, 2, 2, "t.csv", &record_line),
                 XF_OK);
    cr_assert_eq(row.n, 0, "the end of the data");

    char shorter[] = "a,b\nc\n";
    at = shorter, end = shorter + strlen(shorter), line = 1;
    cr_assert_eq(xf_csv_next_data_record(&at, end, &row, &line, 2, 3, "t.csv", &record_line),
                 XF_OK);
    cr_assert_eq(xf_csv_next_data_record(&at, end, &row, &line, 2, 3, "t.csv", &record_line),
                 XF_EFORMAT);
    cr_assert_str_eq(xf_error_message(), "t.csv: line 3: 1 fields, the header has 3");

    char quote[] = "\"open,b\n";
    at = quote, end = quote + strlen(quote), line = 1;
    cr_assert_eq(xf_csv_next_data_record(&at, end, &row, &line, 1, 2, "t.csv", &record_line),
                 XF_EFORMAT);
    cr_assert_str_eq(xf_error_message(), "t.csv: line 2: unterminated or malformed quoted field");
}
