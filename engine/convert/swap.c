/* The device half of convert (engine/convert/swap.h). */
#include "engine/convert/swap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/convert/face_io.h"
#include "engine/convert/poisson.h"
#include "engine/detect/align.h"
#include "engine/util/report.h"
#include "host/buffer.h"

enum { MAX_FRAMES = 64 };

struct ds_swapper {
  ds_runtime *rt;
  ds_model *m;
  int identity;
  ds_swap_options opt;
  ds_poisson *poisson;
  ds_color_workspace color_ws;
  ds_swap_timing *timing;
  cl_mem frames[MAX_FRAMES];
  size_t frame_bytes[MAX_FRAMES];
  cl_mem old, face, blended, mask, guide, tmp;
  size_t roi_pixels;
};

ds_status ds_swapper_create(ds_runtime *rt, ds_model *m, int identity, const ds_swap_options *o,
                            ds_swapper **out, ds_error *err) {
  *out = NULL;
  ds_swapper *s = calloc(1, sizeof *s);
  if (!s) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  s->rt = rt;
  s->m = m;
  s->identity = identity;
  s->opt = *o;
  if (o->mask == DS_MASK_LEARNED && !ds_model_output_mask(m)) {
    free(s);
    return ds_error_set(err, DS_ERR_INVALID,
                        "--mask learned: model '%s' has no learned mask; train a config with "
                        "\"decoder\": {\"mask\": true}, or use --mask hull or hull-brows",
                        m->cfg.name);
  }
  ds_status st = o->poisson ? ds_poisson_create(rt, &s->poisson, err) : DS_OK;
  if (st != DS_OK) {
    ds_swapper_destroy(s);
    return st;
  }
  *out = s;
  return DS_OK;
}

static void release_roi(ds_swapper *s) {
  ds_buffer_release(&s->old);
  ds_buffer_release(&s->face);
  ds_buffer_release(&s->blended);
  ds_buffer_release(&s->mask);
  ds_buffer_release(&s->guide);
  ds_buffer_release(&s->tmp);
  s->roi_pixels = 0;
}

void ds_swapper_destroy(ds_swapper *s) {
  if (!s) return;
  for (int i = 0; i < MAX_FRAMES; i++)
    ds_buffer_release(&s->frames[i]);
  release_roi(s);
  ds_color_workspace_release(&s->color_ws);
  ds_poisson_destroy(s->poisson);
  free(s);
}

void ds_swapper_set_timing(ds_swapper *s, ds_swap_timing *t) { s->timing = t; }

static ds_status ensure_roi(ds_swapper *s, size_t pixels, ds_error *err) {
  if (pixels <= s->roi_pixels) return DS_OK;
  release_roi(s);
  ds_status st =
      ds_buffer_create(s->rt, pixels * 12, CL_MEM_READ_WRITE, "face region", &s->old, err);
  if (st == DS_OK)
    st = ds_buffer_create(s->rt, pixels * 12, CL_MEM_READ_WRITE, "face region", &s->face, err);
  if (st == DS_OK)
    st = ds_buffer_create(s->rt, pixels * 12, CL_MEM_READ_WRITE, "face region", &s->blended, err);
  if (st == DS_OK)
    st = ds_buffer_create(s->rt, pixels * 4, CL_MEM_READ_WRITE, "face mask", &s->mask, err);
  if (st == DS_OK)
    st = ds_buffer_create(s->rt, pixels * 4, CL_MEM_READ_WRITE, "face mask", &s->guide, err);
  if (st == DS_OK)
    st = ds_buffer_create(s->rt, pixels * 4, CL_MEM_READ_WRITE, "face mask", &s->tmp, err);
  if (st == DS_OK) s->roi_pixels = pixels;
  return st;
}

static void extend(float box[4], float x, float y) {
  box[0] = fminf(box[0], x), box[1] = fminf(box[1], y);
  box[2] = fmaxf(box[2], x), box[3] = fmaxf(box[3], y);
}

/* The region sizes a Poisson solve grows to: 2^k (1, 1.25, 1.5, 1.75) + 1,
 * all fast solver sizes (ds_poisson_good_size), and few enough that a face
 * changing size from frame to frame reuses a handful of baked FFT plans. */
