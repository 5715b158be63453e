/* The model's layout (engine/model/model.h): layers, parameter offsets and
 * names as MODEL.md fixes them, and the Keras-default initialisation. The
 * model on a device: model_device.c. */
#include "engine/model/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>


enum { ALIGN = 16 };

static size_t align_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

static ds_layer *add_layer(ds_model *m, const char *name, ds_layer_kind kind, unsigned h,
                           unsigned w, unsigned c) {
  ds_layer *l = &m->layers[m->layer_count++];
  memset(l, 0, sizeof *l);
  snprintf(l->name, sizeof l->name, "%s", name);
  l->kind = kind;
  l->h = h;
  l->w = w;
  l->c = c;
  return l;
}

static void add_params(ds_model *m, ds_layer *l, size_t w_count, size_t b_count) {
  l->w_off = align_up(m->param_floats);
  l->w_count = w_count;
  l->b_off = align_up(l->w_off + w_count);
  l->b_count = b_count;
  m->param_floats = l->b_off + b_count;
}

/* conv k x k, 'same', then act; returns the output shape through the layer */
static ds_layer *add_conv(ds_model *m, const char *name, unsigned h, unsigned w, unsigned c,
                          unsigned cout, unsigned k, unsigned stride, ds_act act) {
  ds_layer *l = add_layer(m, name, DS_LAYER_CONV, h, w, c);
  l->k = k;
  l->stride = stride;
  l->act = act;
  l->oh = (h + stride - 1) / stride;
  l->ow = (w + stride - 1) / stride;
  l->oc = cout;
  add_params(m, l, (size_t)k * k * c * cout, cout);
  return l;
}

/* upscale(f): conv 3x3 to 4f + lrelu, then the pixel shuffle to 2h x 2w x f */
static void add_upscale(ds_model *m, const char *name, unsigned *h, unsigned *w, unsigned *c,
                        unsigned f) {
  add_conv(m, name, *h, *w, *c, 4 * f, 3, 1, DS_ACT_LRELU);
  char sname[64];
  if (strlen(name) > sizeof sname - 9) name = "shuffle";
  snprintf(sname, sizeof sname, "%s.shuffle", name);
  ds_layer *s = add_layer(m, sname, DS_LAYER_SHUFFLE, *h, *w, 4 * f);
  s->oh = 2 * *h;
  s->ow = 2 * *w;
  s->oc = f;
  *h *= 2;
  *w *= 2;
  *c = f;
}

void ds_model_build(ds_model *m, const ds_model_config *cfg) {
  memset(m, 0, sizeof *m);
  m->cfg = *cfg;
  unsigned h = (unsigned)cfg->input_size, w = h, c = (unsigned)cfg->input_channels;
  char name[48];
  for (int i = 0; i < cfg->enc_conv_count; i++) {
    snprintf(name, sizeof name, "encoder.conv%d", i);
    ds_layer *l = add_conv(m, name, h, w, c, (unsigned)cfg->enc_conv[i], (unsigned)cfg->kernel, 2,
                           DS_ACT_LRELU);
    h = l->oh, w = l->ow, c = l->oc;
  }
  ds_layer *d0 = add_layer(m, "encoder.dense0", DS_LAYER_DENSE, h, w, c);
  d0->oh = d0->ow = 1;
  d0->oc = (unsigned)cfg->dense;
  add_params(m, d0, (size_t)h * w * c * d0->oc, d0->oc);
  ds_layer *d1 = add_layer(m, "encoder.dense1", DS_LAYER_DENSE, 1, 1, d0->oc);
  /* the reshape to the bottleneck is free: NHWC is already (h, w, c) order */
  d1->oh = (unsigned)cfg->bottleneck[0];
  d1->ow = (unsigned)cfg->bottleneck[1];
  d1->oc = (unsigned)cfg->bottleneck[2];
  add_params(m, d1, (size_t)d0->oc * d1->oh * d1->ow * d1->oc, (size_t)d1->oh * d1->ow * d1->oc);
  h = d1->oh, w = d1->ow, c = d1->oc;
  add_upscale(m, "encoder.upscale0", &h, &w, &c, (unsigned)cfg->enc_upscale);
  m->enc_layers = m->layer_count;
  m->enc_param_end = m->param_floats;

  const unsigned dh = h, dw = w, dc = c;
  for (int id = 0; id < cfg->decoder_count; id++) {
    h = dh, w = dw, c = dc;
    m->dec_first[id] = m->layer_count;
    m->dec_param_begin[id] = align_up(m->param_floats);
    for (int i = 0; i < cfg->dec_upscale_count; i++) {
      snprintf(name, sizeof name, "decoder.%s.upscale%d", cfg->decoders[id], i);
      add_upscale(m, name, &h, &w, &c, (unsigned)cfg->dec_upscale[i]);
    }
    snprintf(name, sizeof name, "decoder.%s.out", cfg->decoders[id]);
    add_conv(m, name, h, w, c, (unsigned)(cfg->input_channels + cfg->dec_mask),
             (unsigned)cfg->out_kernel, 1,
             DS_ACT_SIGMOID);
    m->dec_param_end[id] = m->param_floats;
    m->dec_layers = m->layer_count - m->dec_first[id];
  }
  m->param_floats = align_up(m->param_floats);
}

