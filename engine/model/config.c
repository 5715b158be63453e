/* Model configs (engine/model/config.h): reading a file, validating every key
 * and the shapes the network would have; parameter counts. Writing and
 * comparing: config_out.c; train.loss and train.face_area: config_loss.c. */
#include "engine/model/config.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "engine/model/config_loss.h"

/* Limits that keep every size the engine derives from a config inside int
 * and int64 arithmetic: a 4096 input is already far past any face model, and
 * 2^31 parameters in one layer is 8 GiB of float32 weights. */
enum { MAX_INPUT_SIZE = 4096, MAX_FILE_BYTES = 1 << 20, MAX_MODEL_LAYERS = 2 * DS_MAX_LAYERS + 4 };
static const int64_t MAX_LAYER_PARAMS = (int64_t)1 << 31;

/* the validation layer of every JSON file we read (core/json_read.h) */
typedef ds_json_reader parser;
#define TRY DS_JSON_TRY

static ds_status read_positive(parser *p, const cJSON *v, const char *key, int *out) {
  return ds_json_read_int(p, v, key, 1, INT_MAX, "a positive integer", out);
}

static ds_status read_odd(parser *p, const cJSON *v, const char *key, int *out) {
  const char *expect = "an odd positive integer (the kernel is centred on a pixel)";
  TRY(ds_json_read_int(p, v, key, 1, INT_MAX, expect, out));
  return *out % 2 ? DS_OK : ds_json_fail_type(p, key, expect, v);
}

typedef struct range {
  double lo, hi;
  int lo_open, hi_open;
  const char *expect;
} range;

static const range POSITIVE = {0, INFINITY, 1, 0, "a number > 0"};
static const range UNIT_OPEN = {0, 1, 0, 1, "a number in [0, 1)"};
static const range UNIT_CLOSED = {0, 1, 0, 0, "a number in [0, 1]"};
static const range DEGREES = {0, 180, 0, 0, "a number of degrees in [0, 180]"};

static int in_range(double x, const range *r) {
  if (!isfinite(x)) return 0;
  if (r->lo_open ? !(x > r->lo) : !(x >= r->lo)) return 0;
  return r->hi_open ? x < r->hi : x <= r->hi;
}

/* A float field is checked as the float it becomes: beta1 = 0.9999999999
 * rounds to 1 in float32, outside [0, 1). */
static ds_status read_real(parser *p, const cJSON *v, const char *key, const range *r, int as_float,
                           double *out) {
  if (!cJSON_IsNumber(v) || !in_range(v->valuedouble, r))
    return ds_json_fail_type(p, key, r->expect, v);
  double x = as_float ? (double)(float)v->valuedouble : v->valuedouble;
  if (!in_range(x, r)) {
    char got[40], as[40];
    ds_json_shortest(got, sizeof got, v->valuedouble, 0);
    ds_json_shortest(as, sizeof as, x, 1);
    return ds_json_fail(p, key, "expected %s, got %s, which is %s as float32", r->expect, got, as);
  }
  *out = x;
  return DS_OK;
}

static ds_status read_float(parser *p, const cJSON *v, const char *key, const range *r,
                            float *out) {
  double x;
  TRY(read_real(p, v, key, r, 1, &x));
  *out = (float)x;
  return DS_OK;
}

/* An array of lo..hi positive integers; expect reads "an array of <expect>". */
static ds_status read_int_array(parser *p, const cJSON *v, const char *key, int lo, int hi,
                                const char *expect, int *out, int *count) {
  char full[128], ekey[DS_JSON_KEY_MAX];
  snprintf(full, sizeof full, "an array of %s", expect);
  if (!cJSON_IsArray(v)) return ds_json_fail_type(p, key, full, v);
  int n = cJSON_GetArraySize(v);
  if (n < lo || n > hi) return ds_json_fail(p, key, "expected %s, got %d entries", full, n);
  int i = 0;
  for (const cJSON *item = v->child; item; item = item->next, i++)
    TRY(read_positive(p, item, ds_json_index_key(ekey, key, i), &out[i]));
  if (count) *count = n;
  return DS_OK;
}

static ds_status read_name(parser *p, const cJSON *v, char *out) {
  const char *expect = "a string of 1 to 63 printable characters";
  if (!cJSON_IsString(v)) return ds_json_fail_type(p, "name", expect, v);
  size_t n = strlen(v->valuestring);
  int printable_only = 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)v->valuestring[i];
    printable_only &= ch >= 0x20 && ch != 0x7f;
  }
  if (n < 1 || n > 63 || !printable_only) return ds_json_fail_type(p, "name", expect, v);
  memcpy(out, v->valuestring, n + 1);
  return DS_OK;
}

