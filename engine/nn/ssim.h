/* SSIM-family losses over NHWC images in [0, 1], each channel on its own:
 * an 11 x 11 Gaussian window of sigma 1.5 at every 'valid' position,
 * C1 = 0.01^2, C2 = 0.03^2 (Wang et al. 2004; tf.image.ssim's settings).
 *   ssim:    weight * (1 - SSIM) / 2 (DSSIM), SSIM the mean over positions.
 *   ms_ssim: weight * (1 - MS-SSIM) / 2, MS-SSIM (Wang et al. 2003) the mean
 *            over images and channels of prod_j m_j^w_j, m_j the mean cs map
 *            at scale j (S at the last), scales halved by 2 x 2 average
 *            pooling while the image keeps >= 11 pixels a side: 64 px gives
 *            3 scales (64, 32, 16), weighted 0.0448, 0.2856, 0.3001 (the
 *            standard five's first three) renormalised to sum 1; means below
 *            1e-6 are held there (pytorch_msssim's relu, made positive).
 * The maths of the passes is in cl/nn/ssim.cl. */
#ifndef DS_ENGINE_NN_SSIM_H
#define DS_ENGINE_NN_SSIM_H

#include <CL/cl.h>
#include <stddef.h>

#include "engine/nn/loss_kind.h"
#include "host/runtime.h"

/* Window positions (the SSIM mean is over them) and the floats of the
 * maps buffer; images need h, w >= DS_SSIM_WINDOW. */
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

/* The scales MS-SSIM uses at h x w (1 when the image holds one window), and
 * its weights into wts (DS_MS_SSIM_MAX_SCALES of room). */
int ds_ms_ssim_scales(unsigned h, unsigned w, float *wts);
size_t ds_ms_ssim_maps_floats(unsigned n, unsigned h, unsigned w, unsigned c);
/* As ds_ssim_forward_backward; the loss is scale * s + offset with
 * ds_ms_ssim_loss_affine. */
ds_status ds_ms_ssim_forward_backward(ds_runtime *rt, float weight, int accumulate, cl_mem dy,
                                      cl_mem y, cl_mem t, unsigned n, unsigned h, unsigned w,
                                      unsigned c, cl_mem maps, cl_mem partials, unsigned off,
                                      ds_error *err);
void ds_ms_ssim_loss_affine(float weight, unsigned n, unsigned c, float *scale, float *offset);

/* The same on the CPU in double, stored as float; return the loss. */
double ds_ssim_forward_backward_reference(float weight, int accumulate, float *dy, const float *y,
                                          const float *t, unsigned n, unsigned h, unsigned w,
                                          unsigned c);
double ds_ms_ssim_forward_backward_reference(float weight, int accumulate, float *dy,
                                             const float *y, const float *t, unsigned n, unsigned h,
                                             unsigned w, unsigned c);

#endif