static int ladder_size(int n) {
  for (int base = 16;; base *= 2)
    for (int q = 4; q < 8; q++) {
      const int size = base * q / 4 + 1;
      if (size >= n) return size;
    }
}

/* Grows [*lo, *lo + *len) to a ladder size inside [0, limit). */
static void grow(int *lo, int *len, int limit) {
  const int want = ladder_size(*len);
  if (want > limit) return; /* the solver pads what the frame cannot hold */
  int start = *lo - (want - *len) / 2;
  if (start + want > limit) start = limit - want;
  if (start < 0) start = 0;
  *lo = start;
  *len = want;
}

int ds_swap_roi(const float landmarks[68][2], const float face_mat[6], int square, int margin,
                int fw, int fh, int poisson, int roi[4]) {
  float inv[6], box[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
  if (!ds_affine_invert(face_mat, inv)) return 0;
  const float corner[4][2] = {{-0.5f, -0.5f},
                              {square - 0.5f, -0.5f},
                              {-0.5f, square - 0.5f},
                              {square - 0.5f, square - 0.5f}};
  for (int i = 0; i < 4; i++)
    extend(box, inv[0] * corner[i][0] + inv[1] * corner[i][1] + inv[2],
           inv[3] * corner[i][0] + inv[4] * corner[i][1] + inv[5]);
  for (int i = 0; i < 68; i++)
    extend(box, landmarks[i][0], landmarks[i][1]);
  if (!isfinite(box[0]) || !isfinite(box[1]) || !isfinite(box[2]) || !isfinite(box[3])) return 0;
  const double x0 = fmax(floor(box[0]) - margin, 0), y0 = fmax(floor(box[1]) - margin, 0);
  const double x1 = fmin(ceil(box[2]) + margin + 1, fw), y1 = fmin(ceil(box[3]) + margin + 1, fh);
  if (x1 - x0 < 3 || y1 - y0 < 3) return 0;
  roi[0] = (int)x0, roi[1] = (int)y0, roi[2] = (int)(x1 - x0), roi[3] = (int)(y1 - y0);
  if (poisson) {
    grow(&roi[0], &roi[2], fw);
    grow(&roi[1], &roi[3], fh);
  }
  return 1;
}

static ds_status stage_end(ds_swapper *s, double *acc, double *t0, ds_error *err) {
  if (!s->timing) return DS_OK;
  ds_status st = ds_runtime_finish(s->rt, err);
  const double t = ds_now_s();
  *acc += t - *t0;
  *t0 = t;
  return st;
}

typedef struct face_ref {
  int frame;
  const ds_face_record *rec;
  float mat[6]; /* frame -> model input pixels */
} face_ref;

/* Blends face j of the batch (model output slot j) into its frame. */
static ds_status blend_face(ds_swapper *s, const ds_image *frame, cl_mem fbuf, const face_ref *f,
                            int j, int *drawn, ds_error *err) {
  const int S = s->m->cfg.input_size;
  const int margin = (s->opt.erode < 0 ? -s->opt.erode : 0) + s->opt.blur + 4;
  int roi[4];
  if (!ds_swap_roi(f->rec->landmarks, f->mat, S, margin, frame->width, frame->height,
                   s->opt.poisson, roi))
    return DS_OK;
  const int x0 = roi[0], y0 = roi[1], w = roi[2], h = roi[3];
  ds_status st = ensure_roi(s, (size_t)w * h, err);
  const size_t face_off = (size_t)j * S * S * 3, plane_off = (size_t)j * S * S;
  cl_mem plane = ds_model_output_mask(s->m);
  if (st == DS_OK) st = ds_roi_load(s->rt, s->old, fbuf, frame->width, x0, y0, w, h, err);
  if (st == DS_OK)
    st = ds_face_unwarp(s->rt, s->face, ds_model_output(s->m), face_off, s->old, S, f->mat, x0, y0,
                        w, h, err);
  /* The mask says where the result shows; the guide, where the generated
   * face exists and the mask wants it (ds_mask_build_guide). */
  if (st == DS_OK && s->opt.mask == DS_MASK_LEARNED)
    st = ds_mask_build_learned(s->rt, f->rec->landmarks, f->mat, S, plane, plane_off, x0, y0, w, h,
                               s->opt.erode, s->opt.blur, s->tmp, s->mask, err);
  else if (st == DS_OK)
    st = ds_mask_build(s->rt, s->opt.mask, f->rec->landmarks, f->mat, S, x0, y0, w, h, s->opt.erode,
                       s->opt.blur, s->tmp, s->mask, err);
  if (st == DS_OK)
    st = ds_mask_build_guide(s->rt, s->opt.mask, f->rec->landmarks, f->mat, S, plane, plane_off, x0,
                             y0, w, h, s->opt.erode, s->tmp, s->guide, err);
  if (st == DS_OK)
    st = ds_color_match_ws(s->rt, &s->color_ws, s->opt.color, s->face, s->old, s->guide, w, h, err);
  cl_mem result = s->face;
  if (st == DS_OK && s->opt.poisson) {
    st = ds_poisson_blend(s->poisson, s->face, s->old, s->guide, w, h, s->blended, err);
    result = s->blended;
  }
  if (st == DS_OK)
    st = ds_roi_compose(s->rt, fbuf, frame->width, result, s->old, s->mask, x0, y0, w, h, err);
  if (st == DS_OK) (*drawn)++;
  return st;
}

static ds_status run_chunk(ds_swapper *s, ds_image *frames, const face_ref *refs, int n,
                           int *swapped, ds_error *err) {
  const int S = s->m->cfg.input_size;
  double t0 = ds_now_s();
  ds_status st = DS_OK;
  for (int j = 0; st == DS_OK && j < n; j++) {
    const ds_image *fr = &frames[refs[j].frame];
    st = ds_face_input(s->rt, s->m->act[0], (size_t)j * S * S * 3, s->frames[refs[j].frame],
                       fr->width, fr->height, S, refs[j].mat, err);
  }
  if (st == DS_OK) st = ds_model_forward(s->m, s->identity, NULL, (unsigned)n, err);
  if (st == DS_OK && s->timing) st = stage_end(s, &s->timing->infer, &t0, err);
  for (int j = 0; st == DS_OK && j < n; j++)
    st = blend_face(s, &frames[refs[j].frame], s->frames[refs[j].frame], &refs[j], j, swapped, err);
  if (st == DS_OK && s->timing) st = stage_end(s, &s->timing->blend, &t0, err);
  return st;
}

ds_status ds_swapper_run(ds_swapper *s, ds_image *frames, ds_face_record *const *faces,
                         const int *counts, int n, int *swapped, ds_error *err) {
  *swapped = 0;
  if (n > MAX_FRAMES)
    return ds_error_set(err, DS_ERR_INVALID, "at most %d frames per swap batch", MAX_FRAMES);
  const int S = s->m->cfg.input_size, batch = (int)s->m->batch;
  double t0 = ds_now_s();
  ds_status st = DS_OK;
  for (int f = 0; st == DS_OK && f < n; f++) {
    if (!counts[f]) continue;
    const size_t bytes = (size_t)frames[f].width * frames[f].height * 3;
    st = ds_buffer_ensure(s->rt, &s->frames[f], &s->frame_bytes[f], bytes, "video frame", err);
    if (st == DS_OK) st = ds_buffer_write(s->rt, s->frames[f], 0, bytes, frames[f].data, err);
  }
  if (st == DS_OK && s->timing) st = stage_end(s, &s->timing->upload, &t0, err);

  face_ref *refs = malloc((size_t)batch * sizeof *refs);
  if (!refs && st == DS_OK) st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  int queued = 0;
  for (int f = 0; st == DS_OK && f < n; f++)
    for (int k = 0; st == DS_OK && k < counts[f]; k++) {
      refs[queued].frame = f;
      refs[queued].rec = &faces[f][k];
      ds_align_matrix(faces[f][k].landmarks, S, 0, refs[queued].mat);
      if (++queued == batch) {
        st = run_chunk(s, frames, refs, queued, swapped, err);
        queued = 0;
      }
    }
  if (st == DS_OK && queued) st = run_chunk(s, frames, refs, queued, swapped, err);
  free(refs);
  if (s->timing) t0 = ds_now_s();
  for (int f = 0; st == DS_OK && f < n; f++)
    if (counts[f])
      st = ds_buffer_read(s->rt, s->frames[f], 0, (size_t)frames[f].width * frames[f].height * 3,
                          frames[f].data, err);
  if (st == DS_OK && s->timing) st = stage_end(s, &s->timing->download, &t0, err);
  return st;
}