static int valid_identity(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 31) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
             ch == '_' || ch == '-';
    if (!ok) return 0;
  }
  return 1;
}

static ds_status read_decoders(parser *p, const cJSON *v, ds_model_config *c) {
  const char *rule = "1 to 31 letters, digits, '_' or '-'";
  char key[DS_JSON_KEY_MAX], got[64], expect[96];
  snprintf(expect, sizeof expect, "an array of 2 to %d identity names", DS_MAX_IDENTITIES);
  if (!cJSON_IsArray(v)) return ds_json_fail_type(p, "decoders", expect, v);
  int n = cJSON_GetArraySize(v);
  if (n < 2)
    return ds_json_fail(p, "decoders",
                        "expected at least 2 identity names (a swap needs two), got %d", n);
  if (n > DS_MAX_IDENTITIES)
    return ds_json_fail(p, "decoders", "at most %d identities are supported, got %d",
                        DS_MAX_IDENTITIES, n);
  int i = 0;
  for (const cJSON *item = v->child; item; item = item->next, i++) {
    ds_json_index_key(key, "decoders", i);
    if (!cJSON_IsString(item)) {
      snprintf(expect, sizeof expect, "an identity name (%s)", rule);
      return ds_json_fail_type(p, key, expect, item);
    }
    if (!valid_identity(item->valuestring))
      return ds_json_fail(p, key, "invalid identity name %s; use %s",
                          ds_json_describe(item, got, sizeof got), rule);
    for (int j = 0; j < i; j++) {
      if (strcmp(c->decoders[j], item->valuestring) == 0)
        return ds_json_fail(p, key,
                            "duplicate identity %s (also decoders[%d]); give each a unique name",
                            ds_json_describe(item, got, sizeof got), j);
    }
    memcpy(c->decoders[i], item->valuestring, strlen(item->valuestring) + 1);
  }
  c->decoder_count = n;
  return DS_OK;
}

static ds_status read_network(parser *p, const cJSON *root, ds_model_config *c) {
  static const char *const input_keys[] = {"size", "channels", NULL};
  static const char *const encoder_keys[] = {"conv",       "kernel",  "dense",
                                             "bottleneck", "upscale", NULL};
  static const char *const decoder_keys[] = {"upscale", "out_kernel", "mask", NULL};
  char expect[64];

  TRY(read_name(p, ds_json_member(root, "name"), c->name));

  const cJSON *in = ds_json_member(root, "input");
  TRY(ds_json_check_object(p, in, "input", input_keys));
  snprintf(expect, sizeof expect, "an integer from 1 to %d", MAX_INPUT_SIZE);
  TRY(ds_json_read_int(p, ds_json_member(in, "size"), "input.size", 1, MAX_INPUT_SIZE, expect,
                       &c->input_size));
  TRY(read_positive(p, ds_json_member(in, "channels"), "input.channels", &c->input_channels));

  const cJSON *enc = ds_json_member(root, "encoder");
  TRY(ds_json_check_object(p, enc, "encoder", encoder_keys));
  snprintf(expect, sizeof expect, "1 to %d positive integers", DS_MAX_LAYERS);
  TRY(read_int_array(p, ds_json_member(enc, "conv"), "encoder.conv", 1, DS_MAX_LAYERS, expect,
                     c->enc_conv, &c->enc_conv_count));
  TRY(read_odd(p, ds_json_member(enc, "kernel"), "encoder.kernel", &c->kernel));
  TRY(read_positive(p, ds_json_member(enc, "dense"), "encoder.dense", &c->dense));
  TRY(read_int_array(p, ds_json_member(enc, "bottleneck"), "encoder.bottleneck", 3, 3,
                     "3 positive integers [h, w, c]", c->bottleneck, NULL));
  TRY(read_positive(p, ds_json_member(enc, "upscale"), "encoder.upscale", &c->enc_upscale));

  const cJSON *dec = ds_json_member(root, "decoder");
  TRY(ds_json_check_object(p, dec, "decoder", decoder_keys));
  TRY(read_int_array(p, ds_json_member(dec, "upscale"), "decoder.upscale", 1, DS_MAX_LAYERS, expect,
                     c->dec_upscale, &c->dec_upscale_count));
  TRY(read_odd(p, ds_json_member(dec, "out_kernel"), "decoder.out_kernel", &c->out_kernel));
  const cJSON *mask = ds_json_member(dec, "mask");
  if (mask) {
    if (!cJSON_IsBool(mask)) return ds_json_fail_type(p, "decoder.mask", "true or false", mask);
    c->dec_mask = cJSON_IsTrue(mask);
  }

  return read_decoders(p, ds_json_member(root, "decoders"), c);
}

