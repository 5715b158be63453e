/* Face alignment as the original (../shared/reference/original-model.md §2.1):
 * a similarity from the 51 non-jaw landmarks (17..67) onto the mean face in
 * the unit square (Umeyama, with scale), scaled to the face size less the
 * padding on each side, so the mean-face square maps to the central
 * (size - 2 padding) pixels: 48..208 of a 256 px face by default. */
#ifndef DS_ENGINE_DETECT_ALIGN_H
#define DS_ENGINE_DETECT_ALIGN_H

#include <CL/cl.h>
#include <stdint.h>

#include "host/runtime.h"

enum { DS_ALIGN_SIZE = 256, DS_ALIGN_PADDING = 48, DS_MEAN_FACE_POINTS = 51 };

/* The original's landmarks_2D: x then y of dlib points 17..67 in [0, 1]. */
extern const float ds_mean_face[DS_MEAN_FACE_POINTS][2];

/* The 2x3 matrix taking frame pixels to the aligned face of size x size
 * pixels (Extract_Align.transform: mat * (size - 2 padding), then + padding
 * on the translation). */
void ds_align_matrix(const float landmarks[68][2], int size, int padding, float mat[6]);

/* inv = m^-1 for a 2x3 affine; returns 0 when m is singular. */
int ds_affine_invert(const float m[6], float inv[6]);

/* dst[y][x] = the bilinear sample of src at mat^-1 (x, y), RGB8, as
 * cv2.warpAffine(src, mat, (dst_w, dst_h)) with INTER_LINEAR and
 * BORDER_CONSTANT 0: pixel centres at integer coordinates, neighbours outside
 * the image count as black, results rounded to nearest. */
ds_status ds_warp_affine_rgb8(ds_runtime *rt, cl_mem src, int w, int h, cl_mem dst, int dst_w,
                              int dst_h, const float mat[6], ds_error *err);
void ds_warp_affine_rgb8_reference(const uint8_t *src, int w, int h, uint8_t *dst, int dst_w,
                                   int dst_h, const float mat[6]);

#endif
