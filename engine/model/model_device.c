/* The model on a device (engine/model/model.h): its memory need and buffers,
 * and the forward pass, the loss, the backward pass and Adam over them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/model/model.h"
#include "engine/nn/ops.h"
#include "engine/tensor/vector.h"
#include "host/buffer.h"

static size_t act_floats(const ds_layer *l, unsigned n) {
  return (size_t)n * l->oh * l->ow * l->oc;
}

void ds_layer_conv2d(const ds_layer *l, unsigned n, ds_conv2d *c) {
  ds_conv2d_same(c, n, l->h, l->w, l->c, l->oc, l->k, l->stride, l->act);
}

void ds_layer_dense(const ds_layer *l, unsigned n, ds_dense *d) {
  d->n = n;
  d->in = l->h * l->w * l->c;
  d->out = l->oh * l->ow * l->oc;
  d->act = l->act;
}

/* Scratch: for every layer, room for up to 16 M floats (64 MiB) of gathered
 * patches so the GEMMs stay large, on top of what must sit there whole (the
 * transposed weights of a convolution's backward-data pass, a dense layer's
 * transposed weights). */
static size_t scratch_floats(const ds_model *m, unsigned batch) {
  const size_t budget = (size_t)16 << 20;
  size_t need = 0;
  for (int i = 0; i < m->layer_count; i++) {
    const ds_layer *l = &m->layers[i];
    size_t n = 0;
    if (l->kind == DS_LAYER_CONV) {
      ds_conv2d c;
      ds_layer_conv2d(l, batch, &c);
      const size_t kk = (size_t)c.k * c.k;
      const size_t wt = (kk * c.cin * c.cout + 15) / 16 * 16;
      size_t fwd = (size_t)batch * c.oh * c.ow * kk * c.cin;
      size_t bwd = (size_t)batch * c.h * c.w * kk * c.cout;
      if (fwd > budget) fwd = budget;
      if (bwd > budget) bwd = budget;
      n = fwd > wt + bwd ? fwd : wt + bwd;
      if (n < ds_conv2d_scratch_min(&c)) n = ds_conv2d_scratch_min(&c);
    } else if (l->kind == DS_LAYER_DENSE) {
      ds_dense d;
      ds_layer_dense(l, batch, &d);
      n = ds_dense_scratch_min(&d);
    }
    if (n > need) need = n;
  }
  return need;
}

/* Pack workspace for the GEMMs of every layer at this batch and scratch. */
static size_t pack_floats(const ds_model *m, const ds_runtime *rt, unsigned batch) {
  const size_t scratch = scratch_floats(m, batch);
  size_t need = 0;
  for (int i = 0; i < m->layer_count; i++) {
    const ds_layer *l = &m->layers[i];
    size_t n = 0;
    if (l->kind == DS_LAYER_CONV) {
      ds_conv2d c;
      ds_layer_conv2d(l, batch, &c);
      n = ds_conv2d_pack_floats(rt, &c, scratch);
    } else if (l->kind == DS_LAYER_DENSE) {
      ds_dense d;
      ds_layer_dense(l, batch, &d);
      n = ds_dense_pack_floats(rt, &d);
    }
    if (n > need) need = n;
  }
  return need;
}

static size_t loss_maps_floats(const ds_model *m, unsigned batch) {
  const unsigned S = (unsigned)m->cfg.input_size;
  return ds_loss_set_maps_floats(m->cfg.loss, m->cfg.loss_count, batch, S, S,
                                 (unsigned)m->cfg.input_channels);
}

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* the last layer's output: C channels, or C + 1 with decoder.mask */
static size_t out_floats(const ds_model *m, unsigned batch) {
  return act_floats(ds_model_path_layer(m, 0, ds_model_path_length(m) - 1), batch);
}

static size_t out_pixels(const ds_model *m, unsigned n) {
  return (size_t)n * m->cfg.input_size * m->cfg.input_size;
}

/* Every buffer device_create makes (which the checks and the estimate share),
 * and the host copies of the parameters at the peak: a training run holds
 * weights and both Adam moments on the host while it saves or resumes, an
 * inference run the weights it loaded. */
