#include "engine/detect/face_finder.h"

#include <stdlib.h>

#include "engine/detect/align.h"
#include "engine/detect/hog_detector.h"
#include "engine/detect/hog_scan_cl.h"
#include "engine/detect/shape_predictor.h"

struct ds_face_finder {
  ds_face_finder_options opt;
  ds_hog_detector *detector;
  ds_shape_predictor *landmarks;
  ds_hog_cl_workspace ws; /* the device detector's buffers, with opt.rt */
};

ds_status ds_face_finder_create(const ds_face_finder_options *opt, ds_face_finder **out,
                                ds_error *err) {
  *out = NULL;
  ds_face_finder *f = calloc(1, sizeof *f);
  if (!f) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  f->opt = *opt;
  ds_status st = ds_hog_detector_load(opt->detector_path, &f->detector, err);
  if (st == DS_OK) st = ds_shape_predictor_load(opt->landmarks_path, &f->landmarks, err);
  if (st != DS_OK) {
    ds_face_finder_destroy(f);
    return st;
  }
  *out = f;
  return DS_OK;
}

void ds_face_finder_destroy(ds_face_finder *f) {
  if (!f) return;
  ds_hog_cl_workspace_release(&f->ws);
  ds_shape_predictor_free(f->landmarks);
  ds_hog_detector_free(f->detector);
  free(f);
}

ds_status ds_face_finder_run(ds_face_finder *f, const ds_image *frame, ds_face_record **faces,
                             int *count, ds_error *err) {
  ds_detection *dets = NULL;
  int n = 0;
  *faces = NULL;
  *count = 0;
  ds_status st =
      f->opt.rt ? ds_hog_detect_cl_ws(f->opt.rt, &f->ws, f->detector, frame->data, frame->width,
                                      frame->height, 3, f->opt.upsample, 0.0, &dets, &n, err)
                : ds_hog_detect(f->detector, frame->data, frame->width, frame->height, 3,
                                f->opt.upsample, 0.0, &dets, &n, err);
  if (st != DS_OK) return st;
  int keep = 0, best = -1;
  double best_area = -1;
  for (int i = 0; i < n; i++) {
    const double w = dets[i].right - dets[i].left + 1, h = dets[i].bottom - dets[i].top + 1;
    if (w < f->opt.min_size || h < f->opt.min_size) continue;
    dets[keep++] = dets[i];
    if (w * h > best_area) best_area = w * h, best = keep - 1;
  }
  if (f->opt.largest && keep > 1) {
    dets[0] = dets[best];
    keep = 1;
  }
  ds_face_record *out = keep ? calloc((size_t)keep, sizeof *out) : NULL;
  if (keep && !out) st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  for (int i = 0; st == DS_OK && i < keep; i++) {
    ds_face_record *r = &out[i];
    r->box[0] = dets[i].left, r->box[1] = dets[i].top;
    r->box[2] = dets[i].right, r->box[3] = dets[i].bottom;
    r->score = dets[i].score;
    st = ds_shape_predictor_run(f->landmarks, frame->data, frame->width, frame->height, 3, r->box,
                                r->landmarks, err);
    if (st == DS_OK) ds_align_matrix(r->landmarks, f->opt.size, f->opt.padding, r->matrix);
  }
  free(dets);
  if (st != DS_OK) {
    free(out);
    return st;
  }
  *faces = out;
  *count = keep;
  return DS_OK;
}
