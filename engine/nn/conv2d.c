#include "engine/nn/conv2d.h"

#include <stdlib.h>
#include <string.h>

#include "engine/nn/gemm.h"
#include "engine/nn/ops.h"
#include "engine/tensor/vector.h"
#include "host/program.h"

void ds_conv2d_same(ds_conv2d *c, unsigned n, unsigned h, unsigned w, unsigned cin, unsigned cout,
                    unsigned k, unsigned stride, ds_act act) {
  memset(c, 0, sizeof *c);
  c->n = n;
  c->h = h;
  c->w = w;
  c->cin = cin;
  c->cout = cout;
  c->k = k;
  c->stride = stride;
  c->act = act;
  c->oh = (h + stride - 1) / stride;
  c->ow = (w + stride - 1) / stride;
  long ph = (long)(c->oh - 1) * stride + k - h, pw = (long)(c->ow - 1) * stride + k - w;
  c->pad_top = ph > 0 ? (unsigned)(ph / 2) : 0;
  c->pad_left = pw > 0 ? (unsigned)(pw / 2) : 0;
}

/* The row pitch of a patch matrix of rows `width` floats wide: rows 2 KiB
 * apart (a multiple of 512 floats) map to the same cache sets, and the GEMM
 * walking down them (A, or A^T in the backward-filter pass) thrashes; 16
 * more floats break the pattern, where the GEMM would otherwise copy the
 * whole matrix to a padded pitch (a 3x3 conv of 512 output channels:
 * 4096 x 4608 patches, a 75 MB copy per call). */
static size_t pitch_of(size_t width) {
  return width >= 512 && width % 512 == 0 ? width + 16 : width;
}

/* The weight gradient of a layer with few output channels (the output
 * layer's 3) as dW^T = dZ^T . P: dW = P^T . dZ has an N of cout, which a
 * register tile 16 to 64 columns wide pads tenfold (4.5 % of the peak); the
 * transposed product has an N of kc and pads only its 3 rows. It needs a
 * patch width every tile divides (kc % 64 == 0) and room for dW^T at the
 * front of the scratch. */
static int narrow_dw(const ds_conv2d *c, size_t kc) { return c->cout <= 8 && kc % 64 == 0; }
static size_t narrow_dw_floats(const ds_conv2d *c) {
  const size_t kc = (size_t)c->k * c->k * c->cin;
  return narrow_dw(c, kc) ? (kc * c->cout + 15) / 16 * 16 : 0;
}

size_t ds_conv2d_scratch_min(const ds_conv2d *c) {
  size_t kk = (size_t)c->k * c->k;
  size_t row = pitch_of(kk * (c->cin > c->cout ? c->cin : c->cout));
  /* + backward data's output row; + dW^T for narrow layers, beside a row */
  return kk * c->cin * c->cout + 16 + row + c->cin + narrow_dw_floats(c);
}

/* Rows of patches of width kc that fit in `floats`: all of them, or a
 * multiple of 48 when that many fit, so that every chunk but the last is
 * whole register tiles of rows (MR of any vendor profile divides 48) and
 * only the last leaves a sliver to the GEMM's edge kernel. */
