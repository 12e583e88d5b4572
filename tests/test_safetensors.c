/* The generic safetensors reader: tensors, shapes, dtypes and metadata of a
 * hand-made file, and errors that name the file and the tensor or byte. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/safetensors.h"

/* header JSON + data bytes -> a safetensors image in buf; returns its size. */
static size_t make_file(unsigned char *buf, const char *header, const void *data, size_t n) {
    uint64_t len = strlen(header);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(len >> (8 * i));
    memcpy(buf + 8, header, len);
    memcpy(buf + 8 + len, data, n);
    return 8 + len + n;
}

Test(safetensors, reads_tensors_shapes_and_metadata) {
    unsigned char buf[512];
    struct {
        float w[6];
        int32_t l[2];
    } data = {{1, 2, 3, 4, 5, 6}, {7, -8}};
    size_t size = make_file(buf,
                            "{\"__metadata__\":{\"xfer_config\":\"{}\",\"k\":\"v\"},"
                            "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                            "\"labels\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[24,32]}}",
                            &data, sizeof data);
    xf_safetensors st;
    cr_assert_eq(xf_safetensors_parse(buf, size, "mem.safetensors", &st), XF_OK, "%s",
                 xf_error_message());
    cr_assert_eq(st.n_tensors, 2);
    cr_assert_str_eq(xf_safetensors_meta(&st, "k"), "v");
    cr_assert_null(xf_safetensors_meta(&st, "missing"));
    const xf_st_tensor *w = xf_safetensors_find(&st, "w");
    cr_assert(w && w->dtype == XF_ST_F32 && w->ndim == 2 && w->shape[1] == 3 && w->numel == 6);
    cr_assert_eq(((const float *)w->data)[4], 5.0f);
    const xf_st_tensor *l = xf_safetensors_find(&st, "labels");
    cr_assert_eq(((const int32_t *)l->data)[1], -8);
    const float *f;
    cr_assert_eq(xf_safetensors_f32(&st, "w", 6, &f), XF_OK);
    cr_assert_eq(f[5], 6.0f);
    cr_assert_eq(xf_safetensors_f32(&st, "w", 5, &f), XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "mem.safetensors: tensor 'w': 6 elements, expected 5"),
              "%s", xf_error_message());
    cr_assert_eq(xf_safetensors_f32(&st, "labels", 2, &f), XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "dtype I32, expected F32"), "%s", xf_error_message());
    cr_assert_eq(xf_safetensors_f32(&st, "nope", 2, &f), XF_ENOTFOUND);
    xf_safetensors_free(&st);
}

static void expect_error(const char *header, size_t data_bytes, const char *want) {
    unsigned char buf[512] = {0}, zeros[64] = {0};
    size_t size = make_file(buf, header, zeros, data_bytes);
    xf_safetensors st;
    cr_assert_eq(xf_safetensors_parse(buf, size, "bad.safetensors", &st), XF_EFORMAT, "%s",
                 header);
    cr_assert(strstr(xf_error_message(), want), "got '%s', want '%s'", xf_error_message(), want);
    cr_assert_eq(st.n_tensors, 0);
    xf_safetensors_free(&st);
}

Test(safetensors, errors_name_the_file_and_tensor) {
    expect_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16,
                 "bad.safetensors: tensor 'w': data_offsets [0, 16] do not hold 12 bytes");
    expect_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8,
                 "within the 8 data bytes");
    expect_error("{\"w\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
                 "tensor 'w': dtype Q4");
    expect_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 8,
                 "data byte 2 is not aligned");
    expect_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                 "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                 4, "tensor 'w' appears twice");
    /* Found by fuzz_safetensors: the second __metadata__ leaked the first's tables. */
    expect_error("{\"__metadata__\":{\"a\":\"1\"},\"__metadata__\":{}}", 0,
                 "__metadata__ appears twice");
    expect_error("[1, 2]", 0, "the header (bytes 8..14) is not a JSON object");
    unsigned char shortfile[12] = {200, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' '};
    xf_safetensors st;
    cr_assert_eq(xf_safetensors_parse(shortfile, sizeof shortfile, "s.safetensors", &st),
                 XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "s.safetensors: byte 0: header length 200"), "%s",
              xf_error_message());
    cr_assert_eq(xf_safetensors_open("/nonexistent/x.safetensors", &st), XF_EIO);
}
