#include "engine/nn/dense.h"

#include <string.h>

#include "engine/nn/gemm.h"
#include "engine/nn/ops.h"

size_t ds_dense_scratch_min(const ds_dense *d) { return (size_t)d->in * d->out; }

size_t ds_dense_pack_floats(const ds_runtime *rt, const ds_dense *d) {
  size_t a = ds_gemm_workspace(rt, d->n, d->out, d->in, d->in, 1, d->out);
  size_t b = ds_gemm_workspace(rt, d->in, d->out, d->n, 1, d->in, d->out);
  size_t c = ds_gemm_workspace(rt, d->n, d->in, d->out, d->out, 1, d->in);
  return a > b ? (a > c ? a : c) : (b > c ? b : c);
}

ds_status ds_dense_forward(ds_runtime *rt, const ds_dense *d, cl_mem y, cl_mem x, cl_mem params,
                           size_t w_off, size_t b_off, const ds_scratch *s, ds_error *err) {
  ds_gemm_args g = {.a = x,
                    .lda_m = d->in,
                    .lda_k = 1,
                    .b = params,
                    .b_off = w_off,
                    .ldb = d->out,
                    .c = y,
                    .ldc = d->out,
                    .bias = params,
                    .bias_off = b_off,
                    .m = d->n,
                    .n = d->out,
                    .k = d->in,
                    .act = d->act,
                    .ws = s ? s->pack : NULL,
                    .ws_floats = s ? s->pack_floats : 0};
  return ds_gemm(rt, &g, err);
}

ds_status ds_dense_backward(ds_runtime *rt, const ds_dense *d, cl_mem dx, cl_mem grads,
                            size_t dw_off, size_t db_off, cl_mem dy, cl_mem x, cl_mem y,
                            cl_mem params, size_t w_off, const ds_scratch *s, ds_error *err) {
  ds_status st = DS_OK;
  if (d->act != DS_ACT_NONE)
    st = ds_act_backward(rt, dy, dy, y, d->act, (size_t)d->n * d->out, err);
  /* the scratch is free until the weights are transposed: partial sums */
  if (st == DS_OK)
    st = ds_bias_grad_ws(rt, grads, db_off, dy, d->n, d->out, s->buf, s->floats, err);
  ds_gemm_args gw = {.a = x,
                     .lda_m = 1,
                     .lda_k = d->in,
                     .b = dy,
                     .ldb = d->out,
                     .c = grads,
                     .c_off = dw_off,
                     .ldc = d->out,
                     .m = d->in,
                     .n = d->out,
                     .k = d->n,
                     .ws = s->pack,
                     .ws_floats = s->pack_floats};
  if (st == DS_OK) st = ds_gemm(rt, &gw, err);
  if (st != DS_OK || !dx) return st;
  if (s->floats < ds_dense_scratch_min(d))
    return ds_error_set(err, DS_ERR_INVALID, "dense scratch of %zu floats is below %zu", s->floats,
                        ds_dense_scratch_min(d));
  st = ds_weights_transpose(rt, s->buf, params, w_off, 1, d->in, d->out, 1, 0, 0, 1, 1, err);
  ds_gemm_args gx = {.a = dy,
                     .lda_m = d->out,
                     .lda_k = 1,
                     .b = s->buf,
                     .ldb = d->in,
                     .c = dx,
                     .ldc = d->in,
                     .m = d->n,
                     .n = d->in,
                     .k = d->out,
                     .ws = s->pack,
                     .ws_floats = s->pack_floats};
  if (st == DS_OK) st = ds_gemm(rt, &gx, err);
  return st;
}

void ds_dense_forward_reference(const ds_dense *d, float *y, const float *x, const float *w,
                                const float *b) {
  for (unsigned n = 0; n < d->n; n++)
    for (unsigned o = 0; o < d->out; o++) {
      double acc = 0.0;
      for (unsigned i = 0; i < d->in; i++)
        acc += (double)x[(size_t)n * d->in + i] * (double)w[(size_t)i * d->out + o];
      y[(size_t)n * d->out + o] = ds_act_reference(d->act, (float)acc + b[o]);
    }
}

void ds_dense_backward_reference(const ds_dense *d, float *dx, float *dw, float *db, float *dy,
                                 const float *x, const float *y, const float *w) {
  ds_act_backward_reference(dy, dy, y, d->act, (size_t)d->n * d->out);
  ds_bias_grad_reference(db, dy, d->n, d->out);
  for (unsigned i = 0; i < d->in; i++)
    for (unsigned o = 0; o < d->out; o++) {
      double acc = 0.0;
      for (unsigned n = 0; n < d->n; n++)
        acc += (double)x[(size_t)n * d->in + i] * (double)dy[(size_t)n * d->out + o];
      dw[(size_t)i * d->out + o] = (float)acc;
    }
  if (!dx) return;
  for (unsigned n = 0; n < d->n; n++)
    for (unsigned i = 0; i < d->in; i++) {
      double acc = 0.0;
      for (unsigned o = 0; o < d->out; o++)
        acc += (double)dy[(size_t)n * d->out + o] * (double)w[(size_t)i * d->out + o];
      dx[(size_t)n * d->in + i] = (float)acc;
    }
}
