/* The generic safetensors reader: tensors, shapes, dtypes and metadata of a
 * hand-made file, errors that name the file and the tensor or byte, and
 * files opened by mapping them (copied only where the data is misaligned). */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/safetensors.h"
#include "support.h"

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

/* A file of one F32 tensor [4] and one F64 [1] whose data section starts
 * `pad` spaces of header later (safetensors pads its header with spaces). */
static const char *write_file(const char *name, int pad) {
    char header[256];
    snprintf(header, sizeof header,
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
             "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[16,24]}}%*s",
             pad, "");
    struct {
        float w[4];
        double d;
    } data = {{1.5f, -2, 3, 4}, 0.25};
    unsigned char buf[512];
    size_t size = make_file(buf, header, &data, sizeof data);
    return test_tmp_write(name, buf, size);
}

/* Opened files are mapped, and the tensors read in place when the data
 * section is 8-byte aligned in the file; copied into an aligned buffer
 * when it is not, with the same values either way. */
Test(safetensors, opens_by_mapping_and_copies_only_misaligned_data) {
    test_tmp_make();
    for (int pad = 0; pad < 8; pad++) {
        char name[32];
        snprintf(name, sizeof name, "pad%d.safetensors", pad);
        const char *path = write_file(name, pad);
        xf_safetensors st;
        cr_assert_eq(xf_safetensors_open(path, &st), XF_OK, "%s", xf_error_message());
        const unsigned char *map = st.map;
        cr_assert_not_null(map);
        const xf_st_tensor *w = xf_safetensors_find(&st, "w"), *d = xf_safetensors_find(&st, "d");
        cr_assert(w && d);
        bool in_place = (const unsigned char *)w->data >= map &&
                        (const unsigned char *)w->data < map + st.map_size;
        /* The data section starts after the 8-byte length and the JSON. */
        uint64_t header_len = 0;
        for (int i = 0; i < 8; i++) header_len |= (uint64_t)map[i] << (8 * i);
        bool aligned = (8 + header_len) % 8 == 0;
        cr_assert_eq(in_place, aligned, "pad %d: header %llu bytes, in place %d", pad,
                     (unsigned long long)header_len, in_place);
        cr_assert_eq(st.data == NULL, aligned);
        cr_assert_eq((uintptr_t)w->data % 4, 0);
        cr_assert_eq((uintptr_t)d->data % 8, 0);
        const float *f;
        cr_assert_eq(xf_safetensors_f32(&st, "w", 4, &f), XF_OK);
        cr_assert(f[0] == 1.5f && f[1] == -2 && f[3] == 4);
        cr_assert_eq(*(const double *)d->data, 0.25);
        xf_safetensors_free(&st);
        cr_assert_null(st.map);
    }
    test_tmp_remove();
}