void ds_model_memory_need(const ds_model *m, const ds_runtime *rt, unsigned batch, int training,
                          ds_memory_need *need) {
  const uint64_t params = 4 * (uint64_t)m->param_floats;
  const uint64_t scratch = 4 * (uint64_t)scratch_floats(m, batch);
  const uint64_t pack = 4 * (uint64_t)pack_floats(m, rt, batch);
  uint64_t largest =
      4 * (uint64_t)batch * m->cfg.input_size * m->cfg.input_size * m->cfg.input_channels;
  uint64_t acts = largest;
  for (int p = 0; p < ds_model_path_length(m); p++) {
    uint64_t a = 4 * (uint64_t)act_floats(ds_model_path_layer(m, 0, p), batch);
    acts += a;
    largest = max_u64(largest, a);
  }
  /* decoder.mask: the image and the mask split out (and their gradients) */
  const uint64_t split = m->cfg.dec_mask ? 4 * (uint64_t)out_floats(m, batch) : 0;
  acts += split;
  memset(need, 0, sizeof *need);
  snprintf(need->what, sizeof need->what, "model '%s' at batch %u", m->cfg.name, batch);
  /* training adds gradients, both moments, two activation-gradient buffers
   * as large as the largest activation, the loss terms' partial sums, maps
   * and results, and with train.face_area two weighted output batches */
  uint64_t loss = 0, maps = 0;
  if (training) {
    maps = 4 * (uint64_t)loss_maps_floats(m, batch);
    loss = 4 * ((uint64_t)ds_loss_set_partials_floats(m->cfg.loss_count) + 2 * DS_MAX_IDENTITIES +
                ds_loss_set_partials_floats(1)) +
           maps + split;
    if (m->cfg.face_area.on)
      loss += 2 * 4 *
              (uint64_t)act_floats(ds_model_path_layer(m, 0, ds_model_path_length(m) - 1), batch);
  }
  need->device_bytes =
      (training ? 4 * params + 2 * largest + loss : params) + acts + scratch + pack;
  need->largest_buffer = max_u64(max_u64(max_u64(params, largest), max_u64(scratch, pack)), maps);
  need->host_bytes = (training ? 3 : 1) * params;
}

uint64_t ds_model_device_bytes(const ds_model *m, const ds_runtime *rt, unsigned batch) {
  ds_memory_need need;
  ds_model_memory_need(m, rt, batch, 1, &need);
  return need.device_bytes;
}

ds_status ds_model_memory_check(const ds_memory_need *need, const ds_runtime *rt, unsigned batch,
                                ds_error *err) {
  char hint[96];
  snprintf(hint, sizeof hint,
           "try a smaller --batch (now %u) or a smaller config such as "
           "configs/lowmem.json",
           batch);
  return ds_memory_check(&rt->device, need, ds_host_memory_available(), hint, err);
}

static ds_status make(ds_model *m, size_t floats, const char *what, cl_mem *out, ds_error *err) {
  ds_status st = ds_buffer_create(m->rt, floats * sizeof(float), CL_MEM_READ_WRITE, what, out, err);
  if (st == DS_ERR_NO_MEMORY)
    ds_error_append(err,
                    "; try a smaller --batch (now %u) or a smaller config such as "
                    "configs/lowmem.json",
                    m->batch);
  return st;
}