static ds_status read_train(parser *p, const cJSON *train, ds_model_config *c) {
  static const char *const train_keys[] = {"batch",     "loss",        "optimizer", "augment",
                                           "face_area", "mask_weight", NULL};
  static const char *const opt_keys[] = {"type", "lr", "beta1", "beta2", "epsilon", NULL};
  static const char *const aug_keys[] = {"rotation", "zoom", "shift", "flip", "warp", NULL};
  const cJSON *v;

  TRY(ds_json_check_object(p, train, "train", train_keys));
  if ((v = ds_json_member(train, "batch"))) TRY(read_positive(p, v, "train.batch", &c->batch));
  if ((v = ds_json_member(train, "loss")))
    TRY(ds_config_loss_read(p, v, c->input_size, c->loss, &c->loss_count));
  if ((v = ds_json_member(train, "face_area"))) {
    TRY(ds_config_face_area_read(p, v, &c->face_area.background, &c->face_area.eyes,
                                 &c->face_area.mouth));
    c->face_area.on = 1;
  }
  if ((v = ds_json_member(train, "mask_weight"))) {
    if (!c->dec_mask)
      return ds_json_fail(p, "train.mask_weight",
                          "weighs the learned mask, which this network lacks; add \"mask\": true "
                          "to decoder, or drop train.mask_weight");
    TRY(read_float(p, v, "train.mask_weight", &POSITIVE, &c->mask_weight));
  }

  const cJSON *opt = ds_json_member(train, "optimizer");
  if (opt) {
    TRY(ds_json_check_object(p, opt, "train.optimizer", opt_keys));
    v = ds_json_member(opt, "type");
    if (v && !(cJSON_IsString(v) && strcmp(v->valuestring, "adam") == 0))
      return ds_json_fail_type(p, "train.optimizer.type", "\"adam\" (the only optimizer)", v);
    if ((v = ds_json_member(opt, "lr")))
      TRY(read_float(p, v, "train.optimizer.lr", &POSITIVE, &c->lr));
    if ((v = ds_json_member(opt, "beta1")))
      TRY(read_float(p, v, "train.optimizer.beta1", &UNIT_OPEN, &c->beta1));
    if ((v = ds_json_member(opt, "beta2")))
      TRY(read_float(p, v, "train.optimizer.beta2", &UNIT_OPEN, &c->beta2));
    if ((v = ds_json_member(opt, "epsilon")))
      TRY(read_float(p, v, "train.optimizer.epsilon", &POSITIVE, &c->epsilon));
  }

  const cJSON *aug = ds_json_member(train, "augment");
  if (aug) {
    TRY(ds_json_check_object(p, aug, "train.augment", aug_keys));
    if ((v = ds_json_member(aug, "rotation")))
      TRY(read_float(p, v, "train.augment.rotation", &DEGREES, &c->rotation));
    if ((v = ds_json_member(aug, "zoom")))
      TRY(read_float(p, v, "train.augment.zoom", &UNIT_OPEN, &c->zoom));
    if ((v = ds_json_member(aug, "shift")))
      TRY(read_float(p, v, "train.augment.shift", &UNIT_OPEN, &c->shift));
    if ((v = ds_json_member(aug, "flip")))
      TRY(read_float(p, v, "train.augment.flip", &UNIT_CLOSED, &c->flip));
    if ((v = ds_json_member(aug, "warp"))) {
      if (!cJSON_IsBool(v)) return ds_json_fail_type(p, "train.augment.warp", "true or false", v);
      c->warp = cJSON_IsTrue(v);
    }
  }
  return DS_OK;
}

static ds_status read_run(parser *p, const cJSON *run, ds_model_config *c) {
  static const char *const run_keys[] = {"iterations", "save_every", "preview_every", "minutes",
                                         NULL};
  const cJSON *v;
  TRY(ds_json_check_object(p, run, "run", run_keys));
  if ((v = ds_json_member(run, "iterations"))) {
    TRY(read_positive(p, v, "run.iterations", &c->run.iterations));
    c->run.has_iterations = 1;
  }
  if ((v = ds_json_member(run, "minutes"))) {
    TRY(read_real(p, v, "run.minutes", &POSITIVE, 0, &c->run.minutes));
    c->run.has_minutes = 1;
  }
  if ((v = ds_json_member(run, "save_every")))
    TRY(read_positive(p, v, "run.save_every", &c->run.save_every));
  if ((v = ds_json_member(run, "preview_every")))
    TRY(read_positive(p, v, "run.preview_every", &c->run.preview_every));
  return DS_OK;
}

