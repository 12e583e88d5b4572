/* Faults of the file and the input: paths that are not regular files
 * (/dev/zero, a directory, a FIFO) refused before a byte is read, headers
 * checked against the file's size before the reader allocates, safetensors
 * offsets that overlap or leave gaps, a digits value too large for an int,
 * a YAML document nested 100 000 deep; and the same through the xfer
 * binary, which must return with the message. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/npy.h"
#include "core/safetensors.h"
#include "data/idx.h"
#include "data/readers.h"
#include "data/sources.h"
#include "study/config.h"
#include "support.h"

TestSuite(input_faults, .init = test_tmp_make, .fini = test_tmp_remove);

Test(input_faults, read_file_refuses_what_is_not_a_regular_file, .timeout = 30) {
    unsigned char *data = NULL;
    size_t size = 1;
    test_expect_error(xf_read_file("/dev/zero", &data, &size), XF_EIO,
                      "'/dev/zero' is a character device, expected a regular file");
    cr_assert_null(data);
    cr_assert_eq(size, 0);
    test_expect_error(xf_read_file(test_tmp, &data, &size), XF_EIO, "is a directory");
    /* Opening a FIFO would wait for a writer forever. */
    const char *fifo = test_tmp_path("fifo");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    test_expect_error(xf_read_file(fifo, &data, &size), XF_EIO, "is a pipe");
    /* A missing file names the path and the reason, not a source line. */
    test_expect_error(xf_read_file(test_tmp_path("none"), &data, &size), XF_EIO,
                      "No such file or directory");
    cr_assert_null(strstr(xf_error_message(), ".c:"), "%s", xf_error_message());
}

Test(input_faults, read_file_max_refuses_a_larger_file_and_reads_a_smaller_one) {
    const char *path = test_tmp_write("f", "0123456789", 10);
    unsigned char *data = NULL;
    size_t size = 0;
    test_expect_error(xf_read_file_max(path, 9, &data, &size), XF_EFORMAT,
                      "is 10 bytes, more than the 9");
    cr_assert_null(data);
    cr_assert_eq(xf_read_file_max(path, 10, &data, &size), XF_OK, "%s", xf_error_message());
    cr_assert_eq(size, 10);
    cr_assert_str_eq((const char *)data, "0123456789");
    free(data);
}

/* A safetensors file: the 8-byte length, the JSON header, `data_len` bytes. */
static size_t safetensors(unsigned char *buf, const char *header, size_t data_len) {
    size_t h = strlen(header);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(h >> (8 * i));
    memcpy(buf + 8, header, h);
    memset(buf + 8 + h, 0, data_len);
    return 8 + h + data_len;
}

Test(input_faults, safetensors_offsets_must_tile_the_data) {
    unsigned char buf[512];
    xf_safetensors st;
    /* head.bias over the first 40 bytes of head.weight. */
    size_t n = safetensors(buf,
                           "{\"head.weight\":{\"dtype\":\"F32\",\"shape\":[10,4],"
                           "\"data_offsets\":[0,160]},\"head.bias\":{\"dtype\":\"F32\","
                           "\"shape\":[10],\"data_offsets\":[0,40]}}",
                           200);
    test_expect_error(xf_safetensors_parse(buf, n, "m.safetensors", &st), XF_EFORMAT,
                      "overlap tensor");
    /* The same two tensors back to back parse. */
    n = safetensors(buf,
                    "{\"head.weight\":{\"dtype\":\"F32\",\"shape\":[10,4],"
                    "\"data_offsets\":[0,160]},\"head.bias\":{\"dtype\":\"F32\","
                    "\"shape\":[10],\"data_offsets\":[160,200]}}",
                    200);
    cr_assert_eq(xf_safetensors_parse(buf, n, "m.safetensors", &st), XF_OK, "%s",
                 xf_error_message());
    cr_assert_eq(st.n_tensors, 2);
    xf_safetensors_free(&st);
    /* A gap before the second tensor, and bytes after the last. */
    n = safetensors(buf,
                    "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                    "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}",
                    12);
    test_expect_error(xf_safetensors_parse(buf, n, "m.safetensors", &st), XF_EFORMAT,
                      "tensor 'b': data_offsets [8, 12] leave data bytes 4..8 to no tensor");
    n = safetensors(buf, "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 6);
    test_expect_error(xf_safetensors_parse(buf, n, "m.safetensors", &st), XF_EFORMAT,
                      "data bytes 4..6 belong to no tensor");
}

Test(input_faults, safetensors_open_checks_the_header_length_first) {
    /* A header length of 2^40 in a 16-byte file. */
    unsigned char buf[16] = {0, 0, 0, 0, 0, 1, 0, 0, '{', '}'};
    const char *path = test_tmp_write("big.safetensors", buf, sizeof buf);
    xf_safetensors st;
    test_expect_error(xf_safetensors_open(path, &st), XF_EFORMAT,
                      "header length 1099511627776 does not fit the file's 16 bytes");
    test_expect_error(xf_safetensors_open("/dev/zero", &st), XF_EIO, "is a character device");
}