/* training: gradients, Adam moments, activation gradients and loss sums too */
static ds_status device_create(ds_model *m, ds_runtime *rt, unsigned batch, int training,
                               ds_error *err) {
  m->rt = rt;
  m->batch = batch;
  ds_memory_need need;
  ds_model_memory_need(m, rt, batch, training, &need);
  ds_status st = ds_model_memory_check(&need, rt, batch, err);
  if (st != DS_OK) return st;
  st = make(m, m->param_floats, "parameters", &m->params, err);
  if (st == DS_OK && training) st = make(m, m->param_floats, "gradients", &m->grads, err);
  if (st == DS_OK && training) st = make(m, m->param_floats, "Adam first moments", &m->adam_m, err);
  if (st == DS_OK && training)
    st = make(m, m->param_floats, "Adam second moments", &m->adam_v, err);
  cl_mem zero[4] = {m->params, m->grads, m->adam_m, m->adam_v};
  for (int i = 0; i < (training ? 4 : 1) && st == DS_OK; i++)
    st = ds_fill_f32(rt, zero[i], 0.0f, m->param_floats, err);

  size_t largest = (size_t)batch * m->cfg.input_size * m->cfg.input_size * m->cfg.input_channels;
  if (st == DS_OK) st = make(m, largest, "input batch", &m->act[0], err);
  for (int p = 0; st == DS_OK && p < ds_model_path_length(m); p++) {
    const ds_layer *l = ds_model_path_layer(m, 0, p);
    size_t a = act_floats(l, batch);
    if (a > largest) largest = a;
    st = make(m, a, "activations", &m->act[p + 1], err);
  }
  if (st == DS_OK && training) st = make(m, largest, "activation gradients", &m->dbuf[0], err);
  if (st == DS_OK && training) st = make(m, largest, "activation gradients", &m->dbuf[1], err);
  m->scratch.floats = scratch_floats(m, batch);
  if (st == DS_OK) st = make(m, m->scratch.floats, "patch scratch", &m->scratch.buf, err);
  m->scratch.pack_floats = pack_floats(m, rt, batch);
  if (st == DS_OK) st = make(m, m->scratch.pack_floats, "GEMM packing", &m->scratch.pack, err);
  if (st == DS_OK && training)
    st = make(m, ds_loss_set_partials_floats(m->cfg.loss_count), "loss partial sums",
              &m->loss_partials, err);
  if (st == DS_OK && training && loss_maps_floats(m, batch))
    st = make(m, loss_maps_floats(m, batch), "loss maps", &m->loss_maps, err);
  if (st == DS_OK && training) st = make(m, 2 * DS_MAX_IDENTITIES, "losses", &m->loss_out, err);
  const size_t pixels = out_pixels(m, batch), image = pixels * m->cfg.input_channels;
  for (int i = 0; i < 2 && st == DS_OK && training && m->cfg.face_area.on; i++)
    st = make(m, image, "face-area weighted images", &m->weighted[i], err);
  if (st == DS_OK && m->cfg.dec_mask) st = make(m, image, "output images", &m->out_image, err);
  if (st == DS_OK && m->cfg.dec_mask) st = make(m, pixels, "output masks", &m->out_mask, err);
  if (st == DS_OK && training && m->cfg.dec_mask)
    st = make(m, image, "image gradients", &m->d_image, err);
  if (st == DS_OK && training && m->cfg.dec_mask)
    st = make(m, pixels, "mask gradients", &m->d_mask, err);
  if (st == DS_OK && training && m->cfg.dec_mask)
    st = make(m, ds_loss_set_partials_floats(1), "mask loss partial sums", &m->mask_partials, err);
  if (st != DS_OK) ds_model_device_destroy(m);
  return st;
}

ds_status ds_model_device_create(ds_model *m, ds_runtime *rt, unsigned batch, ds_error *err) {
  return device_create(m, rt, batch, 1, err);
}

ds_status ds_model_device_create_inference(ds_model *m, ds_runtime *rt, unsigned batch,
                                           ds_error *err) {
  return device_create(m, rt, batch, 0, err);
}

static ds_status need_training(const ds_model *m, ds_error *err) {
  return m->grads
             ? DS_OK
             : ds_error_set(err, DS_ERR_INVALID,
                            "model '%s' was set up on the device for inference only", m->cfg.name);
}

void ds_model_device_destroy(ds_model *m) {
  ds_buffer_release(&m->params);
  ds_buffer_release(&m->grads);
  ds_buffer_release(&m->adam_m);
  ds_buffer_release(&m->adam_v);
  for (int i = 0; i <= DS_MAX_MODEL_LAYERS; i++)
    ds_buffer_release(&m->act[i]);
  ds_buffer_release(&m->dbuf[0]);
  ds_buffer_release(&m->dbuf[1]);
  ds_buffer_release(&m->scratch.buf);
  ds_buffer_release(&m->scratch.pack);
  ds_buffer_release(&m->loss_partials);
  ds_buffer_release(&m->loss_maps);
  ds_buffer_release(&m->loss_out);
  ds_buffer_release(&m->weighted[0]);
  ds_buffer_release(&m->weighted[1]);
  ds_buffer_release(&m->out_image);
  ds_buffer_release(&m->out_mask);
  ds_buffer_release(&m->d_image);
  ds_buffer_release(&m->d_mask);
  ds_buffer_release(&m->mask_partials);
  m->loss_weights = NULL;
  m->mask_target = NULL;
  m->rt = NULL;
}

