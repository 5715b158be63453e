#include "host/vendor.h"

/* -cl-std=CL1.2 everywhere: kernels use OpenCL C 1.2 core features only.
 * No -cl-fast-relaxed-math: training compares against PyTorch at 1e-4.
 * No -cl-mad-enable: mad() is not fused on PoCL 3.1 and may lose precision
 * on GPUs; kernels call fma() where they mean it. */
/* GEMM tiles: on CPUs 6 x 32 (12 AVX-512 accumulators, ../shared/reference
 * pocl-gemm.md measured 6x32 at 96-98 % of peak with packed operands), one
 * work-item per work-group; on GPUs, untuned, 4 x 8 per work-item in 8 x 8
 * groups, the one GPU tile measured on a GPU so far (an H100, 2-3 % of its
 * peak). With tuning on, every product of 1e8 FLOPs or more measures the
 * local-memory tiles (cl/nn/gemm_gpu.cl), split K and CLBlast against it
 * (engine/nn/gemm.c's gpu_variants) and keeps the fastest. */
static const ds_vendor_profile profiles[DS_VENDOR_COUNT] = {
    [DS_VENDOR_AMD] = {DS_VENDOR_AMD, "-cl-std=CL1.2", 64, 1, 256, 4, 4, 2, {8, 8}, 0},
    [DS_VENDOR_INTEL] = {DS_VENDOR_INTEL, "-cl-std=CL1.2", 16, 1, 256, 4, 4, 2, {8, 8}, 0},
    [DS_VENDOR_NVIDIA] = {DS_VENDOR_NVIDIA, "-cl-std=CL1.2", 32, 1, 256, 4, 4, 2, {8, 8}, 0},
    [DS_VENDOR_APPLE] = {DS_VENDOR_APPLE, "-cl-std=CL1.2", 32, 1, 256, 4, 4, 2, {8, 8}, 0},
    [DS_VENDOR_CPU] = {DS_VENDOR_CPU, "-cl-std=CL1.2", 1, 0, 64, 6, 16, 2, {1, 1}, 2048},
    [DS_VENDOR_OTHER] = {DS_VENDOR_OTHER, "-cl-std=CL1.2", 1, 1, 64, 4, 4, 1, {4, 4}, 0},
};

const ds_vendor_profile *ds_vendor_profile_for(ds_vendor_class vendor) {
  if (vendor < 0 || vendor >= DS_VENDOR_COUNT) vendor = DS_VENDOR_OTHER;
  return &profiles[vendor];
}
