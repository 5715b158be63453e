/* The GPU-shaped GEMM variants (cl/nn/gemm_gpu.cl): local-memory tiles up to
 * 128 x 128 with double-buffered K slabs and float4 loads (gemm_gpu), split
 * K for shapes with fewer tiles than the device has compute units, and the
 * epilogue kernels shared with CLBlast. engine/nn/gemm.c dispatches here
 * for DS_GEMM_GPU_TILE. */
#ifndef DS_ENGINE_NN_GEMM_GPU_H
#define DS_ENGINE_NN_GEMM_GPU_H

#include "engine/nn/gemm.h"

/* Whether v can run on rt's device at all: its local memory (two slabs of
 * A and B) and work-group size within the device's limits. */
int ds_gemm_gpu_fits(const ds_runtime *rt, const ds_gemm_variant *v);

/* How many K slices v cuts an m x n x k product into (1: no split): only
 * DS_GEMM_SPLIT_K variants split, and only when the product has fewer tiles
 * than the device has compute units; enough slices to give every compute
 * unit a tile, at most 32, each at least 4 slabs long, and their partial
 * sums (slices x m x n floats) within ws_floats. */
unsigned ds_gemm_gpu_splits(const ds_runtime *rt, const ds_gemm_variant *v, unsigned m, unsigned n,
                            unsigned k, size_t ws_floats);

/* Workspace floats v uses for an m x n x k product (split partial sums). */
size_t ds_gemm_gpu_workspace(const ds_runtime *rt, const ds_gemm_variant *v, unsigned m, unsigned n,
                             unsigned k);

/* The product with v (kind DS_GEMM_GPU_TILE); flags as gemm.c builds them. */
ds_status ds_gemm_gpu_run(ds_runtime *rt, const ds_gemm_variant *v, const ds_gemm_args *g,
                          cl_uint flags, ds_error *err);

/* C = act(C + bias) over g's M x N block (gemm_bias_act): the epilogue of a
 * product made without one. */
ds_status ds_gemm_bias_act(ds_runtime *rt, const ds_gemm_args *g, cl_uint flags, ds_error *err);

/* The build options of v's kernel ("-DGT_TM=.. ."). */
const char *ds_gemm_gpu_options(const ds_gemm_variant *v, char *buf, size_t cap);

#endif
