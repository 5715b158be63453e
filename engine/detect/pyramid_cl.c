/* Host side of cl/detect/pyramid.cl. The recurrences below are those of
 * ds_hog_resize_bilinear (engine/detect/hog_pyramid.c), which stays the
 * reference: keep the two in step. */
#include "engine/detect/pyramid_cl.h"

#include <math.h>
#include <stdlib.h>

#include "host/buffer.h"
#include "host/program.h"

static int grow(void **items, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t cap2 = *cap ? *cap : 1024;
  while (cap2 < need)
    cap2 *= 2;
  void *p = realloc(*items, cap2 * size);
  if (!p) return -1;
  *items = p;
  *cap = cap2;
  return 0;
}

ds_status ds_resize_plan_add(ds_resize_plan *p, int in_width, int in_height, int out_width,
                             int out_height, ds_resize_step *step, ds_error *err) {
  const size_t n = (size_t)2 * out_height + out_width, nd = (size_t)out_height + out_width;
  if (grow((void **)&p->ints, &p->cap_int, p->n + n, sizeof *p->ints) ||
      grow((void **)&p->floats, &p->cap_float, p->n + n, sizeof *p->floats) ||
      grow((void **)&p->doubles, &p->cap_double, p->n_double + nd, sizeof *p->doubles))
    return ds_error_set(err, DS_ERR_NO_MEMORY, "image pyramid: cannot allocate resize tables");
  *step = (ds_resize_step){in_width, in_height, out_width, out_height, 0, p->n, p->n_double};
  int *ti = p->ints + p->n;
  float *tf = p->floats + p->n;
  double *td = p->doubles + p->n_double;
  const double x_scale = (in_width - 1) / (double)(out_width - 1 > 1 ? out_width - 1 : 1);
  const double y_scale = (in_height - 1) / (double)(out_height - 1 > 1 ? out_height - 1 : 1);
  double y = -y_scale;
  for (int r = 0; r < out_height; r++) {
    y += y_scale;
    const long top = (long)floor(y);
    ti[2 * r] = (int)top;
    ti[2 * r + 1] = (int)(top + 1 < in_height - 1 ? top + 1 : in_height - 1);
    td[r] = y - top;
    tf[2 * r] = (float)td[r];
    tf[2 * r + 1] = (float)(1 - td[r]);
  }
  int *left = ti + 2 * out_height;
  float *lr = tf + 2 * out_height;
  double *lr_double = td + out_height;
  /* the 4-wide float path, while a whole block stays inside the image */
  const double x0 = -4 * x_scale;
  const float f_step = (float)(4 * x_scale);
  float xs[4] = {(float)x0, (float)(x0 + x_scale), (float)(x0 + 2 * x_scale),
                 (float)(x0 + 3 * x_scale)};
  int c = 0;
  for (;; c += 4) {
    int l[4];
    for (int k = 0; k < 4; k++) {
      xs[k] += f_step;
      l[k] = (int)xs[k];
    }
    if (l[3] + 1 >= in_width) break;
    for (int k = 0; k < 4; k++) {
      left[c + k] = l[k];
      lr[c + k] = xs[k] - (float)l[k];
      lr_double[c + k] = 0;
    }
  }
  step->simd_cols = c;
  /* the scalar tail, in double */
  double x = -x_scale + c * x_scale;
  for (; c < out_width; c++) {
    x += x_scale;
    const long l = (long)floor(x);
    left[c] = (int)l;
    lr_double[c] = x - l;
    lr[c] = (float)(x - l);
  }
  p->n += n;
  p->n_double += nd;
  return DS_OK;
}

void ds_resize_plan_clear(ds_resize_plan *p) { p->n = p->n_double = 0; }

