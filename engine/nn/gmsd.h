/* GMSD loss (Xue et al. 2014, "Gradient magnitude similarity deviation"):
 * weight * the mean over images and channels of the standard deviation of
 * the gradient magnitude similarity map, Prewitt gradients over the 'valid'
 * 3 x 3 positions, K = 0.0026 (the paper's 170 for 8-bit data, scaled to
 * [0, 1]). The maths is in cl/nn/gmsd.cl. */
#ifndef DS_ENGINE_NN_GMSD_H
#define DS_ENGINE_NN_GMSD_H

#include <CL/cl.h>
#include <stddef.h>

#include "host/runtime.h"

/* Floats of the maps buffer; images need h, w >= 3. */
size_t ds_gmsd_maps_floats(unsigned n, unsigned h, unsigned w, unsigned c);

/* dy = (accumulate ? dy : 0) + dL/dy. partials[off, off + DS_LOSS_PARTIALS)
 * get sums whose total s gives the loss as scale * s (ds_gmsd_loss_scale). */
ds_status ds_gmsd_forward_backward(ds_runtime *rt, float weight, int accumulate, cl_mem dy,
                                   cl_mem y, cl_mem t, unsigned n, unsigned h, unsigned w,
                                   unsigned c, cl_mem maps, cl_mem partials, unsigned off,
                                   ds_error *err);
float ds_gmsd_loss_scale(float weight, unsigned n, unsigned c);

/* The same on the CPU in double, stored as float; returns the loss. */
double ds_gmsd_forward_backward_reference(float weight, int accumulate, float *dy, const float *y,
                                          const float *t, unsigned n, unsigned h, unsigned w,
                                          unsigned c);

#endif
