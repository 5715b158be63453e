#include "engine/bench/model_bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model/config.h"
#include "engine/nn/conv2d.h"
#include "engine/nn/dense.h"
#include "engine/nn/ops.h"
#include "host/buffer.h"

enum { MAX_ITERS = 1024 };

static double layer_forward_flop(const ds_layer *l, unsigned n) {
  if (l->kind == DS_LAYER_CONV) return 2.0 * n * l->oh * l->ow * l->oc * (double)l->k * l->k * l->c;
  if (l->kind == DS_LAYER_DENSE)
    return 2.0 * n * (double)l->h * l->w * l->c * l->oh * l->ow * l->oc;
  return 0;
}

static ds_status layer_forward(ds_model *m, const ds_layer *l, int p, unsigned n, ds_error *err) {
  cl_mem x = m->act[p], y = m->act[p + 1];
  if (l->kind == DS_LAYER_CONV) {
    ds_conv2d c;
    ds_layer_conv2d(l, n, &c);
    return ds_conv2d_forward(m->rt, &c, y, x, m->params, l->w_off, l->b_off, &m->scratch, err);
  }
  if (l->kind == DS_LAYER_DENSE) {
    ds_dense d;
    ds_layer_dense(l, n, &d);
    return ds_dense_forward(m->rt, &d, y, x, m->params, l->w_off, l->b_off, &m->scratch, err);
  }
  return ds_pixel_shuffle_forward(m->rt, y, x, n, l->h, l->w, l->oc, err);
}

/* As ds_model_backward does for path layer p, reading dy from dbuf[cur]. */
static ds_status layer_backward(ds_model *m, const ds_layer *l, int p, int cur, unsigned n,
                                ds_error *err) {
  cl_mem dy = m->dbuf[cur], dx = p > 0 ? m->dbuf[1 - cur] : NULL;
  cl_mem x = m->act[p], y = m->act[p + 1];
  if (l->kind == DS_LAYER_CONV) {
    ds_conv2d c;
    ds_layer_conv2d(l, n, &c);
    return ds_conv2d_backward(m->rt, &c, dx, m->grads, l->w_off, l->b_off, dy, x, y, m->params,
                              l->w_off, &m->scratch, err);
  }
  if (l->kind == DS_LAYER_DENSE) {
    ds_dense d;
    ds_layer_dense(l, n, &d);
    return ds_dense_backward(m->rt, &d, dx, m->grads, l->w_off, l->b_off, dy, x, y, m->params,
                             l->w_off, &m->scratch, err);
  }
  return ds_pixel_shuffle_backward(m->rt, dx, dy, n, l->h, l->w, l->oc, err);
}

static void keep_min(double *best, double t) {
  if (!(*best > 0) || t < *best) *best = t;
}

/* One training step of identity `id`, each layer timed on its own with the
 * queue drained before and after, so the times add up to the layer pass.
 * The data flows as in ds_model_train_step, so the values stay realistic. */
static ds_status layer_pass(ds_model *m, int id, cl_mem target, ds_bench_model *r, ds_error *err) {
  const unsigned n = m->batch;
  const int len = ds_model_path_length(m);
  ds_status st = ds_runtime_finish(m->rt, err);
  m->input = m->act[0];
  for (int p = 0; st == DS_OK && p < len; p++) {
    double t0 = ds_bench_now();
    st = layer_forward(m, ds_model_path_layer(m, id, p), p, n, err);
    if (st == DS_OK) st = ds_runtime_finish(m->rt, err);
    keep_min(&r->lr[p].fwd_s, ds_bench_now() - t0);
  }
  double t0 = ds_bench_now();
  if (st == DS_OK) st = ds_model_loss(m, id, target, n, NULL, err);
  if (st == DS_OK) st = ds_runtime_finish(m->rt, err);
  keep_min(&r->loss_s, ds_bench_now() - t0);
  int cur = 0;
  for (int p = len - 1; st == DS_OK && p >= 0; p--, cur = 1 - cur) {
    t0 = ds_bench_now();
    st = layer_backward(m, ds_model_path_layer(m, id, p), p, cur, n, err);
    if (st == DS_OK) st = ds_runtime_finish(m->rt, err);
    keep_min(&r->lr[p].bwd_s, ds_bench_now() - t0);
  }
  t0 = ds_bench_now();
  if (st == DS_OK) st = ds_model_adam(m, id, err);
  if (st == DS_OK) st = ds_runtime_finish(m->rt, err);
  keep_min(&r->adam_s, ds_bench_now() - t0);
  return st;
}