/* Parameter counts per layer (MODEL.md), saturating instead of overflowing so
 * that absurd configs can be measured and refused. */
static int64_t mul_sat(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > INT64_MAX / b ? INT64_MAX : a * b;
}

static int64_t conv_params(int64_t k, int64_t cin, int64_t cout) {
  int64_t w = mul_sat(mul_sat(mul_sat(k, k), cin), cout);
  return w > INT64_MAX - cout ? INT64_MAX : w + cout;
}

typedef struct layer {
  char key[DS_JSON_KEY_MAX]; /* the config key that sizes it */
  char name[64];             /* as MODEL.md names it */
  int64_t params;
  int in_decoder;
} layer;

static int model_layers(const ds_model_config *c, layer *out) {
  int n = 0, cin = c->input_channels;
  for (int i = 0; i < c->enc_conv_count; i++) {
    ds_json_index_key(out[n].key, "encoder.conv", i);
    snprintf(out[n].name, sizeof out[n].name, "encoder.conv%d", i);
    out[n++].params = conv_params(c->kernel, cin, c->enc_conv[i]);
    cin = c->enc_conv[i];
  }
  int64_t side = c->input_size >> c->enc_conv_count;
  int64_t flat = mul_sat(mul_sat(side, side), cin);
  int64_t code = mul_sat(mul_sat(c->bottleneck[0], c->bottleneck[1]), c->bottleneck[2]);
  snprintf(out[n].key, sizeof out[n].key, "encoder.dense");
  snprintf(out[n].name, sizeof out[n].name, "encoder.dense0");
  out[n++].params = conv_params(1, flat, c->dense); /* a dense layer is a 1x1 conv */
  snprintf(out[n].key, sizeof out[n].key, "encoder.bottleneck");
  snprintf(out[n].name, sizeof out[n].name, "encoder.dense1");
  out[n++].params = conv_params(1, c->dense, code);
  snprintf(out[n].key, sizeof out[n].key, "encoder.upscale");
  snprintf(out[n].name, sizeof out[n].name, "encoder.upscale0");
  out[n++].params = conv_params(3, c->bottleneck[2], 4 * (int64_t)c->enc_upscale);
  cin = c->enc_upscale;
  for (int i = 0; i < c->dec_upscale_count; i++) {
    ds_json_index_key(out[n].key, "decoder.upscale", i);
    snprintf(out[n].name, sizeof out[n].name, "decoder.%s.upscale%d", c->decoders[0], i);
    out[n].in_decoder = 1;
    out[n++].params = conv_params(3, cin, 4 * (int64_t)c->dec_upscale[i]);
    cin = c->dec_upscale[i];
  }
  snprintf(out[n].key, sizeof out[n].key, "decoder.out_kernel");
  snprintf(out[n].name, sizeof out[n].name, "decoder.%s.out", c->decoders[0]);
  out[n].in_decoder = 1;
  out[n++].params = conv_params(c->out_kernel, cin, c->input_channels + (c->dec_mask ? 1 : 0));
  return n;
}