ds_status ds_model_forward(ds_model *m, int id, cl_mem input, unsigned n, ds_error *err) {
  if (n > m->batch)
    return ds_error_set(err, DS_ERR_INVALID, "batch of %u exceeds the %u the model was set up for",
                        n, m->batch);
  m->input = input ? input : m->act[0];
  ds_status st = DS_OK;
  for (int p = 0; st == DS_OK && p < ds_model_path_length(m); p++) {
    const ds_layer *l = ds_model_path_layer(m, id, p);
    cl_mem x = p == 0 ? m->input : m->act[p], y = m->act[p + 1];
    if (l->kind == DS_LAYER_CONV) {
      ds_conv2d c;
      ds_layer_conv2d(l, n, &c);
      st = ds_conv2d_forward(m->rt, &c, y, x, m->params, l->w_off, l->b_off, &m->scratch, err);
    } else if (l->kind == DS_LAYER_DENSE) {
      ds_dense d;
      ds_layer_dense(l, n, &d);
      st = ds_dense_forward(m->rt, &d, y, x, m->params, l->w_off, l->b_off, &m->scratch, err);
    } else {
      st = ds_pixel_shuffle_forward(m->rt, y, x, n, l->h, l->w, l->oc, err);
    }
  }
  if (st == DS_OK && m->cfg.dec_mask)
    st = ds_channel_split(m->rt, m->out_image, m->out_mask, m->act[ds_model_path_length(m)],
                          out_pixels(m, n), (unsigned)m->cfg.input_channels, err);
  return st;
}

cl_mem ds_model_output(const ds_model *m) {
  return m->cfg.dec_mask ? m->out_image : m->act[ds_model_path_length(m)];
}

cl_mem ds_model_output_mask(const ds_model *m) { return m->cfg.dec_mask ? m->out_mask : NULL; }

/* decoder.mask: the term train.mask_weight x the mask's mean squared error
 * (its value to loss_out[DS_MAX_IDENTITIES + id], its gradient to d_mask),
 * then the image's and the mask's gradients merged into dy */
static ds_status mask_loss(ds_model *m, int id, unsigned n, cl_mem dy, ds_error *err) {
  if (!m->mask_target)
    return ds_error_set(err, DS_ERR_INVALID,
                        "model '%s' learns a mask (decoder.mask) but was given no mask targets",
                        m->cfg.name);
  const unsigned S = (unsigned)m->cfg.input_size, C = (unsigned)m->cfg.input_channels;
  const ds_loss_term mse = {DS_LOSS_KIND_MSE, m->cfg.mask_weight};
  ds_status st = ds_loss_set_forward_backward(m->rt, &mse, 1, m->d_mask, m->out_mask,
                                              m->mask_target, n, S, S, 1, NULL, m->mask_partials,
                                              m->loss_out, (unsigned)(DS_MAX_IDENTITIES + id), err);
  if (st == DS_OK)
    st = ds_channel_merge(m->rt, dy, m->d_image, m->d_mask, out_pixels(m, n), C, err);
  return st;
}

ds_status ds_model_loss(ds_model *m, int id, cl_mem target, unsigned n, double *loss,
                        ds_error *err) {
  if (need_training(m, err) != DS_OK) return DS_ERR_INVALID;
  const unsigned S = (unsigned)m->cfg.input_size, C = (unsigned)m->cfg.input_channels;
  cl_mem y = ds_model_output(m), t = target, dy = m->cfg.dec_mask ? m->d_image : m->dbuf[0];
  const size_t pixels = out_pixels(m, n);
  ds_status st = DS_OK;
  if (m->loss_weights) {
    st = ds_loss_weights_apply(m->rt, m->weighted[0], m->weighted[1], y, t, m->loss_weights, pixels,
                               C, err);
    y = m->weighted[0], t = m->weighted[1];
  }
  if (st == DS_OK)
    st = ds_loss_set_forward_backward(m->rt, m->cfg.loss, m->cfg.loss_count, dy, y, t, n, S, S, C,
                                      m->loss_maps, m->loss_partials, m->loss_out, (unsigned)id,
                                      err);
  if (st == DS_OK && m->loss_weights)
    st = ds_loss_weights_gradient(m->rt, dy, m->loss_weights, pixels, C, err);
  if (st == DS_OK && m->cfg.dec_mask) st = mask_loss(m, id, n, m->dbuf[0], err);
  float v = 0.0f;
  if (st == DS_OK && loss)
    st = ds_buffer_read(m->rt, m->loss_out, id * sizeof v, sizeof v, &v, err);
  if (loss) *loss = v;
  return st;
}

ds_status ds_model_set_loss_weights(ds_model *m, cl_mem weights, ds_error *err) {
  if (weights && !m->weighted[0])
    return ds_error_set(
        err, DS_ERR_INVALID,
        "model '%s' was set up without train.face_area, so it takes no loss weights", m->cfg.name);
  m->loss_weights = weights;
  return DS_OK;
}

