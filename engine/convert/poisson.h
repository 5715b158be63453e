/* Poisson (seamless-clone) blending of a source patch into a destination
 * region on the device, as OpenCV's seamlessClone with NORMAL_CLONE computes
 * it (../shared/reference/opencl-notes.md §3): over a w x h region the outer
 * one-pixel ring is a Dirichlet boundary equal to dst, and inside it f solves
 * the 5-point Poisson equation lap f = div g, where the guidance g is the
 * forward-difference gradient of src at pixels whose mask is > 0.5 and of dst
 * elsewhere, and div takes backward differences. (seamlessClone itself also
 * takes the region from the mask's bounding box, erodes the mask three times
 * by a 3x3 square and truncates to 8 bits: bench/README.md, "blend".)
 *
 * Method (Hockney's FFT + tridiagonal solver). With f = dst + u the unknown u
 * is 0 on the ring and lap u = r, where r = div(m grad(src - dst)) is zero
 * away from the mask. A DST-I along one axis of the interior (the "line" axis,
 * Nt points) diagonalises the second difference along it, leaving for every
 * frequency k an exact tridiagonal system along the other axis,
 *   u_k(s-1) + (2 cos(pi k / (Nt + 1)) - 4) u_k(s) + u_k(s+1) = r_k(s),
 * which Gaussian elimination solves (diagonally dominant, so stable without
 * pivoting); the same DST scaled by 2 / (Nt + 1) transforms back. This is the
 * 2D DST solve with the second DST replaced by its exact equivalent, so only
 * one axis needs an FFT-friendly length and there is no transpose.
 *
 * The DST-I of length N is the imaginary part of a real-to-complex clFFT of
 * length 2(N + 1) of the odd extension (-2 S_k = Im X_k), so it is fast when
 * N + 1 factors into 2, 3, 5 and 7. The line axis is x when w - 1 does, else
 * y when h - 1 does; when neither does, the DST along x runs as a chirp-z
 * (Bluestein) convolution through complex clFFTs of a 7-smooth length
 * >= 2(w - 2) - 1, which is also exact but 2-4 times slower. So every w, h is
 * solved exactly, never on a padded domain; ds_poisson_good_size tells a
 * caller that may grow its region which sizes take the fast path (a region a
 * pixel larger only moves the boundary a pixel further from the mask).
 *
 * Everything runs on rt's queue without a host round trip: three kernels
 * (right-hand side packed into the transform rows, the tridiagonal sweep that
 * also packs the inverse transform's rows, the final sum), two clFFT
 * transforms, and for the chirp-z path one pointwise product per transform. */
#ifndef DS_ENGINE_CONVERT_POISSON_H
#define DS_ENGINE_CONVERT_POISSON_H

#include <CL/cl.h>

#include "host/runtime.h"

/* clFFT set-up, per region size the baked plans, tables and a layout, and the
 * scratch buffers. One per runtime, used from one host thread. */
typedef struct ds_poisson ds_poisson;

/* Sets clFFT up on first use in the process (reference counted across
 * ds_poisson objects and threads). Plans are baked lazily by the first blend
 * of each size: 2-8 s per size on a cold PoCL kernel cache, ~30 ms warm. */
ds_status ds_poisson_create(ds_runtime *rt, ds_poisson **out, ds_error *err);
/* Releases plans and buffers; tears clFFT down when the last one goes. Safe
 * on NULL. */
void ds_poisson_destroy(ds_poisson *p);

/* Smallest size >= n (n >= 3) whose interior n - 2 gives a DST of FFT length
 * 2(n - 1) that factors into 2, 3, 5 and 7: the sizes the solve is fastest at. */
int ds_poisson_good_size(int n);

/* Which path ds_poisson_blend takes for a w x h region (for tests and
 * benchmarks). */
typedef enum ds_poisson_path {
  DS_POISSON_DST_X,      /* w - 1 is 7-smooth: real FFT along rows */
  DS_POISSON_DST_Y,      /* only h - 1 is: real FFT along columns */
  DS_POISSON_BLUESTEIN_X /* neither: chirp-z DST along rows */
} ds_poisson_path;
ds_poisson_path ds_poisson_path_for(int w, int h);

/* OpenCV seamlessClone NORMAL_CLONE over a w x h region (w, h >= 3). src, dst:
 * device float RGB interleaved, w*h*3, values 0..255; mask: device float w*h,
 * a pixel selects the gradients of src when mask > 0.5 (OpenCV's binary
 * mask). out: float w*h*3, must not be one of the inputs; its ring equals dst
 * and its interior is the exact solution, not clamped (float32 rounding
 * aside: within 1e-3 of a float64 solve for 0..255 inputs in the tests). The work is enqueued on
 * rt's queue; the call returns without waiting for it. The first call of a size bakes its clFFT
 * plans. */
ds_status ds_poisson_blend(ds_poisson *p, cl_mem src, cl_mem dst, cl_mem mask, int w, int h,
                           cl_mem out, ds_error *err);

/* Plain-C reference, independent of the DST: builds the guidance field and
 * its divergence exactly as stated above and solves the Dirichlet problem for
 * f by conjugate gradients on the 5-point Laplacian, in double, to a relative
 * residual of 1e-12. */
void ds_poisson_blend_reference(const float *src, const float *dst, const float *mask, int w, int h,
                                float *out);

#endif
