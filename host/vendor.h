/* Vendor-specific build options and kernel parameters: the one table. */
#ifndef DS_HOST_VENDOR_H
#define DS_HOST_VENDOR_H

#include "host/device.h"

typedef struct ds_vendor_profile {
  ds_vendor_class vendor;
  /* Appended to every program build on this vendor's devices. */
  const char *build_options;
  /* Threads that run in lock step (NVIDIA warp, AMD wavefront, Intel
   * sub-group); 1 on CPUs, where PoCL vectorises across work-items itself. */
  unsigned simd_width;
  /* 1: GEMM-shaped kernels stage tiles in local memory (GPUs). 0: they rely
   * on caches and registers, one work-item per tile (CPUs: on PoCL local
   * memory is ordinary memory and barriers split the kernel). */
  int local_memory_tiles;
  /* The local size of elementwise kernels. PoCL compiles each new local size
   * anew, so one fixed size per kernel keeps compiles to one. */
  unsigned elementwise_local_size;
  /* GEMM register tile (cl/nn/gemm.cl): MR rows x (VW * NV) columns per
   * work-item, and the work-group shape that runs the tiles. */
  unsigned gemm_mr, gemm_vw, gemm_nv;
  unsigned gemm_local[2];
  /* The longest K one GEMM launch takes (0: any): a longer product runs as
   * launches over blocks of K, each adding to C, so that a tile's B panel
   * (K x VW * NV floats), which every row tile after it reads again, stays
   * in cache. On PoCL (1 MiB L2 per core), 1152 x 256 x 14784 with A
   * transposed ran at 92 GFLOP/s in one launch and 262 in blocks of 2048. */
  unsigned gemm_k_block;
} ds_vendor_profile;

const ds_vendor_profile *ds_vendor_profile_for(ds_vendor_class vendor);

#endif
