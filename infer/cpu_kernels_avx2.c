/*
 * cpu_kernels_avx2.c — the AVX2 (+FMA, F16C) kernel level: cpu_kernels_x86.h
 * compiled for that target. Only called after cpu_kernels.c has checked the
 * CPU supports it; the rest of the program is built for the baseline.
 */
#include "config.h"

#include "infer/cpu_kernels_impl.h"

#if defined(__x86_64__) && defined(__GNUC__)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC target("avx2,fma,f16c")
#endif

#define X86_VNNI     0
#define X86_ZMM      0
#define X86_NRD      4
#define X86_NRB      2
#define X86_NTB      4
#define X86_SET_NAME kernels_avx2
#include "infer/cpu_kernels_x86.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif

const struct cpu_kernel_set *const cpu_kernels_avx2 = &kernels_avx2;

#else

const struct cpu_kernel_set *const cpu_kernels_avx2 = NULL;

#endif
