#include "nn/kernels.h"

const xf_kernel_table *xf_kernels(void) {
    static const xf_kernel_table *const tables[XF_ISA_COUNT] = {
        [XF_ISA_PLAIN] = &xf_kernels_plain,
        [XF_ISA_AVX2] = &xf_kernels_avx2,
        [XF_ISA_AVX512] = &xf_kernels_avx512,
    };
    return tables[xf_cpu_isa()];
}