int ds_model_path_length(const ds_model *m) { return m->enc_layers + m->dec_layers; }

const ds_layer *ds_model_path_layer(const ds_model *m, int id, int p) {
  return p < m->enc_layers ? &m->layers[p] : &m->layers[m->dec_first[id] + p - m->enc_layers];
}

ds_status ds_model_tensor_set(const ds_model *m, const char *prefix, ds_tensor_set *set,
                              ds_error *err) {
  const uint64_t base = set->data_count;
  char name[DS_TENSOR_NAME_MAX];
  for (int i = 0; i < m->layer_count; i++) {
    const ds_layer *l = &m->layers[i];
    if (l->kind == DS_LAYER_SHUFFLE) continue;
    int64_t wshape[4], bshape[1] = {(int64_t)l->b_count};
    int nd;
    if (l->kind == DS_LAYER_CONV) {
      wshape[0] = wshape[1] = l->k, wshape[2] = l->c, wshape[3] = l->oc;
      nd = 4;
    } else {
      wshape[0] = (int64_t)l->h * l->w * l->c, wshape[1] = (int64_t)l->b_count;
      nd = 2;
    }
    snprintf(name, sizeof name, "%s%s.weight", prefix, l->name);
    ds_status st = ds_tensor_set_add(set, name, nd, wshape, err);
    snprintf(name, sizeof name, "%s%s.bias", prefix, l->name);
    if (st == DS_OK) st = ds_tensor_set_add(set, name, 1, bshape, err);
    if (st != DS_OK) {
      ds_tensor_set_free(set);
      return st;
    }
    /* the layout contract: the set mirrors the parameter buffer */
    if (ds_tensor_set_find(set, name)->offset != base + l->b_off) {
      ds_tensor_set_free(set);
      return ds_error_set(err, DS_ERR_INVALID, "tensor layout of %s differs from the model's",
                          l->name);
    }
  }
  return DS_OK;
}

float ds_uniform(uint64_t seed, uint64_t tensor, uint64_t index) {
  const uint64_t golden = 0x9E3779B97F4A7C15ull;
  uint64_t z = seed ^ (golden * (tensor + 1));
  z += golden * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (float)(z >> 40) * (1.0f / 16777216.0f);
}

void ds_model_init_params(const ds_model *m, uint64_t seed, float *params) {
  memset(params, 0, m->param_floats * sizeof *params);
  uint64_t t = 0;
  for (int i = 0; i < m->layer_count; i++) {
    const ds_layer *l = &m->layers[i];
    if (l->kind == DS_LAYER_SHUFFLE) continue;
    double fan_in, fan_out;
    if (l->kind == DS_LAYER_CONV) {
      fan_in = (double)l->k * l->k * l->c;
      fan_out = (double)l->k * l->k * l->oc;
    } else {
      fan_in = (double)l->h * l->w * l->c;
      fan_out = (double)l->b_count;
    }
    /* Keras glorot_uniform; the limit rounded to float once, as the
     * PyTorch reference does */
    const float limit = (float)sqrt(6.0 / (fan_in + fan_out));
    float *wp = params + l->w_off;
    for (size_t e = 0; e < l->w_count; e++)
      wp[e] = (2.0f * ds_uniform(seed, t, e) - 1.0f) * limit;
    t += 2; /* the bias, zero, is tensor t + 1 */
  }
}