Test(input_faults, npy_and_idx_headers_are_checked_against_the_file_size) {
    /* A .npy that declares 10^9 bytes and holds 10. */
    char npy[128] = "\x93NUMPY\x01\x00";
    const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (1000000000,), }";
    size_t hlen = 118;
    npy[8] = (char)hlen;
    memset(npy + 10, ' ', hlen);
    memcpy(npy + 10, dict, strlen(dict));
    npy[10 + hlen - 1] = '\n';
    char file[128 + 10];
    memcpy(file, npy, 128);
    memset(file + 128, 7, 10);
    const char *path = test_tmp_write("big.npy", file, sizeof file);
    xf_npy a;
    test_expect_error(xf_npy_read(path, &a), XF_EFORMAT,
                      "10 data bytes, shape and dtype need 1000000000 (truncated file)");
    /* An IDX image file that declares 60000 x 28 x 28 and holds 4 bytes. */
    const unsigned char idx[] = {0, 0,  8, 3, 0, 0, 0xea, 0x60, 0, 0,
                                 0, 28, 0, 0, 0, 28, 1,    2,    3, 4};
    test_tmp_write("i", idx, sizeof idx);
    const unsigned char labels[] = {0, 0, 8, 1, 0, 0, 0, 1, 0};
    test_tmp_write("l", labels, sizeof labels);
    xf_dataset ds;
    test_expect_error(xf_idx_load_pair(test_tmp_path("i"), test_tmp_path("l"), "t", 10, &ds),
                      XF_EFORMAT, "data ends after 4 bytes, dims 60000 x 28 x 28 need 47040000");
    /* npy: a pair given /dev/zero is refused, not read. */
    xf_dataset train, test;
    test_expect_error(xf_npy_load("/dev/zero,/dev/zero", "npy:zero", &train, &test), XF_EIO,
                      "is a character device");
}

Test(input_faults, cifar_batches_must_hold_whole_records) {
    const char *names[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                           "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    static unsigned char record[3073 + 5];
    for (int i = 0; i < 6; i++) test_tmp_write(names[i], record, i == 2 ? 3073 + 5 : 3073);
    xf_dataset train, test;
    test_expect_error(xf_cifar_load(test_tmp, "c", &train, &test), XF_EFORMAT,
                      "data_batch_3.bin: 3078 bytes, not a whole number of 3073-byte records");
}

Test(input_faults, digits_value_too_large_for_an_int_is_an_error) {
    /* 1e11 once went through (int)v: undefined behaviour (UBSan in test-san). */
    char row[512] = "1e11";
    for (int i = 1; i < 64; i++) strcat(row, ",0");
    strcat(row, ",3\n");
    xf_dataset ds;
    test_expect_error(xf_digits_parse(row, strlen(row), "d.csv", &ds), XF_EFORMAT,
                      "pixel outside 0..16");
}

Test(input_faults, yaml_nested_too_deep_is_refused, .timeout = 30) {
    enum { DEPTH = 100000 };
    char *flow = malloc(2 * DEPTH + 32);
    cr_assert_not_null(flow);
    char *p = flow + sprintf(flow, "name: x\nupstream: ");
    for (int i = 0; i < DEPTH; i++) *p++ = '[';
    for (int i = 0; i < DEPTH; i++) *p++ = ']';
    *p = 0;
    xf_study_config cfg;
    test_expect_error(xf_study_config_parse(flow, strlen(flow), "deep.yaml", &cfg), XF_EINVAL,
                      "deep.yaml:2:");
    cr_assert(strstr(xf_error_message(), "YAML nested more than 64 levels deep"), "%s",
              xf_error_message());
    free(flow);
    /* Block style: mappings indented one more space each. */
    char *block = malloc(200 * 210);
    cr_assert_not_null(block);
    p = block;
    for (int i = 0; i < 200; i++) p += sprintf(p, "%*sk:\n", i, "");
    test_expect_error(xf_study_config_parse(block, strlen(block), "deep.yaml", &cfg), XF_EINVAL,
                      "YAML nested more than 64 levels deep");
    free(block);
}

/* Runs `xfer ARGS`, stdout and stderr into test_tmp/out; returns the status. */
static int xfer(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2>&1", test_xfer_bin(), args,
             test_tmp_path("out"));
    return test_system(cmd);
}

static const char *output(void) {
    static unsigned char *last;
    size_t size;
    free(last);
    last = NULL;
    cr_assert_eq(xf_read_file(test_tmp_path("out"), &last, &size), XF_OK);
    return (const char *)last;
}

Test(input_faults, xfer_refuses_dev_zero_at_once, .timeout = 60) {
    if (access(test_xfer_bin(), X_OK) != 0) cr_skip_test("no xfer binary at %s", test_xfer_bin());
    cr_assert_eq(xfer("probe /dev/zero --ds mnist"), 1);
    cr_assert(strstr(output(), "xfer: probe: '/dev/zero' is a character device, expected a "
                               "regular file"),
              "%s", output());
    cr_assert_eq(xfer("study /dev/zero"), 1);
    cr_assert(strstr(output(), "'/dev/zero' is a character device"), "%s", output());
    cr_assert_eq(xfer("fit /dev/zero --us a --ds b"), 1);
    cr_assert(strstr(output(), "'/dev/zero' is a character device"), "%s", output());
    char args[1200];
    snprintf(args, sizeof args, "probe '%s' --ds mnist", test_tmp);
    cr_assert_eq(xfer(args), 1);
    cr_assert(strstr(output(), "is a directory, expected a regular file"), "%s", output());
    cr_assert_null(strstr(output(), ".c:"), "no source location: %s", output());
}
