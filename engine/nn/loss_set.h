/* A weighted sum of loss terms (a config's train.loss) over an NHWC batch:
 * every term adds its gradient to dy, leaves partial sums, and one device
 * reduction writes the batch loss to out[slot], so a training step reads at
 * most one float back. */
#ifndef DS_ENGINE_NN_LOSS_SET_H
#define DS_ENGINE_NN_LOSS_SET_H

#include <CL/cl.h>
#include <stddef.h>

#include "engine/nn/loss_kind.h"
#include "host/runtime.h"

/* The scratch the terms need at this shape (0 for mae and mse alone), and
 * the partial sums: count * DS_LOSS_PARTIALS floats. */
size_t ds_loss_set_maps_floats(const ds_loss_term *terms, int count, unsigned n, unsigned h,
                               unsigned w, unsigned c);
size_t ds_loss_set_partials_floats(int count);

/* dy = dL/dy of sum_k weight_k L_k(y, t); out[slot] = the loss. maps may be
 * NULL when ds_loss_set_maps_floats is 0. A single mae or mse term of
 * weight 1 writes exactly what ds_loss_forward_backward writes. */
ds_status ds_loss_set_forward_backward(ds_runtime *rt, const ds_loss_term *terms, int count,
                                       cl_mem dy, cl_mem y, cl_mem t, unsigned n, unsigned h,
                                       unsigned w, unsigned c, cl_mem maps, cl_mem partials,
                                       cl_mem out, unsigned slot, ds_error *err);
double ds_loss_set_reference(const ds_loss_term *terms, int count, float *dy, const float *y,
                             const float *t, unsigned n, unsigned h, unsigned w, unsigned c);

/* Per-pixel loss weights m ([pixels] floats, broadcast over c channels):
 * ym = m y, tm = m t before the terms, dy *= m after them. */
ds_status ds_loss_weights_apply(ds_runtime *rt, cl_mem ym, cl_mem tm, cl_mem y, cl_mem t, cl_mem m,
                                size_t pixels, unsigned c, ds_error *err);
ds_status ds_loss_weights_gradient(ds_runtime *rt, cl_mem dy, cl_mem m, size_t pixels, unsigned c,
                                   ds_error *err);
void ds_loss_weights_apply_reference(float *ym, float *tm, const float *y, const float *t,
                                     const float *m, size_t pixels, unsigned c);
void ds_loss_weights_gradient_reference(float *dy, const float *m, size_t pixels, unsigned c);

#endif
