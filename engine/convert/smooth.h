/* Temporal smoothing of landmarks for convert. Landmarks found frame by frame
 * jitter by a pixel or two; a swap drawn from them shimmers (the "flashes" of
 * frame-independent swaps). Each face is tracked across frames (box overlap)
 * and its landmarks pass a causal filter: an exponential average whose weight
 * on the past shrinks as the face moves, so still faces are steadied and
 * moving ones are not dragged behind:
 *
 *   d     = mean distance between the new landmarks and the track's, over the box width
 *   alpha = strength / (1 + (d / 0.02)^2)
 *   track = alpha * track + (1 - alpha) * new
 *
 * A track ends when its face is not found in a frame; ds_smoother_reset ends
 * all of them (a shot cut, see ds_shot_detector). */
#ifndef DS_ENGINE_CONVERT_SMOOTH_H
#define DS_ENGINE_CONVERT_SMOOTH_H

#include <stdint.h>

#include "engine/detect/alignments.h"
#include "engine/media/image.h"

enum { DS_SMOOTH_MAX_TRACKS = 16, DS_SHOT_THUMB = 16 };

typedef struct ds_smoother {
  float strength; /* 0 (off) .. 0.95 */
  int count;
  struct {
    float box[4];
    float landmarks[DS_FACE_LANDMARKS][2];
  } track[DS_SMOOTH_MAX_TRACKS];
} ds_smoother;

void ds_smoother_init(ds_smoother *s, float strength);
void ds_smoother_reset(ds_smoother *s);
/* Smooths the landmarks of one frame's faces in place and recomputes each
 * face's matrix for aligned faces of size x size with padding. */
void ds_smoother_apply(ds_smoother *s, ds_face_record *faces, int count, int size, int padding);

/* Shot cuts: the mean absolute difference of 16x16 grey thumbnails of
 * consecutive frames above 40 levels (of 255). */
typedef struct ds_shot_detector {
  int has_previous;
  float thumb[DS_SHOT_THUMB * DS_SHOT_THUMB];
} ds_shot_detector;

/* 1 when frame starts a new shot (never for the first frame). */
int ds_shot_detector_next(ds_shot_detector *d, const ds_image *frame);

#endif
