/* libFuzzer target for the safetensors reader (core/safetensors.h): the
 * input is a whole file, header length, JSON tensor table and data. An
 * accepted file must tile its data section with its tensors; every tensor
 * is looked up by name and read to its last byte, so ASan sees any tensor
 * that reaches past the data. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "core/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    xf_safetensors st;
    if (xf_safetensors_parse(data, size, "fuzz", &st) != XF_OK) return 0;
    size_t total = 0;
    volatile uint8_t sink = 0;
    for (int i = 0; i < st.n_tensors; i++) {
        const xf_st_tensor *t = &st.tensors[i];
        XF_ASSERT(xf_safetensors_find(&st, t->name) == t);
        XF_ASSERT(t->nbytes == t->numel * xf_st_dtype_size(t->dtype));
        const uint8_t *p = t->data;
        for (size_t b = 0; b < t->nbytes; b++) sink ^= p[b];
        total += t->nbytes;
        const float *f;
        if (xf_safetensors_f32(&st, t->name, t->numel, &f) == XF_OK)
            XF_ASSERT(t->dtype == XF_ST_F32);
    }
    /* Tensors tile the data section: their sizes add up to it. */
    size_t header = 0;
    for (int b = 7; b >= 0; b--) header = header << 8 | data[b];
    XF_ASSERT(total == size - 8 - header);
    for (int i = 0; i < st.n_meta; i++) XF_ASSERT(xf_safetensors_meta(&st, st.meta_keys[i]));
    xf_safetensors_free(&st);
    return 0;
}
