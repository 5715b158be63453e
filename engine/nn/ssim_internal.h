/* Pieces engine/nn/ssim.c and engine/nn/ms_ssim.c share: the kernel
 * launches with element offsets and the double-precision reference passes. */
#ifndef DS_ENGINE_NN_SSIM_INTERNAL_H
#define DS_ENGINE_NN_SSIM_INTERNAL_H

#include <CL/cl.h>

#include "host/runtime.h"

/* cl/nn/ssim.cl's ssim_forward / ssim_backward (see there for the maps). */
ds_status ssim_launch_forward(ds_runtime *rt, cl_mem maps, unsigned mo, cl_mem y, unsigned yo,
                              cl_mem t, unsigned to, unsigned n, unsigned h, unsigned w, unsigned c,
                              int cs_only, ds_error *err);
ds_status ssim_launch_backward(ds_runtime *rt, cl_mem dy, unsigned dyo, cl_mem maps, unsigned mo,
                               cl_mem y, unsigned yo, cl_mem t, unsigned to, unsigned n, unsigned h,
                               unsigned w, unsigned c, float scale, cl_mem factor, unsigned fo,
                               int use_factor, int accumulate, ds_error *err);

/* v, dm, dyy, dyt: four maps of [n, h - 10, w - 10, c] positions, V = S or
 * cs and its derivatives, in double. */
void ssim_maps_reference(double *v, double *dm, double *dyy, double *dyt, const double *y,
                         const double *t, unsigned n, unsigned h, unsigned w, unsigned c,
                         int cs_only);
/* grad += the window transpose of dL/dV = dldv[b c + ch] at each position. */
void ssim_backward_reference(double *grad, const double *dm, const double *dyy, const double *dyt,
                             const double *y, const double *t, unsigned n, unsigned h, unsigned w,
                             unsigned c, const double *dldv);

#endif
