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
/* The same with scratch ws (ws_floats; may be NULL): on GPUs a two-stage
 * parallel reduction over the rows when the scratch holds its partial sums
 * (ds_bias_grad_parallel); on CPUs bias_grad16, which needs none. */
ds_status ds_bias_grad_ws(ds_runtime *rt, cl_mem db, size_t db_off, cl_mem dz, unsigned rows,
                          unsigned c, cl_mem ws, size_t ws_floats, ds_error *err);
/* The GPU path on any device (tests): parts of rows summed by many
 * work-items, then the parts per channel; one work-item per channel when
 * rows are few or the scratch too small. */
ds_status ds_bias_grad_parallel(ds_runtime *rt, cl_mem db, size_t db_off, cl_mem dz, unsigned rows,
                                unsigned c, cl_mem ws, size_t ws_floats, ds_error *err);

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

/* A mask channel beside the image: y [pixels][c + 1] (the out conv of a
 * decoder with decoder.mask) split into image [pixels][c] and mask [pixels];
 * merge is its backward pass, dy [pixels][c + 1] from d_image and d_mask. */
ds_status ds_channel_split(ds_runtime *rt, cl_mem image, cl_mem mask, cl_mem y, size_t pixels,
                           unsigned c, ds_error *err);
ds_status ds_channel_merge(ds_runtime *rt, cl_mem dy, cl_mem d_image, cl_mem d_mask, size_t pixels,
                           unsigned c, ds_error *err);
void ds_channel_split_reference(float *image, float *mask, const float *y, size_t pixels,
                                unsigned c);
void ds_channel_merge_reference(float *dy, const float *d_image, const float *d_mask, size_t pixels,
                                unsigned c);

/* The weights of the taps (ky0 + jy * stride, kx0 + jx * stride), jy < nky,
 * jx < nkx, of k x k x cin x cout weights from in_off, transposed into out
 * as [(jy, jx, co)][ci] (cl/nn/conv.cl). A dense layer's [in][out] weights
 * are k = 1: one tap, stride 1. */
ds_status ds_weights_transpose(ds_runtime *rt, cl_mem out, cl_mem in, size_t in_off, unsigned k,
                               unsigned cin, unsigned cout, unsigned stride, unsigned ky0,
                               unsigned kx0, unsigned nky, unsigned nkx, ds_error *err);

/* One launch of k over n work-items at the vendor's elementwise local size. */
ds_status ds_launch_elementwise(ds_runtime *rt, cl_kernel k, size_t n, ds_error *err);

#endif
