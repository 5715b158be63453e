/* Data-parallel steps, replica set-up and state sync (engine/train/parallel.h).
 * The main thread is the communication thread: it sums each bucket over
 * the local replicas and the ranks while the device threads read back the
 * next buckets, and hands reduced buckets back to them. */
#include "engine/train/parallel.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "host/buffer.h"

/* ~25 MB of float32 gradients per all-reduce (DDP's and Horovod's size),
 * or DSENGINE_BUCKET_MB */
static size_t bucket_floats(void) {
  const char *v = getenv("DSENGINE_BUCKET_MB");
  const double mb = v ? atof(v) : 0;
  return mb >= 0.001 ? (size_t)(mb * 1e6 / 4) : (size_t)25e6 / 4;
}

/* A replica's read-back target: a buffer the driver allocates in host
 * memory (CL_MEM_ALLOC_HOST_PTR: pinned on GPU drivers, so the copies run
 * at full PCIe speed), mapped once for the run. */
static ds_status stage_create(ds_replica *r, size_t bytes, ds_error *err) {
  ds_status st = ds_buffer_create(r->rt, bytes, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR,
                                  "gradient staging", &r->stage_buf, err);
  if (st != DS_OK) return st;
  cl_int rc;
  r->stage = clEnqueueMapBuffer(r->rt->queue, r->stage_buf, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0,
                                bytes, 0, NULL, NULL, &rc);
  if (rc != CL_SUCCESS)
    return ds_error_set(err, DS_ERR_NO_MEMORY,
                        "cannot map %zu bytes of gradient staging on %s (%d); the host may be "
                        "out of pinnable memory",
                        bytes, r->rt->device.name, rc);
  return DS_OK;
}

static void stage_destroy(ds_replica *r) {
  if (r->stage) {
    clEnqueueUnmapMemObject(r->rt->queue, r->stage_buf, r->stage, 0, NULL, NULL);
    clFinish(r->rt->queue);
  }
  r->stage = NULL;
  ds_buffer_release(&r->stage_buf);
}

ds_status ds_parallel_attach(ds_parallel *p, ds_runtime *rt0, ds_model *model0, cl_mem *faces0,
                             ds_augment_workspace *ws0, cl_mem warped0, cl_mem target0,
                             const ds_dataset *sets, int ids, int face_size, int out_size,
                             ds_error *err) {
  p->face_size = face_size;
  p->out_size = out_size;
  ds_replica *r0 = &p->rep[0];
  r0->rt = rt0;
  r0->model = model0;
  r0->faces = faces0;
  r0->ws = ws0;
  r0->warped = warped0;
  r0->target = target0;
  const unsigned batch = (unsigned)ds_parallel_share(p);
  const size_t bytes = (size_t)batch * out_size * out_size * model0->cfg.input_channels * 4;
  ds_status st = DS_OK;
  for (int k = 1; st == DS_OK && k < p->count; k++) {
    ds_replica *r = &p->rep[k];
    r->owned = 1;
    st = ds_runtime_create(&r->rt, &p->devices[k], 0, err);
    if (st != DS_OK) break;
    r->model = &r->own_model;
    r->faces = r->own_faces;
    r->ws = &r->own_ws;
    ds_model_build(r->model, &model0->cfg);
    st = ds_model_device_create(r->model, r->rt, batch, err);
    for (int i = 0; st == DS_OK && i < ids; i++)
      st = ds_dataset_upload(r->rt, &sets[i], &r->faces[i], err);
    if (st == DS_OK) st = ds_augment_workspace_create(r->rt, (int)batch, face_size, r->ws, err);
    if (st == DS_OK)
      st = ds_buffer_create(r->rt, bytes, CL_MEM_READ_WRITE, "warped batch", &r->own_warped, err);
    if (st == DS_OK)
      st = ds_buffer_create(r->rt, bytes, CL_MEM_READ_WRITE, "target batch", &r->own_target, err);
    r->warped = r->own_warped;
    r->target = r->own_target;
  }
  for (int k = 0; st == DS_OK && k < p->count; k++)
    st = stage_create(&p->rep[k], model0->param_floats * sizeof(float), err);
  if (st == DS_OK && !(p->sum = malloc(model0->param_floats * sizeof(float))))
    st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for the gradient staging");
  return st;
}

