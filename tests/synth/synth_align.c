#include "synth/synth_align.h"

#include <stdlib.h>

#include "engine/detect/align.h"

void ds_synth_landmarks_to_pixel_centres(float xy[68][2]) {
  for (int k = 0; k < 68; k++) {
    xy[k][0] -= 0.5f;
    xy[k][1] -= 0.5f;
  }
}

int ds_synth_face_render_aligned(const ds_synth_params *p, int size, int padding, uint8_t *rgb,
                                 float aligned_xy[68][2]) {
  /* The aligned crop reaches up to about 0.05 size past the plain render's
   * edge under the pose jitter of ds_synth_params_random: draw the same
   * face, in the same pixels, on a canvas with a quarter of size on each side. */
  const int canvas = size + size / 2;
  const float k = (float)size / (float)canvas;
  uint8_t *big = malloc((size_t)canvas * canvas * 3);
  if (!big) return -1;
  ds_synth_params q = *p;
  q.scale = p->scale * k;
  q.shift_x = p->shift_x * k;
  q.shift_y = p->shift_y * k;
  ds_synth_face_render(&q, canvas, big);
  float xy[68][2], mat[6];
  ds_synth_face_landmarks(&q, canvas, xy);
  ds_synth_landmarks_to_pixel_centres(xy);
  ds_align_matrix(xy, size, padding, mat);
  ds_warp_affine_rgb8_reference(big, canvas, canvas, rgb, size, size, mat);
  free(big);
  if (aligned_xy)
    for (int i = 0; i < 68; i++) {
      float x = xy[i][0], y = xy[i][1];
      aligned_xy[i][0] = mat[0] * x + mat[1] * y + mat[2];
      aligned_xy[i][1] = mat[3] * x + mat[4] * y + mat[5];
    }
  return 0;
}
