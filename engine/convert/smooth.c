#include "engine/convert/smooth.h"

#include <math.h>
#include <string.h>

#include "engine/detect/align.h"

void ds_smoother_init(ds_smoother *s, float strength) {
  memset(s, 0, sizeof *s);
  s->strength = strength < 0 ? 0 : strength > 0.95f ? 0.95f : strength;
}

void ds_smoother_reset(ds_smoother *s) { s->count = 0; }

static float iou(const float a[4], const float b[4]) {
  const float iw = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
  const float ih = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const float inter = iw * ih;
  const float ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return ua > 0 ? inter / ua : 0;
}

void ds_smoother_apply(ds_smoother *s, ds_face_record *faces, int count, int size, int padding) {
  int matched[DS_SMOOTH_MAX_TRACKS] = {0};
  int track_of[DS_SMOOTH_MAX_TRACKS];
  const int n = count < DS_SMOOTH_MAX_TRACKS ? count : DS_SMOOTH_MAX_TRACKS;
  /* greedy matching by overlap, each track to one face */
  for (int i = 0; i < n; i++) {
    int best = -1;
    float best_iou = 0.3f;
    for (int t = 0; t < s->count; t++) {
      const float v = iou(faces[i].box, s->track[t].box);
      if (!matched[t] && v > best_iou) best = t, best_iou = v;
    }
    track_of[i] = best;
    if (best >= 0) matched[best] = 1;
  }
  for (int i = 0; i < n; i++) {
    const int t = track_of[i];
    if (t < 0 || s->strength <= 0) continue;
    float(*tl)[2] = s->track[t].landmarks;
    float(*fl)[2] = faces[i].landmarks;
    double d = 0;
    for (int p = 0; p < DS_FACE_LANDMARKS; p++)
      d += hypot(fl[p][0] - tl[p][0], fl[p][1] - tl[p][1]);
    const float width = fmaxf(faces[i].box[2] - faces[i].box[0], 1.0f);
    const float rel = (float)(d / DS_FACE_LANDMARKS) / width / 0.02f;
    const float alpha = s->strength / (1.0f + rel * rel);
    for (int p = 0; p < DS_FACE_LANDMARKS; p++)
      for (int c = 0; c < 2; c++)
        fl[p][c] = alpha * tl[p][c] + (1.0f - alpha) * fl[p][c];
    ds_align_matrix(faces[i].landmarks, size, padding, faces[i].matrix);
  }
  /* the tracks are now this frame's faces; unmatched old ones end */
  s->count = n;
  for (int i = 0; i < n; i++) {
    memcpy(s->track[i].box, faces[i].box, sizeof faces[i].box);
    memcpy(s->track[i].landmarks, faces[i].landmarks, sizeof faces[i].landmarks);
  }
}

int ds_shot_detector_next(ds_shot_detector *d, const ds_image *frame) {
  enum { T = DS_SHOT_THUMB };
  float thumb[T * T];
  const int c = frame->channels;
  for (int ty = 0; ty < T; ty++)
    for (int tx = 0; tx < T; tx++) {
      const int x0 = tx * frame->width / T, x1 = (tx + 1) * frame->width / T;
      const int y0 = ty * frame->height / T, y1 = (ty + 1) * frame->height / T;
      double sum = 0;
      long n = 0;
      /* a sparse grid of samples is enough to see a cut */
      const int sx = (x1 - x0) / 4 + 1, sy = (y1 - y0) / 4 + 1;
      for (int y = y0; y < y1; y += sy)
        for (int x = x0; x < x1; x += sx) {
          const uint8_t *p = frame->data + ((size_t)y * frame->width + x) * c;
          sum += c >= 3 ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
          n++;
        }
      thumb[ty * T + tx] = n ? (float)(sum / n) : 0;
    }
  int cut = 0;
  if (d->has_previous) {
    double diff = 0;
    for (int i = 0; i < T * T; i++)
      diff += fabsf(thumb[i] - d->thumb[i]);
    cut = diff / (T * T) > 40.0;
  }
  memcpy(d->thumb, thumb, sizeof thumb);
  d->has_previous = 1;
  return cut;
}
