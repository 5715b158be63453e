#include "engine/nn/ops.h"

#include <math.h>
#include <stdint.h>

#include "engine/nn/act.h"
#include "host/program.h"

ds_status ds_launch_elementwise(ds_runtime *rt, cl_kernel k, size_t n, ds_error *err) {
  size_t local = rt->profile->elementwise_local_size;
  return ds_kernel_launch(rt, k, 1, &n, &local, err);
}

float ds_act_reference(ds_act act, float x) {
  if (act == DS_ACT_LRELU) return x > 0.0f ? x : DS_LRELU_SLOPE * x;
  if (act == DS_ACT_SIGMOID) return 1.0f / (1.0f + expf(-x));
  return x;
}

ds_status ds_act_backward(ds_runtime *rt, cl_mem dz, cl_mem dy, cl_mem y, ds_act act, size_t n,
                          ds_error *err) {
  cl_kernel k;
  cl_uint a = (cl_uint)act, n32 = (cl_uint)n;
  ds_status st = ds_kernel_get(rt, "nn/layers", NULL, "act_backward", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof dz, &dz, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof dy, &dy, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 2, sizeof y, &y, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 3, sizeof a, &a, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 4, sizeof n32, &n32, err);
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, n, err);
  return st;
}

void ds_act_backward_reference(float *dz, const float *dy, const float *y, ds_act act, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float d = dy[i];
    if (act == DS_ACT_LRELU)
      d *= y[i] > 0.0f ? 1.0f : DS_LRELU_SLOPE;
    else if (act == DS_ACT_SIGMOID)
      d *= y[i] * (1.0f - y[i]);
    dz[i] = d;
  }
}

ds_status ds_bias_grad(ds_runtime *rt, cl_mem db, size_t db_off, cl_mem dz, unsigned rows,
                       unsigned c, ds_error *err) {
  return ds_bias_grad_ws(rt, db, db_off, dz, rows, c, NULL, 0, err);
}

/* Parts of the parallel bias gradient: about 64 Ki work-items in all, each
 * summing at least 32 rows, within the scratch's ws_floats. */
static unsigned bias_parts(unsigned rows, unsigned c, size_t ws_floats, unsigned *chunk) {
  size_t parts = (65536 + c - 1) / c;
  const size_t most = (rows + 31) / 32;
  if (parts > most) parts = most;
  if (parts > ws_floats / (c ? c : 1)) parts = ws_floats / (c ? c : 1);
  if (parts < 2) return 0;
  *chunk = (unsigned)((rows + parts - 1) / parts);
  return (rows + *chunk - 1) / *chunk;
}

ds_status ds_bias_grad_parallel(ds_runtime *rt, cl_mem db, size_t db_off, cl_mem dz, unsigned rows,
                                unsigned c, cl_mem ws, size_t ws_floats, ds_error *err) {
  unsigned chunk = 0;
  const unsigned parts = ws ? bias_parts(rows, c, ws_floats, &chunk) : 0;
  cl_ulong off = db_off;
  cl_uint r = rows, cc = c, np = parts, ch = chunk;
  cl_kernel k;
  ds_status st;
  if (!parts) { /* too few rows (or no scratch): one work-item per channel */
    st = ds_kernel_get(rt, "nn/layers", NULL, "bias_grad", &k, err);
    if (st == DS_OK)
      st = ds_kernel_args(k, err, 5, DS_ARG(db), DS_ARG(off), DS_ARG(dz), DS_ARG(r), DS_ARG(cc));
    if (st == DS_OK) st = ds_launch_elementwise(rt, k, c, err);
    return st;
  }
  st = ds_kernel_get(rt, "nn/layers", NULL, "bias_grad_part", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 6, DS_ARG(ws), DS_ARG(dz), DS_ARG(r), DS_ARG(cc), DS_ARG(ch),
                        DS_ARG(np));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, (size_t)parts * c, err);
  if (st == DS_OK) st = ds_kernel_get(rt, "nn/layers", NULL, "bias_grad_sum", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 5, DS_ARG(db), DS_ARG(off), DS_ARG(ws), DS_ARG(np), DS_ARG(cc));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, c, err);
  return st;
}

ds_status ds_bias_grad_ws(ds_runtime *rt, cl_mem db, size_t db_off, cl_mem dz, unsigned rows,
                          unsigned c, cl_mem ws, size_t ws_floats, ds_error *err) {
  /* GPUs: a two-stage reduction over the rows (bias_grad_part) */
  if (rt->profile->local_memory_tiles)
    return ds_bias_grad_parallel(rt, db, db_off, dz, rows, c, ws, ws_floats, err);
  cl_kernel k;
  cl_ulong off = db_off;
  cl_uint r = rows, cc = c;
  /* CPUs: 16 channels per work-item (bias_grad16), same sums to the bit */
  ds_status st = ds_kernel_get(rt, "nn/layers", NULL, "bias_grad16", &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 5, DS_ARG(db), DS_ARG(off), DS_ARG(dz), DS_ARG(r), DS_ARG(cc));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, c / 16 + c % 16, err);
  return st;
}

void ds_bias_grad_reference(float *db, const float *dz, unsigned rows, unsigned c) {
  for (unsigned j = 0; j < c; j++) {
    float acc = 0.0f;
    for (unsigned r = 0; r < rows; r++)
      acc += dz[(size_t)r * c + j];
    db[j] = acc;
  }
}