void ds_parallel_destroy(ds_parallel *p) {
  if (!p) return;
  for (int k = 0; k < p->count; k++) {
    ds_replica *r = &p->rep[k];
    stage_destroy(r);
    if (!r->owned) continue;
    for (int i = 0; i < DS_MAX_IDENTITIES; i++)
      ds_buffer_release(&r->own_faces[i]);
    ds_buffer_release(&r->own_warped);
    ds_buffer_release(&r->own_target);
    if (r->own_ws.params) ds_augment_workspace_destroy(&r->own_ws);
    if (r->own_model.rt) ds_model_device_destroy(&r->own_model);
    ds_runtime_destroy(r->rt);
    r->rt = NULL;
  }
  free(p->sum);
  pthread_mutex_destroy(&p->lock);
  pthread_mutex_destroy(&p->build_lock);
  pthread_cond_destroy(&p->cond);
  free(p);
}

/* ---- state ---- */

typedef struct state_head {
  long long iteration, adam_step;
  uint64_t rng_state, rng_inc;
} state_head;

/* rank 0 replica 0's params, m, v (in host[3P]) to every replica */
static ds_status spread_state(ds_parallel *p, float *host, ds_error *err) {
  ds_model *m0 = p->rep[0].model;
  const size_t P = m0->param_floats;
  ds_status st = DS_OK;
  if (ds_comm_rank(p->comm) == 0) {
    st = ds_buffer_read(p->rep[0].rt, m0->params, 0, P * 4, host, err);
    if (st == DS_OK) st = ds_buffer_read(p->rep[0].rt, m0->adam_m, 0, P * 4, host + P, err);
    if (st == DS_OK) st = ds_buffer_read(p->rep[0].rt, m0->adam_v, 0, P * 4, host + 2 * P, err);
  }
  if (st == DS_OK) st = ds_comm_broadcast(p->comm, host, 3 * P * 4, err);
  for (int k = ds_comm_rank(p->comm) == 0 ? 1 : 0; st == DS_OK && k < p->count; k++) {
    ds_model *m = p->rep[k].model;
    st = ds_buffer_write(p->rep[k].rt, m->params, 0, P * 4, host, err);
    if (st == DS_OK) st = ds_buffer_write(p->rep[k].rt, m->adam_m, 0, P * 4, host + P, err);
    if (st == DS_OK) st = ds_buffer_write(p->rep[k].rt, m->adam_v, 0, P * 4, host + 2 * P, err);
  }
  return st;
}

ds_status ds_parallel_sync(ds_parallel *p, long long *iteration, ds_rng *rng, ds_error *err) {
  ds_model *m0 = p->rep[0].model;
  state_head h = {*iteration, m0->adam_step, rng->state, rng->inc};
  ds_status st = ds_comm_broadcast(p->comm, &h, sizeof h, err);
  float *host = st == DS_OK ? malloc(3 * m0->param_floats * sizeof *host) : NULL;
  if (st == DS_OK && !host)
    st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for the weights");
  if (st == DS_OK) st = spread_state(p, host, err);
  free(host);
  if (st != DS_OK) return st;
  *iteration = h.iteration;
  rng->state = h.rng_state;
  rng->inc = h.rng_inc;
  for (int k = 0; k < p->count; k++)
    p->rep[k].model->adam_step = h.adam_step;
  return DS_OK;
}

ds_status ds_parallel_verify(ds_parallel *p, int *resynced, ds_error *err) {
  *resynced = 0;
  ds_model *m0 = p->rep[0].model;
  const size_t P = m0->param_floats;
  float *host = malloc(3 * P * sizeof *host);
  if (!host) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for the weights");
  uint64_t mine[2] = {0, 0}, root[2];
  int differ = 0;
  ds_status st = DS_OK;
  for (int k = 0; st == DS_OK && k < p->count; k++) {
    const ds_model *m = p->rep[k].model;
    uint64_t h[2] = {DS_FNV64_INIT, DS_FNV64_INIT};
    st = ds_buffer_read(p->rep[k].rt, m->params, 0, P * 4, host, err);
    if (st == DS_OK) st = ds_buffer_read(p->rep[k].rt, m->adam_m, 0, P * 4, host + P, err);
    if (st == DS_OK) st = ds_buffer_read(p->rep[k].rt, m->adam_v, 0, P * 4, host + 2 * P, err);
    h[0] = ds_fnv64(h[0], host, P * 4);
    h[1] = ds_fnv64(h[1], host + P, 2 * P * 4);
    if (k == 0) memcpy(mine, h, sizeof h);
    if (memcmp(mine, h, sizeof h) != 0) differ = 1;
  }
  memcpy(root, mine, sizeof root);
  if (st == DS_OK) st = ds_comm_broadcast(p->comm, root, sizeof root, err);
  if (st == DS_OK && memcmp(root, mine, sizeof root) != 0) differ = 1;
  if (st == DS_OK) st = ds_comm_max_int(p->comm, &differ, err);
  if (st == DS_OK && differ) {
    st = spread_state(p, host, err);
    *resynced = 1;
  }
  free(host);
  return st;
}