static unsigned chunk_rows(size_t floats, size_t kc, unsigned total) {
  size_t r = floats / kc;
  if (r >= total) return total;
  return (unsigned)(r >= 48 ? r / 48 * 48 : r);
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* Backward data by input phase (cl/nn/conv.cl, im2col_backward_phase): the
 * input pixels (n, iy, ix) with iy = py, ix = px (mod stride) receive
 * gradient only through the taps ky = (py + pad_top), kx = (px + pad_left)
 * (mod stride), so each phase is a GEMM over its own ~kk / stride^2 taps,
 * where gathering every tap for every pixel would multiply stride^2 - 1 of
 * every stride^2 products by gathered zeros. Stride 1 is one phase: every
 * pixel, every tap. A phase without taps (k < stride) gets zeros. */
typedef struct conv_phase {
  unsigned py, px, hy, wx;     /* the phase; its input pixels per image: hy x wx */
  unsigned ky0, kx0, nky, nkx; /* its taps: ky0 + jy * stride, jy < nky; kx likewise */
  size_t rows, taps, wt, qc;   /* input pixels; taps; floats of its weights (x16), row width */
  size_t qp;                   /* row pitch of its gathered rows (pitch_of) */
} conv_phase;

static conv_phase phase_of(const ds_conv2d *c, unsigned py, unsigned px) {
  const unsigned s = c->stride;
  conv_phase f;
  f.py = py;
  f.px = px;
  f.hy = py < c->h ? (c->h - py + s - 1) / s : 0;
  f.wx = px < c->w ? (c->w - px + s - 1) / s : 0;
  f.ky0 = (py + c->pad_top) % s;
  f.kx0 = (px + c->pad_left) % s;
  f.nky = f.ky0 < c->k ? (c->k - f.ky0 + s - 1) / s : 0;
  f.nkx = f.kx0 < c->k ? (c->k - f.kx0 + s - 1) / s : 0;
  f.rows = (size_t)c->n * f.hy * f.wx;
  f.taps = (size_t)f.nky * f.nkx;
  f.wt = (f.taps * c->cin * c->cout + 15) / 16 * 16;
  f.qc = f.taps * c->cout;
  f.qp = pitch_of(f.qc);
  return f;
}

/* Rows of a phase per chunk in `floats` of scratch: its weights, then per
 * row the gathered taps and (strides above 1, scattered afterwards) the
 * GEMM's output row; 0 when none fits. */
static unsigned phase_chunk(const ds_conv2d *c, const conv_phase *f, size_t floats) {
  if (floats <= f->wt || f->rows > 0xffffffffu) return 0;
  return chunk_rows(floats - f->wt, f->qp + (c->stride > 1 ? c->cin : 0), (unsigned)f->rows);
}

size_t ds_conv2d_pack_floats(const ds_runtime *rt, const ds_conv2d *c, size_t scratch_floats) {
  const size_t kk = (size_t)c->k * c->k, kc = kk * c->cin, kp = pitch_of(kc);
  const unsigned out_rows = c->n * c->oh * c->ow;
  const unsigned fwd = chunk_rows(scratch_floats, kp, out_rows);
  size_t need = ds_gemm_workspace(rt, fwd, c->cout, (unsigned)kc, (unsigned)kp, 1, c->cout);
  const size_t tw = narrow_dw_floats(c);
  if (tw) {
    const unsigned dw_rows =
        chunk_rows(scratch_floats > tw ? scratch_floats - tw : 0, kp, out_rows);
    need = max_size(
        need, ds_gemm_workspace(rt, c->cout, (unsigned)kc, dw_rows, 1, c->cout, (unsigned)kp));
  } else {
    need =
        max_size(need, ds_gemm_workspace(rt, (unsigned)kc, c->cout, fwd, 1, (unsigned)kp, c->cout));
  }
  for (unsigned py = 0; py < c->stride; py++)
    for (unsigned px = 0; px < c->stride; px++) {
      const conv_phase f = phase_of(c, py, px);
      const unsigned rows = f.rows && f.taps ? phase_chunk(c, &f, scratch_floats) : 0;
      need = max_size(
          need, ds_gemm_workspace(rt, rows, c->cin, (unsigned)f.qc, (unsigned)f.qp, 1, c->cin));
    }
  return need;
}

/* dX from dZ by phases (conv_phase); scratch: the phase's weights, then a
 * chunk of gathered rows, then (strides above 1) their GEMM output, which
 * is scattered into dX. */
static ds_status backward_data(ds_runtime *rt, const ds_conv2d *c, cl_mem dx, cl_mem dy,
                               cl_mem params, size_t w_off, const ds_scratch *s, ds_error *err) {
  ds_status st = DS_OK;
  int untouched = 0; /* phases no tap reaches */
  for (unsigned py = 0; py < c->stride; py++)
    for (unsigned px = 0; px < c->stride; px++) {
      const conv_phase f = phase_of(c, py, px);
      if (f.rows && !f.taps) untouched = 1;
      if (f.rows && f.taps && !phase_chunk(c, &f, s->floats))
        return ds_error_set(err, DS_ERR_INVALID,
                            "conv2d scratch of %zu floats is too small (%zu for one row)",
                            s->floats, f.wt + f.qp + c->cin);
    }
  if (untouched) st = ds_fill_f32(rt, dx, 0.0f, (size_t)c->n * c->h * c->w * c->cin, err);
  const cl_uint cin = c->cin, cout = c->cout, stride = c->stride, h = c->h, w = c->w;
  const cl_uint oh = c->oh, ow = c->ow, pt = c->pad_top, pl = c->pad_left;
  for (unsigned py = 0; py < c->stride && st == DS_OK; py++)
    for (unsigned px = 0; px < c->stride && st == DS_OK; px++) {
      const conv_phase f = phase_of(c, py, px);
      if (f.rows == 0 || f.taps == 0) continue;
      const unsigned step = phase_chunk(c, &f, s->floats);
      const int scatter = c->stride > 1; /* else the rows are dX's, in order */
      const cl_uint fpy = f.py, fpx = f.px, hy = f.hy, wx = f.wx, ky0 = f.ky0, kx0 = f.kx0;
      const cl_uint nky = f.nky, nkx = f.nkx;
      st = ds_weights_transpose(rt, s->buf, params, w_off, c->k, c->cin, c->cout, c->stride, f.ky0,
                                f.kx0, f.nky, f.nkx, err);
      const cl_ulong q_off = f.wt, d_off = f.wt + (size_t)step * f.qp;
      const cl_uint qp = (cl_uint)f.qp;
      for (unsigned r0 = 0; st == DS_OK && r0 < f.rows; r0 += step) {
        const cl_uint row0 = r0, rows = f.rows - r0 < step ? (cl_uint)(f.rows - r0) : step;
        cl_kernel kg, ks;
        st = ds_kernel_get(rt, "nn/conv", NULL, "im2col_backward_phase", &kg, err);
        if (st == DS_OK)
          st = ds_kernel_args(kg, err, 20, DS_ARG(s->buf), DS_ARG(q_off), DS_ARG(qp), DS_ARG(dy),
                              DS_ARG(row0), DS_ARG(rows), DS_ARG(cout), DS_ARG(oh), DS_ARG(ow),
                              DS_ARG(stride), DS_ARG(pt), DS_ARG(pl), DS_ARG(fpy), DS_ARG(fpx),
                              DS_ARG(hy), DS_ARG(wx), DS_ARG(ky0), DS_ARG(kx0), DS_ARG(nky),
                              DS_ARG(nkx));
        if (st == DS_OK) st = ds_launch_elementwise(rt, kg, (size_t)rows * f.taps, err);
        ds_gemm_args g = {.a = s->buf,
                          .a_off = q_off,
                          .lda_m = qp,
                          .lda_k = 1,
                          .b = s->buf,
                          .b_off = 0,
                          .ldb = c->cin,
                          .c = scatter ? s->buf : dx,
                          .c_off = scatter ? d_off : (size_t)r0 * c->cin,
                          .ldc = c->cin,
                          .m = rows,
                          .n = c->cin,
                          .k = (unsigned)f.qc,
                          .ws = s->pack,
                          .ws_floats = s->pack_floats};
        if (st == DS_OK) st = ds_gemm(rt, &g, err);
        if (!scatter) continue;
        if (st == DS_OK) st = ds_kernel_get(rt, "nn/conv", NULL, "scatter_phase", &ks, err);
        if (st == DS_OK)
          st = ds_kernel_args(ks, err, 13, DS_ARG(dx), DS_ARG(s->buf), DS_ARG(d_off), DS_ARG(row0),
                              DS_ARG(rows), DS_ARG(h), DS_ARG(w), DS_ARG(cin), DS_ARG(stride),
                              DS_ARG(fpy), DS_ARG(fpx), DS_ARG(hy), DS_ARG(wx));
        if (st == DS_OK) st = ds_launch_elementwise(rt, ks, (size_t)rows * c->cin, err);
      }
    }
  return st;
}

/* im2col_forward: rows [row0, row0 + rows) of the patch matrix into dst,
 * `pitch` floats apart. */
static ds_status gather(ds_runtime *rt, cl_mem dst, size_t dst_off, size_t pitch, cl_mem src,
                        unsigned row0, unsigned rows, const ds_conv2d *c, ds_error *err) {
  cl_kernel k;
  cl_ulong off = dst_off;
  cl_uint p = (cl_uint)pitch, ch = c->cin;
  cl_uint a[11] = {row0,  rows, c->h,      c->w,       ch,         c->oh,
                   c->ow, c->k, c->stride, c->pad_top, c->pad_left};
  ds_status st = ds_kernel_get(rt, "nn/conv", NULL, "im2col_forward", &k, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 0, sizeof dst, &dst, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 1, sizeof off, &off, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 2, sizeof p, &p, err);
  if (st == DS_OK) st = ds_kernel_arg(k, 3, sizeof src, &src, err);
  for (int i = 0; i < 11 && st == DS_OK; i++)
    st = ds_kernel_arg(k, 4 + i, sizeof a[i], &a[i], err);
  /* one work-item per (row, tap); each copies the tap's run of ch channels */
  if (st == DS_OK) st = ds_launch_elementwise(rt, k, (size_t)rows * c->k * c->k, err);
  return st;
}

ds_status ds_conv2d_forward(ds_runtime *rt, const ds_conv2d *c, cl_mem y, cl_mem x, cl_mem params,
                            size_t w_off, size_t b_off, const ds_scratch *s, ds_error *err) {
  const size_t kc = (size_t)c->k * c->k * c->cin, kp = pitch_of(kc);
  const unsigned total = c->n * c->oh * c->ow;
  const unsigned step = chunk_rows(s->floats, kp, total);
  if (step == 0)
    return ds_error_set(err, DS_ERR_INVALID, "conv2d scratch of %zu floats is below one row (%zu)",
                        s->floats, kp);
  ds_status st = DS_OK;
  for (unsigned r0 = 0; r0 < total && st == DS_OK; r0 += step) {
    const unsigned rows = total - r0 < step ? total - r0 : step;
    st = gather(rt, s->buf, 0, kp, x, r0, rows, c, err);
    ds_gemm_args g = {.a = s->buf,
                      .lda_m = (unsigned)kp,
                      .lda_k = 1,
                      .b = params,
                      .b_off = w_off,
                      .ldb = c->cout,
                      .c = y,
                      .c_off = (size_t)r0 * c->cout,
                      .ldc = c->cout,
                      .bias = params,
                      .bias_off = b_off,
                      .m = rows,
                      .n = c->cout,
                      .k = (unsigned)kc,
                      .act = c->act,
                      .ws = s->pack,
                      .ws_floats = s->pack_floats};
    if (st == DS_OK) st = ds_gemm(rt, &g, err);
  }
  return st;
}

ds_status ds_conv2d_backward(ds_runtime *rt, const ds_conv2d *c, cl_mem dx, cl_mem grads,
                             size_t dw_off, size_t db_off, cl_mem dy, cl_mem x, cl_mem y,
                             cl_mem params, size_t w_off, const ds_scratch *s, ds_error *err) {
  const size_t out_rows = (size_t)c->n * c->oh * c->ow;
  ds_status st = ds_act_backward(rt, dy, dy, y, c->act, out_rows * c->cout, err);
  /* the scratch is free until the patches are gathered: partial sums */
  if (st == DS_OK)
    st =
        ds_bias_grad_ws(rt, grads, db_off, dy, (unsigned)out_rows, c->cout, s->buf, s->floats, err);

  /* dW = P^T . dZ (or dW^T = dZ^T . P: narrow_dw), accumulated over chunks
   * of output rows */
  const size_t kc = (size_t)c->k * c->k * c->cin, kp = pitch_of(kc);
  const size_t tw = narrow_dw_floats(c); /* dW^T at the front of the scratch */
  unsigned step = chunk_rows(s->floats > tw ? s->floats - tw : 0, kp, (unsigned)out_rows);
  if (st == DS_OK && step == 0)
    st = ds_error_set(err, DS_ERR_INVALID, "conv2d scratch of %zu floats is below one row (%zu)",
                      s->floats, tw + kp);
  for (unsigned r0 = 0; st == DS_OK && r0 < out_rows; r0 += step) {
    const unsigned rows = out_rows - r0 < step ? (unsigned)out_rows - r0 : step;
    st = gather(rt, s->buf, tw, kp, x, r0, rows, c, err);
    ds_gemm_args g = {.a = s->buf,
                      .a_off = tw,
                      .lda_m = 1,
                      .lda_k = (unsigned)kp,
                      .b = dy,
                      .b_off = (size_t)r0 * c->cout,
                      .ldb = c->cout,
                      .c = grads,
                      .c_off = dw_off,
                      .ldc = c->cout,
                      .m = (unsigned)kc,
                      .n = c->cout,
                      .k = rows,
                      .accumulate = r0 > 0,
                      .ws = s->pack,
                      .ws_floats = s->pack_floats};
    if (tw) { /* dW^T (cout x kc) = dZ^T . P, into the front of the scratch */
      g.a = dy, g.a_off = (size_t)r0 * c->cout, g.lda_m = 1, g.lda_k = c->cout;
      g.b = s->buf, g.b_off = tw, g.ldb = (unsigned)kp;
      g.c = s->buf, g.c_off = 0, g.ldc = (unsigned)kc;
      g.m = c->cout, g.n = (unsigned)kc;
    }
    if (st == DS_OK) st = ds_gemm(rt, &g, err);
  }
  if (st == DS_OK && tw) {
    cl_kernel k;
    const cl_ulong off = dw_off;
    const cl_uint kcu = (cl_uint)kc, cout = c->cout;
    st = ds_kernel_get(rt, "nn/conv", NULL, "weights_untranspose", &k, err);
    if (st == DS_OK)
      st = ds_kernel_args(k, err, 5, DS_ARG(grads), DS_ARG(off), DS_ARG(s->buf), DS_ARG(kcu),
                          DS_ARG(cout));
    if (st == DS_OK) st = ds_launch_elementwise(rt, k, kc * c->cout, err);
  }
  if (st != DS_OK || !dx) return st;
  return backward_data(rt, c, dx, dy, params, w_off, s, err);
}

void ds_conv2d_forward_reference(const ds_conv2d *c, float *y, const float *x, const float *w,
                                 const float *b) {
  for (unsigned n = 0; n < c->n; n++)
    for (unsigned oy = 0; oy < c->oh; oy++)
      for (unsigned ox = 0; ox < c->ow; ox++)
        for (unsigned co = 0; co < c->cout; co++) {
          double acc = 0.0;
          for (unsigned ky = 0; ky < c->k; ky++)
            for (unsigned kx = 0; kx < c->k; kx++) {
              long iy = (long)(oy * c->stride + ky) - c->pad_top;
              long ix = (long)(ox * c->stride + kx) - c->pad_left;
              if (iy < 0 || ix < 0 || iy >= c->h || ix >= c->w) continue;
              const float *xp = &x[(((size_t)n * c->h + iy) * c->w + ix) * c->cin];
              const float *wp = &w[((size_t)ky * c->k + kx) * c->cin * c->cout + co];
              for (unsigned ci = 0; ci < c->cin; ci++)
                acc += (double)xp[ci] * (double)wp[(size_t)ci * c->cout];
            }
          float v = (float)acc + b[co];
          y[(((size_t)n * c->oh + oy) * c->ow + ox) * c->cout + co] = ds_act_reference(c->act, v);
        }
}

void ds_conv2d_backward_reference(const ds_conv2d *c, float *dx, float *dw, float *db, float *dy,
                                  const float *x, const float *y, const float *w) {
  const size_t out_rows = (size_t)c->n * c->oh * c->ow;
  ds_act_backward_reference(dy, dy, y, c->act, out_rows * c->cout);
  ds_bias_grad_reference(db, dy, (unsigned)out_rows, c->cout);
  memset(dw, 0, sizeof(float) * c->k * c->k * c->cin * c->cout);
  if (dx) memset(dx, 0, sizeof(float) * c->n * c->h * c->w * c->cin);
  for (unsigned n = 0; n < c->n; n++)
    for (unsigned oy = 0; oy < c->oh; oy++)
      for (unsigned ox = 0; ox < c->ow; ox++) {
        const float *dz = &dy[(((size_t)n * c->oh + oy) * c->ow + ox) * c->cout];
        for (unsigned ky = 0; ky < c->k; ky++)
          for (unsigned kx = 0; kx < c->k; kx++) {
            long iy = (long)(oy * c->stride + ky) - c->pad_top;
            long ix = (long)(ox * c->stride + kx) - c->pad_left;
            if (iy < 0 || ix < 0 || iy >= c->h || ix >= c->w) continue;
            size_t xo = (((size_t)n * c->h + iy) * c->w + ix) * c->cin;
            float *dwp = &dw[((size_t)ky * c->k + kx) * c->cin * c->cout];
            const float *wp = &w[((size_t)ky * c->k + kx) * c->cin * c->cout];
            for (unsigned ci = 0; ci < c->cin; ci++)
              for (unsigned co = 0; co < c->cout; co++) {
                dwp[(size_t)ci * c->cout + co] += x[xo + ci] * dz[co];
                if (dx) dx[xo + ci] += wp[(size_t)ci * c->cout + co] * dz[co];
              }
          }
      }
}
