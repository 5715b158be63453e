/* The convert stage's blend mask, as early faceswap's Convert_Masked built it
 * (../shared/reference/original-model.md §3.2): the face hull, the
 * re-projected model square, or both; or the hull with the brows lifted, or
 * the hull merged with the model's own learned mask (decoder.mask,
 * ds_mask_build_learned); then erosion (or dilation) with an elliptical
 * element and a box blur. ds_mask_build_guide gives each kind's Poisson
 * guide, which must cover what the mask adds over the hull.
 *
 * Everything works on a region of interest (ROI) of the frame: w x h pixels
 * whose top-left is frame pixel (x0, y0). Pixel centres sit at integer frame
 * coordinates, as in OpenCV. The mask is w * h floats in [0, 1], row-major.
 *
 * The kernels (cl/convert/mask.cl) and the C reference agree bit for bit:
 * the geometric tests use the same explicitly fused operations on both
 * sides, and after them every value is 0 or 1, so the erosion and the
 * blur's sums are exact integers (tests/test_mask.c). */
#ifndef DS_ENGINE_CONVERT_MASK_H
#define DS_ENGINE_CONVERT_MASK_H

#include <CL/cl.h>

#include "host/runtime.h"

typedef enum ds_mask_kind {
  DS_MASK_HULL,
  DS_MASK_RECT,
  DS_MASK_HULL_RECT,
  DS_MASK_HULL_BROWS,
  DS_MASK_LEARNED /* the model's mask (decoder.mask): ds_mask_build_learned */
} ds_mask_kind;

enum { DS_MASK_LANDMARKS = 68 };
#define DS_MASK_BROW_LIFT 0.6f

/* The landmarks hull-brows takes the hull of (see ds_mask_build). */
void ds_mask_lift_brows(const float in[68][2], float out[68][2]);

/* Builds the mask of one face into mask (w * h floats); tmp is device
 * scratch of w * h floats that the call overwrites.
 *
 * hull: the convex hull of the 68 landmarks (frame pixels) filled: a pixel
 *   is inside when its centre (x0 + x, y0 + y) lies inside or on the hull.
 *   cv2.fillConvexPoly(cv2.convexHull) fills these pixels and also those its
 *   edge lines pass through, whose centres lie up to 0.5 px outside: on 40
 *   random hulls of integer landmarks (about 7800 px each) cv2 had 91..171
 *   more pixels per hull and never one fewer (checked by hand, cv2 4.6).
 *   A hull of fewer than three vertices (all landmarks on one line) fills
 *   nothing.
 * rect: pixels whose centre face_mat (2x3: frame pixels -> model-input
 *   pixels) maps into [0, square) on both axes: the model's square warped
 *   back into the frame (Convert_Masked's 'Rect', without the bilinear
 *   half-covered rim).
 * hull-rect: the product of the two.
 * hull-brows: the hull with each brow landmark (17-26) lifted away from its
 *   eye's centroid by DS_MASK_BROW_LIFT times their distance, so the hull's
 *   top edge runs above the eyebrows instead of through them (the original
 *   brow points stay inside: each lies between its eye and its lifted point).
 *
 * Then erode by erode px: > 0 erosion with the elliptical element of
 * diameter erode that cv2.getStructuringElement(MORPH_ELLIPSE, (e, e))
 * makes, anchored at (e/2, e/2) as cv2.erode anchors it; < 0 dilation by
 * -erode with the same element (cv2.dilate); 0 none. Pixels outside the ROI
 * count as 0: erosion eats into a mask that touches the ROI's edge, dilation
 * gains nothing from outside. On a whole frame this is cv2's result whenever
 * the mask stays |erode| px clear of the ROI's edge; cv2 itself never erodes
 * from the image border. (Erosion, dilation and blur of the same binary mask
 * matched cv2.erode, cv2.dilate and cv2.blur with BORDER_REPLICATE to 6e-8,
 * the rounding of 1 / b^2, for e = -4..5 and b = 1..6, by hand.)
 *
 * Then a box blur of size blur (cv2.blur(mask, (b, b)): the mean of the b x b
 * window whose top-left is (x - b/2, y - b/2)); 0 or 1 none. The ROI's edge
 * is replicated. (cv2.blur defaults to BORDER_REFLECT_101; the two agree
 * wherever the mask is 0 within b/2 px of the ROI's edge.)
 *
 * Errors: DS_ERR_INVALID for sizes < 1, square < 1, erode or blur beyond
 * DS_MASK_MAX_KERNEL, a face_mat that is not finite, the kind learned (it
 * needs the model's mask: ds_mask_build_learned); what the kernels report. */
enum { DS_MASK_MAX_KERNEL = 1024 };

ds_status ds_mask_build(ds_runtime *rt, ds_mask_kind kind, const float landmarks[68][2],
                        const float face_mat[6], int square, int x0, int y0, int w, int h,
                        int erode, int blur, cl_mem tmp, cl_mem mask, ds_error *err);
