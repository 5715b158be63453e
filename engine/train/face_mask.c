/* Face-area loss weights: drawn from the landmarks on the host, augmented on
 * the device with the faces' own parameters. */
#include "engine/train/face_mask.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/convert/mask.h"
#include "engine/detect/alignments.h"
#include "host/buffer.h"
#include "host/program.h"

const ds_face_weights ds_face_mask_target = {0.0f, 0.0f, 0.0f, 1, "decoder.mask"};

float ds_face_weights_max(const ds_face_weights *w) {
  float m = 1.0f;
  if (w->background > m) m = w->background;
  if (w->eyes > m) m = w->eyes;
  if (w->mouth > m) m = w->mouth;
  return m;
}

/* The hull of landmarks [from, to) grown by grow about their centroid. */
static int region(const float lm[68][2], int from, int to, float grow, float (*hull)[2]) {
  float pts[68][2], cx = 0, cy = 0;
  const int n = to - from;
  for (int i = from; i < to; i++)
    cx += lm[i][0] / (float)n, cy += lm[i][1] / (float)n;
  for (int i = 0; i < n; i++) {
    pts[i][0] = cx + grow * (lm[from + i][0] - cx);
    pts[i][1] = cy + grow * (lm[from + i][1] - cy);
  }
  return ds_convex_hull((const float(*)[2])pts, n, hull);
}

static int inside(const float (*hull)[2], int n, float x, float y) {
  if (n < 3) return 0;
  for (int i = 0; i < n; i++) {
    const float *a = hull[i], *b = hull[(i + 1) % n];
    if ((b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]) < 0) return 0;
  }
  return 1;
}

void ds_face_weights_draw(const float lm[68][2], int size, const ds_face_weights *w, float *out) {
  float face[68][2], eye_r[68][2], eye_l[68][2], mouth[68][2], lifted[68][2];
  if (w->lift_brows) ds_mask_lift_brows(lm, lifted);
  const int nf = ds_convex_hull(w->lift_brows ? (const float(*)[2])lifted : lm, 68, face);
  /* dlib's 68: 36-41 and 42-47 the eyes, 48-59 the outer lips */
  const int nr = region(lm, 36, 42, DS_FACE_EYE_GROW, eye_r);
  const int nl = region(lm, 42, 48, DS_FACE_EYE_GROW, eye_l);
  const int nm = region(lm, 48, 60, DS_FACE_MOUTH_GROW, mouth);
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++) {
      const float fx = (float)x, fy = (float)y;
      float v = inside((const float(*)[2])face, nf, fx, fy) ? 1.0f : w->background;
      if (inside((const float(*)[2])eye_r, nr, fx, fy) ||
          inside((const float(*)[2])eye_l, nl, fx, fy))
        v = fmaxf(v, w->eyes);
      if (inside((const float(*)[2])mouth, nm, fx, fy)) v = fmaxf(v, w->mouth);
      out[(size_t)y * size + x] = v;
    }
}

static const ds_face_record *find_face(const ds_alignments *a, const char *file) {
  for (int s = 0; s < a->source_count; s++)
    for (int f = 0; f < a->sources[s].frame_len; f++) {
      const ds_frame_record *fr = &a->sources[s].frames[f];
      for (int k = 0; k < fr->face_count; k++)
        if (strcmp(fr->faces[k].file, file) == 0) return &fr->faces[k];
    }
  return NULL;
}

ds_status ds_face_masks_load(const ds_dataset *d, const ds_face_weights *w, uint8_t **levels,
                             ds_error *err) {
  char path[4096];
  *levels = NULL;
  snprintf(path, sizeof path, "%s/alignments.json", d->dir);
  const char *key = w->key ? w->key : "train.face_area";
  ds_alignments a;
  ds_status st = ds_alignments_load(path, &a, err);
  if (st == DS_ERR_NOT_FOUND)
    return ds_error_set(err, st,
                        "%s needs the landmarks in %s, which is missing; run dsengine extract "
                        "into %s, or drop %s from the config",
                        key, path, d->dir, key);
  if (st != DS_OK) return st;
  const int S = d->face_size;
  const size_t plane = (size_t)S * S;
  uint8_t *out = malloc((size_t)d->count * plane);
  float *map = malloc(plane * sizeof *map);
  if (!out || !map) {
    free(out), free(map), ds_alignments_free(&a);
    return ds_error_set(err, DS_ERR_NO_MEMORY, "no memory for the %s maps of %s", key, d->dir);
  }
  const float top = ds_face_weights_max(w), k = (float)S / (float)a.size;
  for (int i = 0; i < d->count && st == DS_OK; i++) {
    const char *slash = strrchr(d->paths[i], '/'), *name = slash ? slash + 1 : d->paths[i];
    const ds_face_record *f = find_face(&a, name);
    if (!f) {
      st = ds_error_set(err, DS_ERR_INVALID,
                        "%s lists no face %s, so %s has no landmarks for it; run dsengine "
                        "extract into %s again, or drop %s",
                        path, name, key, d->dir, key);
      break;
    }
    float lm[68][2];
    const float *m = f->matrix;
    for (int j = 0; j < 68; j++) {
      const float x = f->landmarks[j][0], y = f->landmarks[j][1];
      lm[j][0] = k * (m[0] * x + m[1] * y + m[2]);
      lm[j][1] = k * (m[3] * x + m[4] * y + m[5]);
    }
    ds_face_weights_draw((const float(*)[2])lm, S, w, map);
    for (size_t p = 0; p < plane; p++)
      out[(size_t)i * plane + p] = (uint8_t)lrintf(map[p] / top * 255.0f);
  }
  free(map);
  ds_alignments_free(&a);
  if (st != DS_OK) {
    free(out);
    return st;
  }
  *levels = out;
  return DS_OK;
}

