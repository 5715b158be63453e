#include "host/vendor.h"

/* -cl-std=CL1.2 everywhere: kernels use OpenCL C 1.2 core features only.
 * No -cl-fast-relaxed-math: training compares against PyTorch at 1e-4.
 * No -cl-mad-enable: mad() is not fused on PoCL 3.1 and may lose precision
 * on GPUs; kernels call fma() where they mean it. */
static const ds_vendor_profile profiles[DS_VENDOR_COUNT] = {
    [DS_VENDOR_AMD] = {DS_VENDOR_AMD, "-cl-std=CL1.2", 64, 1, 256},
    [DS_VENDOR_INTEL] = {DS_VENDOR_INTEL, "-cl-std=CL1.2", 16, 1, 256},
    [DS_VENDOR_NVIDIA] = {DS_VENDOR_NVIDIA, "-cl-std=CL1.2", 32, 1, 256},
    [DS_VENDOR_APPLE] = {DS_VENDOR_APPLE, "-cl-std=CL1.2", 32, 1, 256},
    [DS_VENDOR_CPU] = {DS_VENDOR_CPU, "-cl-std=CL1.2", 1, 0, 64},
    [DS_VENDOR_OTHER] = {DS_VENDOR_OTHER, "-cl-std=CL1.2", 1, 1, 64},
};

const ds_vendor_profile *ds_vendor_profile_for(ds_vendor_class vendor) {
  if (vendor < 0 || vendor >= DS_VENDOR_COUNT) vendor = DS_VENDOR_OTHER;
  return &profiles[vendor];
}
