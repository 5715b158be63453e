/* Reconstruction losses: the elementwise terms MAE = mean |y - t| (the
 * original's) and MSE = mean (y - t)^2, each writing dL/dy and partial sums
 * in one pass, and the device reduction every term's partial sums go
 * through (cl/nn/loss.cl). The structural terms are engine/nn/ssim.h and
 * engine/nn/gmsd.h; engine/nn/loss_set.h combines them as a config asks. */
#ifndef DS_ENGINE_NN_LOSS_H
#define DS_ENGINE_NN_LOSS_H

#include <CL/cl.h>
#include <stddef.h>

#include "engine/nn/loss_kind.h"
#include "host/runtime.h"

enum { DS_LOSS_PARTIALS = 256 };

/* The original's call: one MAE or MSE term of weight 1 overwriting dy.
 * partials: a device buffer of DS_LOSS_PARTIALS floats. *loss may be NULL
 * to skip the read-back (the gradient is still written); otherwise the
 * partials are reduced on the device and one float is read. */
ds_status ds_loss_forward_backward(ds_runtime *rt, ds_loss kind, cl_mem dy, cl_mem y, cl_mem t,
                                   size_t n, cl_mem partials, double *loss, ds_error *err);
double ds_loss_forward_backward_reference(ds_loss kind, float *dy, const float *y, const float *t,
                                          size_t n);

/* weight * MAE or MSE over n elements: dy = (accumulate ? dy : 0) + the
 * gradient; partials[off, off + DS_LOSS_PARTIALS) get sums whose total
 * times weight / n is the term's loss. */
ds_status ds_loss_elementwise(ds_runtime *rt, ds_loss kind, float weight, int accumulate, cl_mem dy,
                              cl_mem y, cl_mem t, size_t n, cl_mem partials, unsigned off,
                              ds_error *err);
double ds_loss_elementwise_reference(ds_loss kind, float weight, int accumulate, float *dy,
                                     const float *y, const float *t, size_t n);

/* partials[off + g] = sum of x[x_off + g + k DS_LOSS_PARTIALS] over k. */
ds_status ds_loss_partial_sums(ds_runtime *rt, cl_mem partials, unsigned off, cl_mem x,
                               size_t x_off, size_t n, ds_error *err);

/* out[slot] = sum over terms k < count (<= DS_MAX_LOSS_TERMS) of
 * scale[k] * (sum of partials[k DS_LOSS_PARTIALS, (k + 1) DS_LOSS_PARTIALS))
 * + offset[k], on the device, in a fixed order. */
ds_status ds_loss_reduce(ds_runtime *rt, cl_mem out, unsigned slot, cl_mem partials, int count,
                         const float *scale, const float *offset, ds_error *err);

#endif
