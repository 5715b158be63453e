/* Synthetic faces the way the engine sees real ones: landmarks in the
 * engine's pixel convention and faces aligned as `dsengine extract` aligns
 * them (engine/detect/align.h). The synthetic layout of synth_face.h is not
 * the aligned layout: ds_align_matrix maps a nominal synthetic face of size S
 * to an aligned face of size S zoomed by about 1.22 (mouth open) to 1.30
 * (closed) and moved up about 0.2 S, so a model trained on plain renders
 * would see a different crop at convert time than in training. */
#ifndef DS_TESTS_SYNTH_ALIGN_H
#define DS_TESTS_SYNTH_ALIGN_H

#include <stdint.h>

#include "synth/synth_face.h"

/* ds_synth_face_landmarks puts the centre of the top-left pixel at (0.5,
 * 0.5); dlib, the alignment matrix and the warp put it at (0, 0). Moves xy
 * from the first convention to the second. */
void ds_synth_landmarks_to_pixel_centres(float xy[68][2]);

/* The face p as `dsengine extract` would save it: drawn on a canvas with a
 * margin, then warped by ds_align_matrix(its own landmarks, size, padding) to
 * size x size RGB in rgb. The pose of p (rotation, scale, shift) is undone by the alignment, so the
 * result depends on the identity and the expression alone, up to resampling. aligned_xy, when not
 * NULL, receives the landmarks in aligned pixels (pixel centres at integers).
 * Returns 0, or -1 when memory runs out. */
int ds_synth_face_render_aligned(const ds_synth_params *p, int size, int padding, uint8_t *rgb,
                                 float aligned_xy[68][2]);

#endif
