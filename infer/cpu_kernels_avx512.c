/*
 * cpu_kernels_avx512.c — the AVX-512 kernel level (F, BW, VL, DQ, VNNI,
 * plus BMI2; 512-bit vectors for the 32-element types and attention, 32
 * registers): cpu_kernels_x86.h compiled for that target. Only called
 * after cpu_kernels.c has checked the CPU supports it; the rest of the
 * program is built for the baseline.
 */
#include "config.h"

#include "infer/cpu_kernels_impl.h"

#if defined(__x86_64__) && defined(__GNUC__)

#if defined(__clang__)
#pragma clang attribute push(                                                                                \
        __attribute__((target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni"))),         \
        apply_to = function)
#else
#pragma GCC target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")
#endif

#define X86_VNNI     1
#define X86_ZMM      1
#define X86_NRD      4
#define X86_NRB      4
#define X86_NTB      4
#define X86_SET_NAME kernels_avx512
#include "infer/cpu_kernels_x86.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif

const struct cpu_kernel_set *const cpu_kernels_avx512 = &kernels_avx512;

#else

const struct cpu_kernel_set *const cpu_kernels_avx512 = NULL;

#endif
