/* dlib's non-max suppression of the detector's windows (object_detector.h,
 * box_overlap_testing.h) and their mapping back through the upsampling. */
#include <stdlib.h>

#include "engine/detect/hog_detector.h"
#include "engine/detect/hog_detector_internal.h"

static int by_score(const void *a, const void *b) {
  const ds_hog_candidate *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static double area(ds_hog_box a) {
  long w = a.r - a.l + 1, h = a.b - a.t + 1;
  return (w > 0 && h > 0) ? (double)w * (double)h : 0;
}

/* dlib's test_box_overlap: "IoU" divides by the area of the bounding box of
 * both rectangles (rectangle operator+), not of their union. */
static int boxes_overlap(const ds_hog_detector *d, ds_hog_box a, ds_hog_box b) {
  ds_hog_box in = {a.l > b.l ? a.l : b.l, a.t > b.t ? a.t : b.t, a.r < b.r ? a.r : b.r,
                   a.b < b.b ? a.b : b.b};
  const double inner = area(in);
  if (inner == 0) return 0;
  ds_hog_box hull = {a.l < b.l ? a.l : b.l, a.t < b.t ? a.t : b.t, a.r > b.r ? a.r : b.r,
                     a.b > b.b ? a.b : b.b};
  return inner / area(hull) > d->iou_thresh || inner / area(a) > d->covered_thresh ||
         inner / area(b) > d->covered_thresh;
}

ds_status ds_hog_suppress(const ds_hog_detector *d, ds_hog_candidates *cands, int upsample,
                          int width, int height, ds_detection **dets, int *count, ds_error *err) {
  *dets = NULL;
  *count = 0;
  if (cands->n == 0) return DS_OK;
  qsort(cands->items, cands->n, sizeof *cands->items, by_score);
  /* Non-max suppression over all filters together (object_detector's own
   * overlaps_any_box ignores weight_index), best first. */
  ds_detection *kept = malloc(cands->n * sizeof *kept);
  ds_hog_box *kept_box = malloc(cands->n * sizeof *kept_box);
  if (!kept || !kept_box) {
    free(kept);
    free(kept_box);
    return ds_hog_no_memory(err, width, height);
  }
  int n = 0;
  for (size_t i = 0; i < cands->n; i++) {
    const ds_hog_candidate *c = &cands->items[i];
    int suppressed = 0;
    for (int j = 0; j < n && !suppressed; j++)
      suppressed = boxes_overlap(d, kept_box[j], c->rect);
    if (suppressed) continue;
    kept_box[n] = c->rect;
    /* Map back through the upsampling: pyramid_down<2>::point_down is
     * p / 2 - (1.25, 0.75), applied `upsample` times, then rounded. */
    double l = (double)c->rect.l, t = (double)c->rect.t, r = (double)c->rect.r,
           b = (double)c->rect.b;
    for (int u = 0; u < upsample; u++) {
      l = l / 2.0 - 1.25;
      r = r / 2.0 - 1.25;
      t = t / 2.0 - 0.75;
      b = b / 2.0 - 0.75;
    }
    kept[n].left = (float)ds_hog_round_half_up(l);
    kept[n].top = (float)ds_hog_round_half_up(t);
    kept[n].right = (float)ds_hog_round_half_up(r);
    kept[n].bottom = (float)ds_hog_round_half_up(b);
    kept[n].score = c->score;
    kept[n].weight_index = c->weight_index;
    n++;
  }
  free(kept_box);
  *dets = kept;
  *count = n;
  return DS_OK;
}