/* The same on the host; arguments are assumed valid. */
void ds_mask_build_reference(ds_mask_kind kind, const float landmarks[68][2],
                             const float face_mat[6], int square, int x0, int y0, int w, int h,
                             int erode, int blur, float *mask);

/* learned: the mask a decoder.mask model draws beside its face (the
 * issue's "learned mask"; trained against the hull with the brows lifted,
 * engine/train/face_mask.h). A pixel is in when it is inside the plain
 * landmark hull (as hull), or when face_mat maps its centre to (u, v) in
 * [0, square) on both axes (as rect) and the model's mask there is >= 0.5.
 * So the hull always covers the landmark face, and the model adds what the
 * hull misses (the eyebrows, the forehead's edge), only where it draws.
 *
 * plane is the mask of this face, square x square floats row-major, at
 * float offset plane_off of the buffer (face j of ds_model_output_mask:
 * j * square * square). It is sampled bilinearly as face_unwarp
 * (cl/convert/face.cl) samples the face: taps at floor(u), floor(u) + 1
 * clamped to the square, weights u - floor(u); each lerp a + t (b - a) is
 * one explicit fma on both sides, so host and device agree bit for bit.
 * Then erode and blur as ds_mask_build. A plane of zeros gives hull; one of
 * ones gives the union of hull and rect. Errors as ds_mask_build's, and
 * DS_ERR_INVALID for a NULL plane (a model without decoder.mask). */
ds_status ds_mask_build_learned(ds_runtime *rt, const float landmarks[68][2],
                                const float face_mat[6], int square, cl_mem plane, size_t plane_off,
                                int x0, int y0, int w, int h, int erode, int blur, cl_mem tmp,
                                cl_mem mask, ds_error *err);
/* The same on the host; plane points at this face's square x square floats. */
void ds_mask_build_learned_reference(const float landmarks[68][2], const float face_mat[6],
                                     int square, const float *plane, int x0, int y0, int w, int h,
                                     int erode, int blur, float *mask);

/* The guide of a mask kind: where convert's colour match takes its
 * statistics and the Poisson blend the generated face's gradients (outside
 * it, the frame's). It is the generated face's square inset by square / 32
 * on each side (a decoder's border pixels are its least trained, and
 * Poisson guidance would carry their edge into the frame), and within it:
 *   rect: everything; hull, hull-rect: the hull (a hull reaches below the
 *   square, at the jaw, where guidance must come from the frame);
 *   hull-brows: the lifted hull; learned: the learned mask's binary rule
 *   (with face_mat's own square, not the inset one).
 * Where the mask adds the brows the guide must too, or the solve takes the
 * frame's gradients there and the generated brows never show. Then erode
 * (no blur). plane and plane_off as ds_mask_build_learned, used by learned
 * only (NULL otherwise). Errors as ds_mask_build's. */
ds_status ds_mask_build_guide(ds_runtime *rt, ds_mask_kind kind, const float landmarks[68][2],
                              const float face_mat[6], int square, cl_mem plane, size_t plane_off,
                              int x0, int y0, int w, int h, int erode, cl_mem tmp, cl_mem guide,
                              ds_error *err);
void ds_mask_build_guide_reference(ds_mask_kind kind, const float landmarks[68][2],
                                   const float face_mat[6], int square, const float *plane, int x0,
                                   int y0, int w, int h, int erode, float *guide);

/* The convex hull of n points (Andrew's monotone chain), without repeated or
 * collinear vertices, into hull (room for n points). Order: starting at the
 * point of least x (least y among ties), every turn a -> b -> c has
 * (b - a) x (c - b) > 0: counter-clockwise with the y axis up, which is
 * clockwise as seen on an image whose y axis points down. A point p is then
 * inside or on the hull when (b - a) x (p - a) >= 0 for every edge a -> b.
 * Returns the vertex count (0 for n = 0; 1 or 2 when the points coincide or
 * lie on one line). */
int ds_convex_hull(const float (*pts)[2], int n, float (*hull)[2]);

/* The elliptical structuring element of diameter e (1..DS_MASK_MAX_KERNEL),
 * one run per row: row i (offset dy = i - e/2 from the anchor) holds the
 * column offsets lo[i]..hi[i] (inclusive), as
 * cv2.getStructuringElement(MORPH_ELLIPSE, (e, e)) draws it. Checked against
 * cv2 4.6 for e = 1..15 by hand. */
void ds_ellipse_runs(int e, int *lo, int *hi);

/* "hull", "rect", "hull-rect", "hull-brows", "learned" */
const char *ds_mask_kind_name(ds_mask_kind k);
int ds_mask_kind_parse(const char *s, ds_mask_kind *out); /* 1 on success */

#endif
