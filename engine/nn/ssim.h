/* DSSIM loss, weight * (1 - SSIM) / 2, over NHWC images in [0, 1]: an 11 x 11
 * Gaussian window of sigma 1.5 at every 'valid' position of each channel,
 * C1 = 0.01^2, C2 = 0.03^2 (Wang et al. 2004; tf.image.ssim's settings).
 * The maths of the forward and backward passes is in cl/nn/ssim.cl. */
#ifndef DS_ENGINE_NN_SSIM_H
#define DS_ENGINE_NN_SSIM_H

#include <CL/cl.h>
#include <stddef.h>

#include "host/runtime.h"

enum { DS_SSIM_WINDOW = 11 };

/* Window positions (the mean is over them) and the floats of the maps
 * buffer; images need h, w >= DS_SSIM_WINDOW. */
size_t ds_ssim_positions(unsigned n, unsigned h, unsigned w, unsigned c);
size_t ds_ssim_maps_floats(unsigned n, unsigned h, unsigned w, unsigned c);

/* dy = (accumulate ? dy : 0) + dL/dy. partials[off, off + DS_LOSS_PARTIALS)
 * get sums of S whose total s gives the loss as scale * s + offset
 * (ds_ssim_loss_affine). maps: ds_ssim_maps_floats floats of scratch. */
ds_status ds_ssim_forward_backward(ds_runtime *rt, float weight, int accumulate, cl_mem dy,
                                   cl_mem y, cl_mem t, unsigned n, unsigned h, unsigned w,
                                   unsigned c, cl_mem maps, cl_mem partials, unsigned off,
                                   ds_error *err);
void ds_ssim_loss_affine(float weight, unsigned n, unsigned h, unsigned w, unsigned c, float *scale,
                         float *offset);

/* The same on the CPU in double, stored as float; returns the loss. */
double ds_ssim_forward_backward_reference(float weight, int accumulate, float *dy, const float *y,
                                          const float *t, unsigned n, unsigned h, unsigned w,
                                          unsigned c);

#endif