/* ---- one step ---- */

/* Buckets in backward order: the decoder's parameters from the last layer
 * back, then the encoder's. */
static void plan_buckets(ds_parallel *p, int id) {
  const ds_model *m = p->rep[0].model;
  const size_t lo[2] = {m->dec_param_begin[id], 0};
  const size_t hi[2] = {m->dec_param_end[id], m->enc_param_end};
  /* past DS_MAX_BUCKETS / 2 buckets a part, larger buckets (a model of
   * over 3 GB of parameters) */
  size_t size = bucket_floats();
  for (int part = 0; part < 2; part++)
    while ((hi[part] - lo[part] + size - 1) / size > DS_MAX_BUCKETS / 2)
      size *= 2;
  p->buckets = 0;
  for (int part = 0; part < 2; part++) {
    for (size_t e = hi[part]; e > lo[part]; p->buckets++) {
      const size_t b = e - lo[part] > size ? e - size : lo[part];
      p->bucket_begin[p->buckets] = b;
      p->bucket_end[p->buckets] = e;
      e = b;
    }
    if (part == 0) p->dec_buckets = p->buckets;
  }
}

static void mark_staged(ds_parallel *p, ds_replica *r, int staged) {
  pthread_mutex_lock(&p->lock);
  r->staged = staged;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
}

/* Enqueues the read-back of buckets [enqueued, upto) without waiting. */
static ds_status read_buckets(ds_replica *r, int upto, ds_error *err) {
  ds_parallel *p = r->owner;
  for (; r->enqueued < upto; r->enqueued++) {
    const size_t b = p->bucket_begin[r->enqueued], e = p->bucket_end[r->enqueued];
    const cl_int rc =
        clEnqueueReadBuffer(r->rt->queue, r->model->grads, CL_FALSE, b * 4, (e - b) * 4,
                            r->stage + b, 0, NULL, &r->events[r->enqueued]);
    if (rc != CL_SUCCESS)
      return ds_error_set(err, DS_ERR_OPENCL, "cannot read gradients back from %s (%d)",
                          r->rt->device.name, rc);
  }
  return DS_OK;
}

/* After layer l's backward is enqueued: every bucket whose parameters all
 * lie at or above l's (in the decoder part while l is a decoder layer) is
 * complete in the queue, so its read-back can follow. */
static ds_status layer_done(void *user, const ds_layer *l, ds_error *err) {
  ds_replica *r = user;
  ds_parallel *p = r->owner;
  const int in_decoder = l->w_off >= r->model->dec_param_begin[p->id];
  int upto = r->enqueued;
  while (upto < p->buckets &&
         (upto < p->dec_buckets ? !in_decoder || p->bucket_begin[upto] >= l->w_off
                                : !in_decoder && p->bucket_begin[upto] >= l->w_off))
    upto++;
  return read_buckets(r, upto, err);
}

/* A device thread: its share forward and backward, gradients read back
 * bucket by bucket, then the reduced buckets written back and Adam. */
static void *replica_step(void *arg) {
  ds_replica *r = arg;
  ds_parallel *p = r->owner;
  ds_model *m = r->model;
  ds_error *err = &r->err;
  const int id = p->id, n = r->count;
  double loss = 0;
  /* an identity's first step builds (and may tune) the kernels of each
   * runtime and writes them to the shared caches: one replica at a time */
  const int first = !p->stepped[id];
  if (first) pthread_mutex_lock(&p->build_lock);
  ds_status st =
      ds_augment_batch(r->rt, r->faces[id], p->face_size, p->indices + r->first,
                       p->params + r->first, n, p->out_size, r->warped, r->target, r->ws, err);
  if (st == DS_OK) st = ds_model_forward(m, id, r->warped, (unsigned)n, err);
  if (st == DS_OK) st = ds_model_loss(m, id, r->target, (unsigned)n, &loss, err);
  r->enqueued = 0;
  if (st == DS_OK) st = ds_model_backward_each(m, id, (unsigned)n, layer_done, r, err);
  if (st == DS_OK) st = read_buckets(r, p->buckets, err);
  if (first) {
    if (st == DS_OK) st = ds_runtime_finish(r->rt, err);
    pthread_mutex_unlock(&p->build_lock);
  }
  r->loss_sum = loss * n;
  if (st == DS_OK && clFlush(r->rt->queue) != CL_SUCCESS)
    st = ds_error_set(err, DS_ERR_OPENCL, "cannot flush the queue of %s", r->rt->device.name);
  /* hand each bucket to the main thread as its read-back lands */
  for (int k = 0; k < r->enqueued; k++) {
    const cl_int rc = clWaitForEvents(1, &r->events[k]);
    clReleaseEvent(r->events[k]);
    if (st == DS_OK && rc != CL_SUCCESS)
      st = ds_error_set(err, DS_ERR_OPENCL, "reading gradients back from %s failed (%d)",
                        r->rt->device.name, rc);
    if (st == DS_OK) mark_staged(p, r, k + 1);
  }
  r->st = st;
  if (st != DS_OK) {
    mark_staged(p, r, p->buckets);
    return NULL;
  }
  for (int k = 0; st == DS_OK && k < p->buckets; k++) {
    pthread_mutex_lock(&p->lock);
    while (p->reduced <= k && !p->failed)
      pthread_cond_wait(&p->cond, &p->lock);
    const int failed = p->failed;
    pthread_mutex_unlock(&p->lock);
    if (failed) return NULL;
    const size_t b = p->bucket_begin[k], e = p->bucket_end[k];
    st = ds_buffer_write(r->rt, m->grads, b * 4, (e - b) * 4, p->sum + b, err);
  }
  if (st == DS_OK) st = ds_model_adam(m, id, err);
  if (st == DS_OK) st = ds_runtime_finish(r->rt, err);
  r->st = st;
  return NULL;
}