ds_status ds_face_masks_augment(ds_runtime *rt, cl_mem levels, float scale, int face_size, int n,
                                int out_size, const ds_augment_workspace *ws, cl_mem inter,
                                cl_mem target, ds_error *err) {
  cl_kernel k;
  cl_int s = face_size, out = out_size;
  cl_float sc = scale;
  cl_uint total = (cl_uint)((size_t)n * face_size * face_size);
  size_t local = rt->profile->elementwise_local_size, global = total;
  ds_status st = ds_kernel_get(rt, "image/face_mask", NULL, "mask_transform", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 6, DS_ARG(levels), DS_ARG(ws->params), DS_ARG(inter), DS_ARG(s),
                        DS_ARG(sc), DS_ARG(total));
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &global, &local, err);
  total = (cl_uint)((size_t)n * out_size * out_size);
  global = total;
  if (st == DS_OK) st = ds_kernel_get(rt, "image/face_mask", NULL, "mask_target", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 6, DS_ARG(inter), DS_ARG(ws->params), DS_ARG(target), DS_ARG(s),
                        DS_ARG(out), DS_ARG(total));
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 1, &global, &local, err);
  return st;
}

ds_status ds_face_mask_set_create(ds_runtime *rt, const ds_dataset *sets, int ids,
                                  const ds_face_weights *w, int batch, int out_size,
                                  ds_face_mask_set *set, ds_error *err) {
  memset(set, 0, sizeof *set);
  set->ids = ids;
  set->face_size = sets[0].face_size;
  set->out_size = out_size;
  set->batch = batch;
  set->scale = ds_face_weights_max(w) / 255.0f;
  ds_status st = DS_OK;
  for (int i = 0; i < ids && st == DS_OK; i++) {
    uint8_t *levels = NULL;
    st = ds_face_masks_load(&sets[i], w, &levels, err);
    const size_t bytes = (size_t)sets[i].count * set->face_size * set->face_size;
    if (st == DS_OK)
      st = ds_buffer_create(rt, bytes, CL_MEM_READ_ONLY, "face-area weights", &set->levels[i], err);
    if (st == DS_OK) st = ds_buffer_write(rt, set->levels[i], 0, bytes, levels, err);
    free(levels);
  }
  const size_t inter = (size_t)batch * set->face_size * set->face_size * sizeof(float);
  const size_t target = (size_t)batch * out_size * out_size * sizeof(float);
  if (st == DS_OK)
    st = ds_buffer_create(rt, inter, CL_MEM_READ_WRITE, "face-area scratch", &set->inter, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, target, CL_MEM_READ_WRITE, "face-area targets", &set->target, err);
  if (st != DS_OK) ds_face_mask_set_destroy(set);
  return st;
}

ds_status ds_face_mask_set_batch(ds_runtime *rt, ds_face_mask_set *set, int id, int n,
                                 const ds_augment_workspace *ws, ds_error *err) {
  return ds_face_masks_augment(rt, set->levels[id], set->scale, set->face_size, n, set->out_size,
                               ws, set->inter, set->target, err);
}

void ds_face_mask_set_destroy(ds_face_mask_set *set) {
  for (int i = 0; i < DS_MAX_IDENTITIES; i++)
    ds_buffer_release(&set->levels[i]);
  ds_buffer_release(&set->inter);
  ds_buffer_release(&set->target);
  memset(set, 0, sizeof *set);
}
