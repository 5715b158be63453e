/* Similarity fitting between 2-D point sets: training augmentation (the
 * random warp's target) and face alignment (landmarks to the mean face). */
#ifndef DS_ENGINE_TENSOR_UMEYAMA_H
#define DS_ENGINE_TENSOR_UMEYAMA_H

/* Least-squares similarity (rotation, uniform scale, translation; no
 * reflection) taking the n 2-D points src_xy (x0, y0, x1, y1, ...) onto
 * dst_xy: Umeyama, "Least-squares estimation of transformation parameters
 * between two point patterns", PAMI 1991, eqs. (38)-(42), with scale, as
 * skimage's _umeyama(src, dst, True)[0:2]. out is the 2×3 matrix
 * [s·R | t], dst ≈ s·R·src + t, computed in double. In 2-D the SVD reduces
 * to a closed form: with A = cov(dst, src), R is the rotation by
 * atan2(A10 - A01, A00 + A11) and s = hypot(A00 + A11, A10 - A01) / var(src).
 * If every source point is the same (or A is zero) there is no answer and
 * out is NaN, as skimage returns NaN. */
void ds_umeyama2d(const float *src_xy, const float *dst_xy, int n, float out[6]);

#endif