/* The main thread's part of bucket k: the share-weighted sum over local
 * replicas in replica order, then over ranks. */
static ds_status reduce_bucket(ds_parallel *p, int k, ds_error *err) {
  pthread_mutex_lock(&p->lock);
  for (;;) {
    int ready = 1;
    for (int r = 0; r < p->count; r++)
      if (p->rep[r].staged <= k) ready = 0;
    if (ready) break;
    pthread_cond_wait(&p->cond, &p->lock);
  }
  pthread_mutex_unlock(&p->lock);
  for (int r = 0; r < p->count; r++)
    if (p->rep[r].st != DS_OK) {
      *err = p->rep[r].err;
      return p->rep[r].st;
    }
  const size_t b = p->bucket_begin[k], e = p->bucket_end[k];
  float *sum = p->sum;
  const float s0 = (float)((double)p->rep[0].count / p->global_batch);
  const float *g0 = p->rep[0].stage;
  for (size_t i = b; i < e; i++)
    sum[i] = s0 * g0[i];
  for (int r = 1; r < p->count; r++) {
    const float s = (float)((double)p->rep[r].count / p->global_batch);
    const float *g = p->rep[r].stage;
    for (size_t i = b; i < e; i++)
      sum[i] += s * g[i];
  }
  return ds_comm_sum_f32(p->comm, sum + b, e - b, err);
}

ds_status ds_parallel_step(ds_parallel *p, int id, const int *indices,
                           const ds_augment_params *params, double *loss, ds_error *err) {
  plan_buckets(p, id);
  p->id = id;
  p->indices = indices;
  p->params = params;
  p->reduced = 0;
  p->failed = 0;
  int started = 0;
  ds_status st = DS_OK;
  for (int r = 0; r < p->count; r++) {
    p->rep[r].staged = 0;
    p->rep[r].st = DS_OK;
  }
  for (; started < p->count; started++)
    if (pthread_create(&p->rep[started].thread, NULL, replica_step, &p->rep[started]) != 0) {
      st = ds_error_set(err, DS_ERR_NO_MEMORY, "cannot start a device thread");
      break;
    }
  for (int k = 0; st == DS_OK && k < p->buckets; k++) {
    st = reduce_bucket(p, k, err);
    pthread_mutex_lock(&p->lock);
    if (st == DS_OK)
      p->reduced = k + 1;
    else
      p->failed = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
  }
  if (st != DS_OK) {
    pthread_mutex_lock(&p->lock);
    p->failed = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
  }
  for (int r = 0; r < started; r++)
    pthread_join(p->rep[r].thread, NULL);
  p->stepped[id] = 1;
  for (int r = 0; st == DS_OK && r < p->count; r++)
    if (p->rep[r].st != DS_OK) {
      *err = p->rep[r].err;
      st = p->rep[r].st;
    }
  double total = 0;
  for (int r = 0; r < p->count; r++)
    total += p->rep[r].loss_sum;
  if (st == DS_OK) st = ds_comm_sum_f64(p->comm, &total, 1, err);
  *loss = total / p->global_batch;
  return st;
}

ds_status ds_parallel_agree(ds_parallel *p, int *v, ds_error *err) {
  return ds_comm_max_int(p->comm, v, err);
}