static ds_status upload_random(ds_runtime *rt, cl_mem buf, size_t n, unsigned seed, ds_error *err) {
  float *h = malloc(n * sizeof *h);
  if (!h) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for %zu floats", n);
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    h[i] = (float)(seed >> 8) * (1.0f / 16777216.0f);
  }
  ds_status st = ds_buffer_write(rt, buf, 0, n * sizeof *h, h, err);
  free(h);
  return st;
}

/* The other identity's path: what convert runs (encoder + decoder B). */
static int swap_identity(const ds_model_config *cfg, int trained) {
  int id = ds_model_identity_index(cfg, "B");
  if (id < 0 || id == trained) id = cfg->decoder_count > 1 ? (trained == 0 ? 1 : 0) : trained;
  return id;
}

/* One training step against target (or, target NULL, a forward pass) of
 * identity id over the batch, drained: its seconds. */
static ds_status run_once(ds_model *m, int id, cl_mem target, ds_bench_model *r, double *seconds,
                          ds_error *err) {
  const double t0 = ds_bench_now();
  ds_status st = target ? ds_model_train_step(m, id, NULL, target, r->batch, &r->loss, err)
                        : ds_model_forward(m, id, NULL, r->batch, err);
  if (st == DS_OK) st = ds_runtime_finish(m->rt, err);
  *seconds = ds_bench_now() - t0;
  return st;
}

/* iters of run_once: their best and median. */
static ds_status run_timed(ds_model *m, int id, cl_mem target, int iters, ds_bench_model *r,
                           ds_bench_stats *out, ds_error *err) {
  double times[MAX_ITERS];
  ds_status st = DS_OK;
  for (int i = 0; st == DS_OK && i < iters; i++)
    st = run_once(m, id, target, r, &times[i], err);
  if (st == DS_OK) *out = ds_bench_stats_of(times, iters);
  return st;
}

/* One step with every launch's device time recorded (rt->profiling on for
 * it alone, so the timed steps carry no events). */
static ds_status profiled_step(ds_model *m, int id, cl_mem target, ds_bench_model *r,
                               ds_error *err) {
  ds_runtime *rt = m->rt;
  ds_profile_clear(rt);
  rt->profiling = 1;
  ds_status st = ds_model_train_step(m, id, NULL, target, r->batch, &r->loss, err);
  rt->profiling = 0;
  ds_kernel_time *kt = NULL;
  int n = 0;
  if (st == DS_OK) st = ds_profile_take(rt, &kt, &n, err);
  ds_profile_clear(rt);
  if (st != DS_OK) return st;
  r->kernel_total = n;
  r->kernel_count = n < DS_BENCH_MAX_KERNELS ? n : DS_BENCH_MAX_KERNELS;
  for (int i = 0; i < n; i++) {
    r->profile_ms += kt[i].ms;
    if (i < r->kernel_count) r->kernels[i] = kt[i];
  }
  free(kt);
  return DS_OK;
}

