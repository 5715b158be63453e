/* Training-data augmentation on the device, the original faceswap
 * random_transform followed by random_warp (deepfakes/faceswap@22f22d9b
 * image_augmentation.py; ../shared/reference/original-model.md §2.2).
 *
 * Per sample, from an aligned face of face_size² pixels:
 *  1. random_transform: the face, as float in [0, 1] (the original divided
 *     the uint8 images by 255 before augmenting, so it ran in float64 and
 *     never rounded to uint8), is resampled by warpAffine with p.transform,
 *     bilinear, BORDER_REPLICATE, face_size² out, then mirrored left-right
 *     when p.flip: the intermediate.
 *  2. warped (the network input): cv2.remap of the intermediate with the
 *     5×5 control points p.grid_x/p.grid_y resized (cv2.resize, bilinear,
 *     half-pixel centres) to 1.25·out and cropped to [out/8, 9·out/8),
 *     bilinear, BORDER_CONSTANT 0.
 *  3. target: warpAffine of the intermediate with p.target to out²,
 *     bilinear, BORDER_CONSTANT 0.
 * Outputs are float32 [n][out][out][3]. Channel order is whatever the faces
 * hold; every channel is treated alike.
 *
 * Kept from the original: even without noise, warped is not target. The
 * resized grid puts output pixel x at grid position (x + 0.5)·4/out, the
 * Umeyama target at x·4/out, so warped sits half an output pixel (1.25 face
 * px at 256 -> 64) right of and below target.
 *
 * Sampling follows cv2's geometry exactly (integer coordinates are pixel
 * centres; warpAffine samples the source at the inverse-mapped output pixel)
 * but with exact float coordinates, where cv2 rounds every source coordinate
 * to 1/32 pixel (INTER_BITS = 5). tests/test_augment.c measures what that
 * costs against cv2 itself. */
#ifndef DS_ENGINE_TRAIN_AUGMENT_H
#define DS_ENGINE_TRAIN_AUGMENT_H

#include <CL/cl.h>
#include <stdint.h>

#include "engine/tensor/umeyama.h"
#include "engine/train/rng.h"
#include "host/runtime.h"

typedef struct ds_augment_config {
  float rotation; /* degrees: uniform in ±rotation */
  float zoom;     /* scale uniform in 1 ± zoom */
  float shift;    /* translation uniform in ±shift · face_size, per axis */
  float flip;     /* probability of a left-right mirror */
  int warp;       /* 0: control points without noise */
} ds_augment_config;

/* The original's defaults: 10°, 5 %, 5 %, 0.4, warp on. */
ds_augment_config ds_augment_config_default(void);

typedef struct ds_augment_params {
  /* 2×3, face (source) pixel -> transformed pixel: cv2.getRotationMatrix2D(
   * (face//2, face//2), angle, scale) with (tx, ty) added to the last column */
  float transform[6];
  int flip;
  /* control point (row r, column c) at index 5r + c, in face pixels: the
   * grid over the coverage (160/256 of the face, centred) plus noise */
  float grid_x[25], grid_y[25];
  /* 2×3 Umeyama similarity, control points -> output grid {0, out/4, ..., out}² */
  float target[6];
} ds_augment_params;

/* Builds a sample's parameters from its random values, as the original does:
 * noise_x/noise_y (25 each, row-major; NULL for none) are added to the grid.
 * face_size > 0; out_size a positive multiple of 8. */
void ds_augment_params_make(double rotation, double scale, double tx, double ty, int flip,
                            const double *noise_x, const double *noise_y, int face_size,
                            int out_size, ds_augment_params *p);

/* Draws one sample's parameters in the original's order: rotation, scale,
 * tx, ty, the flip uniform, then (when cfg->warp) 25 normal noises for x and
 * 25 for y, σ = 5·face_size/256 pixels. Without warp no noise is drawn. At
 * face 256 -> out 64 the grid is linspace(48, 208, 5), as in the original;
 * other sizes scale the grid and σ with face_size/256. */
void ds_augment_draw(ds_rng *rng, const ds_augment_config *cfg, int face_size, int out_size,
                     ds_augment_params *p);

/* Device buffers for ds_augment_batch: the intermediate (float32
 * [max_n][face][face][3]) and the per-sample parameters. Zero it before the
 * first create. */
typedef struct ds_augment_workspace {
  cl_mem intermediate, params;
  int max_n, face_size;
  float *host_params; /* staging for one batch's parameter upload */
} ds_augment_workspace;

/* Creates ws for batches of up to max_n faces of face_size², or grows it;
 * a workspace that is already big enough is left as it is. On failure ws is
 * left empty (zeroed). */
ds_status ds_augment_workspace_create(ds_runtime *rt, int max_n, int face_size,
                                      ds_augment_workspace *ws, ds_error *err);
/* Releases and zeroes ws; a zeroed ws is fine. */
void ds_augment_workspace_destroy(ds_augment_workspace *ws);

/* Augments n samples: sample i reads face face_index[i] of faces (uint8
 * [face_count][face_size][face_size][3]) with params[i] and writes
 * warped[i] and target[i] (float32 [n][out_size][out_size][3], in [0, 1]).
 * Enqueues two kernels after one parameter upload; does not wait for them. */
ds_status ds_augment_batch(ds_runtime *rt, cl_mem faces, int face_size, const int *face_index,
                           const ds_augment_params *params, int n, int out_size, cl_mem warped,
                           cl_mem target, ds_augment_workspace *ws, ds_error *err);

/* The same maths on the host for one face (uint8 [face_size][face_size][3]);
 * the device computes the same operations in the same order, so the two
 * agree to rounding. */
void ds_augment_reference(const uint8_t *face, int face_size, const ds_augment_params *p,
                          int out_size, float *warped, float *target);

#endif