static ds_status shuffle(ds_runtime *rt, const char *name, cl_mem out, cl_mem in, unsigned n,
                         unsigned h, unsigned w, unsigned f, ds_error *err) {
  cl_kernel k;
  cl_uint a[4] = {n, h, w, f};
  ds_status st = ds_kernel_get(rt, "nn/layers", NULL, name, &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof out, &out, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof in, &in, err);
  for (int i = 0; i < 4 && st == DS_OK; i++)
    st = ds_kernel_arg(k, 2 + i, sizeof a[i], &a[i], err);
  /* dimension 0 along a run of f channels, 1 over the runs (cl/nn/layers.cl) */
  size_t global[2] = {f, (size_t)n * h * w * 4}, local[2] = {16, 4};
  if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  return st;
}

ds_status ds_pixel_shuffle_forward(ds_runtime *rt, cl_mem out, cl_mem in, unsigned n, unsigned h,
                                   unsigned w, unsigned f, ds_error *err) {
  return shuffle(rt, "pixel_shuffle_forward", out, in, n, h, w, f, err);
}

ds_status ds_pixel_shuffle_backward(ds_runtime *rt, cl_mem din, cl_mem dout, unsigned n, unsigned h,
                                    unsigned w, unsigned f, ds_error *err) {
  return shuffle(rt, "pixel_shuffle_backward", din, dout, n, h, w, f, err);
}

void ds_pixel_shuffle_forward_reference(float *out, const float *in, unsigned n, unsigned h,
                                        unsigned w, unsigned f) {
  for (unsigned b = 0; b < n; b++)
    for (unsigned y = 0; y < h; y++)
      for (unsigned x = 0; x < w; x++)
        for (unsigned i = 0; i < 2; i++)
          for (unsigned j = 0; j < 2; j++)
            for (unsigned ch = 0; ch < f; ch++)
              out[(((size_t)b * 2 * h + 2 * y + i) * 2 * w + 2 * x + j) * f + ch] =
                  in[(((size_t)b * h + y) * w + x) * 4 * f + (2 * i + j) * f + ch];
}

void ds_pixel_shuffle_backward_reference(float *din, const float *dout, unsigned n, unsigned h,
                                         unsigned w, unsigned f) {
  for (unsigned b = 0; b < n; b++)
    for (unsigned y = 0; y < h; y++)
      for (unsigned x = 0; x < w; x++)
        for (unsigned i = 0; i < 2; i++)
          for (unsigned j = 0; j < 2; j++)
            for (unsigned ch = 0; ch < f; ch++)
              din[(((size_t)b * h + y) * w + x) * 4 * f + (2 * i + j) * f + ch] =
                  dout[(((size_t)b * 2 * h + 2 * y + i) * 2 * w + 2 * x + j) * f + ch];
}

ds_status ds_weights_transpose(ds_runtime *rt, cl_mem out, cl_mem in, size_t in_off, unsigned k,
                               unsigned cin, unsigned cout, unsigned stride, unsigned ky0,
                               unsigned kx0, unsigned nky, unsigned nkx, ds_error *err) {
  cl_kernel kt;
  const cl_ulong off = in_off;
  const cl_uint a[8] = {k, cin, cout, stride, ky0, kx0, nky, nkx};
  ds_status st = ds_kernel_get(rt, "nn/conv", NULL, "weights_transpose", &kt, err);
  if (st == DS_OK)
    st = ds_kernel_args(kt, err, 11, DS_ARG(out), DS_ARG(in), DS_ARG(off), DS_ARG(a[0]),
                        DS_ARG(a[1]), DS_ARG(a[2]), DS_ARG(a[3]), DS_ARG(a[4]), DS_ARG(a[5]),
                        DS_ARG(a[6]), DS_ARG(a[7]));
  /* one work-item per column of 16 rows of a tap (cl/nn/conv.cl) */
  if (st == DS_OK)
    st = ds_launch_elementwise(rt, kt, (size_t)nky * nkx * ((cin + 15) / 16) * cout, err);
  return st;
}

static ds_status channels(ds_runtime *rt, const char *name, cl_mem a, cl_mem b, cl_mem c3,
                          size_t pixels, unsigned c, ds_error *err) {
  if (pixels > UINT32_MAX)
    return ds_error_set(err, DS_ERR_INVALID, "%s: %zu pixels exceed 2^32", name, pixels);
  cl_kernel k;
  const cl_uint cc = c, np = (cl_uint)pixels;
  ds_status st = ds_kernel_get(rt, "nn/layers", NULL, name, &k, err);
  if (st == DS_OK)
    st = ds_kernel_args(k, err, 5, DS_ARG(a), DS_ARG(b), DS_ARG(c3), DS_ARG(cc), DS_ARG(np));
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, pixels, err);
  return st;
}

ds_status ds_channel_split(ds_runtime *rt, cl_mem image, cl_mem mask, cl_mem y, size_t pixels,
                           unsigned c, ds_error *err) {
  return channels(rt, "channel_split", image, mask, y, pixels, c, err);
}

ds_status ds_channel_merge(ds_runtime *rt, cl_mem dy, cl_mem d_image, cl_mem d_mask, size_t pixels,
                           unsigned c, ds_error *err) {
  return channels(rt, "channel_merge", dy, d_image, d_mask, pixels, c, err);
}

void ds_channel_split_reference(float *image, float *mask, const float *y, size_t pixels,
                                unsigned c) {
  for (size_t p = 0; p < pixels; p++) {
    for (unsigned ch = 0; ch < c; ch++)
      image[p * c + ch] = y[p * (c + 1) + ch];
    mask[p] = y[p * (c + 1) + c];
  }
}

void ds_channel_merge_reference(float *dy, const float *d_image, const float *d_mask, size_t pixels,
                                unsigned c) {
  for (size_t p = 0; p < pixels; p++) {
    for (unsigned ch = 0; ch < c; ch++)
      dy[p * (c + 1) + ch] = d_image[p * c + ch];
    dy[p * (c + 1) + c] = d_mask[p];
  }
}