static ds_status check_shapes(parser *p, const ds_model_config *c) {
  int shrink = 1 << c->enc_conv_count;
  if (c->input_size % shrink)
    return ds_json_fail(
        p, "input.size",
        "%d is not divisible by %d (2^%d, one halving per encoder.conv entry); use a "
        "multiple of %d",
        c->input_size, shrink, c->enc_conv_count, shrink);

  /* encoder.upscale doubles the bottleneck once, each decoder.upscale again */
  int grow = 2 << c->dec_upscale_count;
  int64_t h = (int64_t)c->bottleneck[0] * grow, w = (int64_t)c->bottleneck[1] * grow;
  if (h != c->input_size || w != c->input_size) {
    char need[80];
    if (c->input_size % grow == 0)
      snprintf(need, sizeof need, "use [%d, %d, %d]", c->input_size / grow, c->input_size / grow,
               c->bottleneck[2]);
    else
      snprintf(need, sizeof need, "input.size must then be a multiple of %d", grow);
    return ds_json_fail(
        p, "encoder.bottleneck",
        "[%d, %d, %d] grows %dx (encoder.upscale and %d decoder.upscale entries) to "
        "%lldx%lld, but input.size is %d; %s",
        c->bottleneck[0], c->bottleneck[1], c->bottleneck[2], grow, c->dec_upscale_count,
        (long long)h, (long long)w, c->input_size, need);
  }

  layer layers[MAX_MODEL_LAYERS] = {{"", "", 0, 0}};
  int n = model_layers(c, layers);
  for (int i = 0; i < n; i++) {
    if (layers[i].params > MAX_LAYER_PARAMS) {
      char count[32];
      if (layers[i].params == INT64_MAX)
        snprintf(count, sizeof count, "over 2^63");
      else
        snprintf(count, sizeof count, "%lld", (long long)layers[i].params);
      return ds_json_fail(
          p, layers[i].key,
          "layer %s would have %s parameters, more than the 2^31 one layer may have; use "
          "fewer filters or a smaller kernel",
          layers[i].name, count);
    }
  }
  return DS_OK;
}

static void set_defaults(ds_model_config *c) {
  memset(c, 0, sizeof *c);
  c->batch = 64;
  c->loss[0] = (ds_loss_term){DS_LOSS_KIND_MAE, 1.0f};
  c->loss_count = 1;
  c->mask_weight = 1.0f;
  c->lr = 5e-5f;
  c->beta1 = 0.5f;
  c->beta2 = 0.999f;
  c->epsilon = 1e-7f;
  c->rotation = 10.0f;
  c->zoom = 0.05f;
  c->shift = 0.05f;
  c->flip = 0.4f;
  c->warp = 1;
  c->run.save_every = 100;
  c->run.preview_every = 100;
}

static ds_status parse_root(parser *p, const cJSON *root, ds_model_config *c) {
  static const char *const keys[] = {"name",     "input", "encoder", "decoder",
                                     "decoders", "train", "run",     NULL};
  const cJSON *v;
  TRY(ds_json_check_object(p, root, "", keys));
  TRY(read_network(p, root, c));
  if ((v = ds_json_member(root, "train"))) TRY(read_train(p, v, c));
  if ((v = ds_json_member(root, "run"))) TRY(read_run(p, v, c));
  return check_shapes(p, c);
}

ds_status ds_model_config_parse(const char *json_text, const char *name_for_errors,
                                ds_model_config *cfg, ds_error *err) {
  assert(json_text && cfg);
  parser p;
  ds_json_reader_init(&p, name_for_errors ? name_for_errors : "model config", DS_ERR_INVALID, err);
  cJSON *root = NULL;
  TRY(ds_json_parse(&p, json_text, strlen(json_text), "a JSON object", &root));

  ds_model_config c;
  set_defaults(&c);
  ds_status st = parse_root(&p, root, &c);
  cJSON_Delete(root);
  if (st == DS_OK) memcpy(cfg, &c, sizeof c);
  return st;
}

ds_status ds_model_config_load(const char *path, ds_model_config *cfg, ds_error *err) {
  assert(path && cfg);
  static const ds_json_file_kind kind = {
      "model config", MAX_FILE_BYTES,
      "check the path (configs/ in the source tree holds original.json, lowmem.json and "
      "tiny.json)",
      NULL};
  parser p;
  ds_json_reader_init(&p, path, DS_ERR_INVALID, err);
  char *text = NULL;
  size_t len = 0;
  TRY(ds_json_read_file(&p, path, &kind, &text, &len));
  ds_status st = ds_model_config_parse(text, path, cfg, err);
  free(text);
  return st;
}

int ds_model_identity_index(const ds_model_config *cfg, const char *name) {
  for (int i = 0; name && i < cfg->decoder_count; i++)
    if (strcmp(cfg->decoders[i], name) == 0) return i;
  return -1;
}

int64_t ds_model_param_count(const ds_model_config *cfg, int64_t *encoder_params,
                             int64_t *decoder_params) {
  layer layers[MAX_MODEL_LAYERS] = {{"", "", 0, 0}};
  int n = model_layers(cfg, layers);
  int64_t enc = 0, dec = 0;
  for (int i = 0; i < n; i++) {
    if (layers[i].in_decoder)
      dec += layers[i].params;
    else
      enc += layers[i].params;
  }
  if (encoder_params) *encoder_params = enc;
  if (decoder_params) *decoder_params = dec;
  return enc + cfg->decoder_count * dec;
}