ds_status ds_resize_plan_upload(ds_runtime *rt, ds_resize_plan *p, ds_error *err) {
  if (p->n == 0) return DS_OK;
  ds_status st = ds_buffer_ensure(rt, &p->ints_cl, &p->ints_bytes, p->n * sizeof(cl_int),
                                  "resize positions", err);
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &p->floats_cl, &p->floats_bytes, p->n * sizeof(cl_float),
                          "resize weights", err);
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &p->doubles_cl, &p->doubles_bytes, p->n_double * sizeof(cl_double),
                          "resize weights (double)", err);
  if (st == DS_OK)
    st = ds_buffer_write_async(rt, p->ints_cl, 0, p->n * sizeof(cl_int), p->ints, err);
  if (st == DS_OK)
    st = ds_buffer_write_async(rt, p->floats_cl, 0, p->n * sizeof(cl_float), p->floats, err);
  if (st == DS_OK)
    st = ds_buffer_write_async(rt, p->doubles_cl, 0, p->n_double * sizeof(cl_double), p->doubles,
                               err);
  return st;
}

ds_status ds_resize_cl(ds_runtime *rt, const ds_resize_plan *p, const ds_resize_step *s,
                       int channels, ds_fhog_image in, ds_fhog_image out, ds_error *err) {
  cl_kernel k;
  const cl_int in_w = s->in_width, out_w = s->out_width, out_h = s->out_height;
  const cl_int simd = s->simd_cols, row_at = (cl_int)s->at, col_at = (cl_int)(s->at + 2 * out_h);
  const cl_int drow_at = (cl_int)s->at_double, dcol_at = (cl_int)(s->at_double + out_h);
  const cl_ulong in_off = in.offset, out_off = out.offset;
  const cl_int in_pitch = (cl_int)in.pitch, out_pitch = (cl_int)out.pitch;
  static const size_t local[2] = {16, 4}, one[2] = {1, 1};
  ds_status st;
  if (channels == 1) { /* 8 x 16 pixels per work-item, explicitly vectorised */
    const size_t global[2] = {((size_t)out_w + 127) / 128, (size_t)out_h};
    st = ds_kernel_get(rt, "detect/pyramid", NULL, "pyramid_resize_grey", &k, err);
    if (st == DS_OK)
      st = ds_kernel_args(k, err, 16, DS_ARG(out.mem), DS_ARG(in.mem), DS_ARG(p->ints_cl),
                          DS_ARG(p->floats_cl), DS_ARG(p->doubles_cl), DS_ARG(in_off),
                          DS_ARG(in_pitch), DS_ARG(out_off), DS_ARG(out_pitch), DS_ARG(in_w),
                          DS_ARG(out_w), DS_ARG(out_h), DS_ARG(simd), DS_ARG(row_at),
                          DS_ARG(col_at), DS_ARG(drow_at));
    if (st == DS_OK)
      st = ds_kernel_launch(rt, k, 2, global, rt->profile->simd_width > 1 ? local : one, err);
    return st;
  }
  const size_t global[2] = {(size_t)out_w, (size_t)out_h};
  st = ds_kernel_get(rt, "detect/pyramid", NULL, "pyramid_resize_rgb", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 17, DS_ARG(out.mem), DS_ARG(in.mem), DS_ARG(p->ints_cl),
                        DS_ARG(p->floats_cl), DS_ARG(p->doubles_cl), DS_ARG(in_off),
                        DS_ARG(in_pitch), DS_ARG(out_off), DS_ARG(out_pitch), DS_ARG(in_w),
                        DS_ARG(out_w), DS_ARG(out_h), DS_ARG(simd), DS_ARG(row_at), DS_ARG(col_at),
                        DS_ARG(drow_at), DS_ARG(dcol_at));
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  return st;
}

void ds_resize_plan_free(ds_resize_plan *p) {
  free(p->ints);
  free(p->floats);
  free(p->doubles);
  ds_buffer_release(&p->ints_cl);
  ds_buffer_release(&p->floats_cl);
  ds_buffer_release(&p->doubles_cl);
  *p = (ds_resize_plan){0};
}