ds_status ds_bench_model_run(ds_runtime *rt, const char *config_path, unsigned batch,
                             const ds_bench_model_options *o, ds_bench_model *r, ds_error *err) {
  ds_model_config cfg;
  ds_status st = ds_model_config_load(config_path, &cfg, err);
  if (st != DS_OK) return st;
  memset(r, 0, sizeof *r);
  snprintf(r->model, sizeof r->model, "%s", cfg.name);
  r->batch = batch;
  int64_t enc = 0, dec = 0;
  ds_model_param_count(&cfg, &enc, &dec);
  r->params = (long long)(enc + dec);
  int id = ds_model_identity_index(&cfg, "A");
  if (id < 0) id = 0;

  ds_model *m = calloc(1, sizeof *m);
  float *host = NULL;
  cl_mem target = NULL, mask_target = NULL;
  if (!m)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for model %s", config_path);
  ds_model_build(m, &cfg);
  st = ds_model_device_create(m, rt, batch, err);
  if (st != DS_OK) {
    free(m);
    return st;
  }
  const size_t in_floats = (size_t)batch * cfg.input_size * cfg.input_size * cfg.input_channels;
  host = malloc(m->param_floats * sizeof *host);
  if (!host) st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for the parameters");
  if (st == DS_OK) ds_model_init_params(m, 1, host);
  if (st == DS_OK)
    st = ds_buffer_write(rt, m->params, 0, m->param_floats * sizeof *host, host, err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, in_floats * sizeof(float), CL_MEM_READ_WRITE, "target batch", &target,
                          err);
  if (st == DS_OK) st = upload_random(rt, m->act[0], in_floats, 7u, err);
  if (st == DS_OK) st = upload_random(rt, target, in_floats, 11u, err);
  /* decoder.mask: random mask targets, as the image targets are */
  const size_t mask_floats = (size_t)batch * cfg.input_size * cfg.input_size;
  if (st == DS_OK && cfg.dec_mask)
    st = ds_buffer_create(rt, mask_floats * sizeof(float), CL_MEM_READ_WRITE, "mask targets",
                          &mask_target, err);
  if (st == DS_OK && cfg.dec_mask) st = upload_random(rt, mask_target, mask_floats, 13u, err);
  if (st == DS_OK && cfg.dec_mask) st = ds_model_set_mask_target(m, mask_target, err);

  /* two untimed steps: the first builds kernels and tunes, the second
   * tells what a step costs */
  if (st == DS_OK) st = run_once(m, id, target, r, &r->warmup_s, err);
  if (st == DS_OK) st = run_once(m, id, target, r, &r->second_s, err);
  const double step_s = r->second_s;

  /* timed steps, layer passes and forward passes cost about 2.3 x iters
   * steps */
  int iters = o->iters < 1 ? 1 : o->iters > MAX_ITERS ? MAX_ITERS : o->iters;
  r->iters_asked = iters;
  const double per_iter = step_s * (1.0 + (o->layers ? 1.0 : 0.0) + (o->infer ? 0.34 : 0.0));
  if (st == DS_OK && o->budget > 0 && iters * per_iter > o->budget) {
    iters = (int)(o->budget / per_iter);
    iters = iters < 1 ? 1 : iters;
  }
  r->iters = iters;
  r->quiet = ds_bench_quiet_wait(o->quiet_wait, 0.2);
  if (st == DS_OK) st = run_timed(m, id, target, iters, r, &r->step, err);

  const int len = ds_model_path_length(m);
  double fwd = 0;
  for (int p = 0; p < len; p++) {
    const ds_layer *l = ds_model_path_layer(m, id, p);
    r->layers[p] = *l;
    r->lr[p].fwd_flop = layer_forward_flop(l, batch);
    r->lr[p].bwd_flop = (p > 0 ? 2 : 1) * r->lr[p].fwd_flop;
    fwd += r->lr[p].fwd_flop;
  }
  r->step_flop = 3 * fwd;
  if (o->layers) {
    r->layer_count = len;
    for (int i = 0; st == DS_OK && i < iters; i++)
      st = layer_pass(m, id, target, r, err);
    r->layers_total_s = r->loss_s + r->adam_s;
    for (int p = 0; p < len; p++)
      r->layers_total_s += r->lr[p].fwd_s + r->lr[p].bwd_s;
  }
  if (st == DS_OK && o->infer) {
    const int swap = swap_identity(&cfg, id);
    for (int p = 0; p < len; p++)
      r->infer_flop += layer_forward_flop(ds_model_path_layer(m, swap, p), batch);
    double first; /* builds decoder B's kernels */
    st = run_once(m, swap, NULL, r, &first, err);
    if (st == DS_OK) st = run_timed(m, swap, NULL, iters, r, &r->infer, err);
  }
  r->adam_bytes = 28.0 * (double)r->params;
  if (st == DS_OK && o->profile) st = profiled_step(m, id, target, r, err);
  if (st == DS_OK && !isfinite(r->loss))
    st = ds_error_set(err, DS_ERR_INVALID, "model %s at batch %u: the loss is %g, not finite",
                      r->model, batch, r->loss);
  ds_buffer_release(&target);
  ds_buffer_release(&mask_target);
  free(host);
  ds_model_device_destroy(m);
  free(m);
  return st;
}
