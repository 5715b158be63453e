/* Reconstruction losses over every element of a batch: MAE = mean |y - t|
 * (the original's), MSE = mean (y - t)^2. One pass writes dL/dy and the loss. */
#ifndef DS_ENGINE_NN_LOSS_H
#define DS_ENGINE_NN_LOSS_H

#include <CL/cl.h>
#include <stddef.h>

#include "host/runtime.h"

typedef enum ds_loss { DS_LOSS_KIND_MAE = 0, DS_LOSS_KIND_MSE = 1 } ds_loss;

enum { DS_LOSS_PARTIALS = 256 };

/* partials: a device buffer of DS_LOSS_PARTIALS floats. *loss may be NULL to
 * skip the read-back (the gradient is still written). */
ds_status ds_loss_forward_backward(ds_runtime *rt, ds_loss kind, cl_mem dy, cl_mem y, cl_mem t,
                                   size_t n, cl_mem partials, double *loss, ds_error *err);
double ds_loss_forward_backward_reference(ds_loss kind, float *dy, const float *y, const float *t,
                                          size_t n);

#endif
