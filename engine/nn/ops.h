/* Small layer pieces on the device (cl/nn/layers.cl, cl/nn/conv.cl), each
 * beside its plain-C reference. */
#ifndef DS_ENGINE_NN_OPS_H
#define DS_ENGINE_NN_OPS_H

#include <CL/cl.h>
#include <stddef.h>

#include "host/runtime.h"

/* db[db_off + j] = sum over rows r of dz[r * c + j] */
ds_status ds_bias_grad(ds_runtime *rt, cl_mem db, size_t db_off, cl_mem dz, unsigned rows,
                       unsigned c, ds_error *err);
void ds_bias_grad_reference(float *db, const float *dz, unsigned rows, unsigned c);

/* Pixel shuffle, TF depth_to_space (DCR) block 2, NHWC: in [n, h, w, 4f] ->
 * out [n, 2h, 2w, f] with out[b, 2y+i, 2x+j, ch] = in[b, y, x, (2i+j) f + ch].
 * The backward pass is the inverse permutation. */
ds_status ds_pixel_shuffle_forward(ds_runtime *rt, cl_mem out, cl_mem in, unsigned n, unsigned h,
                                   unsigned w, unsigned f, ds_error *err);
ds_status ds_pixel_shuffle_backward(ds_runtime *rt, cl_mem din, cl_mem dout, unsigned n, unsigned h,
                                    unsigned w, unsigned f, ds_error *err);
void ds_pixel_shuffle_forward_reference(float *out, const float *in, unsigned n, unsigned h,
                                        unsigned w, unsigned f);
void ds_pixel_shuffle_backward_reference(float *din, const float *dout, unsigned n, unsigned h,
                                         unsigned w, unsigned f);

/* out[s][j][i] = in[in_off + (s * rows + i) * cols + j] for `slices` matrices. */
ds_status ds_weights_transpose(ds_runtime *rt, cl_mem out, cl_mem in, size_t in_off,
                               unsigned slices, unsigned rows, unsigned cols, ds_error *err);

#endif