ds_status ds_model_set_mask_target(ds_model *m, cl_mem target, ds_error *err) {
  if (target && !m->cfg.dec_mask)
    return ds_error_set(
        err, DS_ERR_INVALID,
        "model '%s' has no mask channel (decoder.mask), so it takes no mask targets", m->cfg.name);
  m->mask_target = target;
  return DS_OK;
}

static ds_status read_losses(ds_model *m, int first, int count, double scale, double *loss,
                             ds_error *err) {
  if (need_training(m, err) != DS_OK) return DS_ERR_INVALID;
  float v[DS_MAX_IDENTITIES];
  ds_status st = ds_buffer_read(m->rt, m->loss_out, (size_t)first * sizeof *v,
                                (size_t)count * sizeof *v, v, err);
  for (int i = 0; i < count; i++)
    loss[i] = st == DS_OK ? v[i] * scale : NAN;
  return st;
}

ds_status ds_model_read_losses(ds_model *m, int count, double *loss, ds_error *err) {
  return read_losses(m, 0, count, 1.0, loss, err);
}

ds_status ds_model_read_mask_losses(ds_model *m, int count, double *loss, ds_error *err) {
  if (!m->cfg.dec_mask)
    return ds_error_set(err, DS_ERR_INVALID, "model '%s' has no mask channel (decoder.mask)",
                        m->cfg.name);
  return read_losses(m, DS_MAX_IDENTITIES, count, 1.0 / m->cfg.mask_weight, loss, err);
}

ds_status ds_model_backward(ds_model *m, int id, unsigned n, ds_error *err) {
  return ds_model_backward_each(m, id, n, NULL, NULL, err);
}

ds_status ds_model_backward_each(ds_model *m, int id, unsigned n, ds_layer_done done, void *user,
                                 ds_error *err) {
  if (need_training(m, err) != DS_OK) return DS_ERR_INVALID;
  int cur = 0;
  ds_status st = DS_OK;
  for (int p = ds_model_path_length(m) - 1; st == DS_OK && p >= 0; p--) {
    const ds_layer *l = ds_model_path_layer(m, id, p);
    cl_mem dy = m->dbuf[cur], dx = p > 0 ? m->dbuf[1 - cur] : NULL;
    cl_mem x = p == 0 ? m->input : m->act[p], y = m->act[p + 1];
    if (l->kind == DS_LAYER_CONV) {
      ds_conv2d c;
      ds_layer_conv2d(l, n, &c);
      st = ds_conv2d_backward(m->rt, &c, dx, m->grads, l->w_off, l->b_off, dy, x, y, m->params,
                              l->w_off, &m->scratch, err);
    } else if (l->kind == DS_LAYER_DENSE) {
      ds_dense d;
      ds_layer_dense(l, n, &d);
      st = ds_dense_backward(m->rt, &d, dx, m->grads, l->w_off, l->b_off, dy, x, y, m->params,
                             l->w_off, &m->scratch, err);
    } else {
      st = ds_pixel_shuffle_backward(m->rt, dx, dy, n, l->h, l->w, l->oc, err);
    }
    if (st == DS_OK && done && l->kind != DS_LAYER_SHUFFLE) st = done(user, l, err);
    cur = 1 - cur;
  }
  return st;
}

ds_status ds_model_adam(ds_model *m, int id, ds_error *err) {
  if (need_training(m, err) != DS_OK) return DS_ERR_INVALID;
  ds_adam a = {m->cfg.lr, m->cfg.beta1, m->cfg.beta2, m->cfg.epsilon};
  long long s = ++m->adam_step;
  ds_status st = ds_adam_step(m->rt, &a, s, m->params, m->grads, m->adam_m, m->adam_v, 0,
                              m->enc_param_end, err);
  size_t b = m->dec_param_begin[id], e = m->dec_param_end[id];
  if (st == DS_OK)
    st = ds_adam_step(m->rt, &a, s, m->params, m->grads, m->adam_m, m->adam_v, b, e - b, err);
  return st;
}

ds_status ds_model_train_step(ds_model *m, int id, cl_mem input, cl_mem target, unsigned n,
                              double *loss, ds_error *err) {
  ds_status st = ds_model_forward(m, id, input, n, err);
  if (st == DS_OK) st = ds_model_loss(m, id, target, n, loss, err);
  if (st == DS_OK) st = ds_model_backward(m, id, n, err);
  if (st == DS_OK) st = ds_model_adam(m, id, err);
  return st;
}
