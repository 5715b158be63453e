#include "engine/model/config.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model/config_loss.h"

/* Limits that keep every size the engine derives from a config inside int
 * and int64 arithmetic: a 4096 input is already far past any face model, and
 * 2^31 parameters in one layer is 8 GiB of float32 weights. */
enum { MAX_INPUT_SIZE = 4096, MAX_FILE_BYTES = 1 << 20, MAX_MODEL_LAYERS = 2 * DS_MAX_LAYERS + 4 };
static const int64_t MAX_LAYER_PARAMS = (int64_t)1 << 31;

#define TRY(call)                                                                                  \
  do {                                                                                             \
    ds_status try_st_ = (call);                                                                    \
    if (try_st_ != DS_OK) return try_st_;                                                          \
  } while (0)

typedef struct parser {
  char file[256]; /* the name errors start with, made printable */
  ds_error *err;
} parser;

/* Writes s into out, quoted when asked, with control characters escaped so
 * that a message stays one line, and cut after max_chars bytes. */
static void printable(char *out, size_t cap, const char *s, size_t max_chars, int quote) {
  size_t n = 0;
  if (quote && n + 1 < cap) out[n++] = '"';
  for (size_t i = 0; s[i] && n + 8 < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (i == max_chars) {
      n += (size_t)snprintf(out + n, cap - n, "...");
      break;
    }
    if (ch == '"' && quote)
      n += (size_t)snprintf(out + n, cap - n, "\\\"");
    else if (ch == '\\' && quote)
      n += (size_t)snprintf(out + n, cap - n, "\\\\");
    else if (ch == '\n')
      n += (size_t)snprintf(out + n, cap - n, "\\n");
    else if (ch < 0x20 || ch == 0x7f)
      n += (size_t)snprintf(out + n, cap - n, "\\x%02x", ch);
    else
      out[n++] = (char)ch;
  }
  if (quote && n + 1 < cap) out[n++] = '"';
  out[n] = '\0';
}

/* The shortest %g text that reads back as exactly d (as float when
 * as_float), so messages and canonical JSON show 5e-05, not 4.99999987e-05. */
static void shortest(char *out, size_t cap, double d, int as_float) {
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(out, cap, "%.*g", prec, d);
    double back = strtod(out, NULL);
    if (as_float ? (float)back == (float)d : back == d) return;
  }
}

/* What a JSON value is, for "got ..." in messages. */
static const char *describe(const cJSON *v, char *buf, size_t cap) {
  if (cJSON_IsString(v))
    printable(buf, cap, v->valuestring, 40, 1);
  else if (cJSON_IsNumber(v))
    shortest(buf, cap, v->valuedouble, 0);
  else if (cJSON_IsBool(v))
    snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
  else if (cJSON_IsNull(v))
    snprintf(buf, cap, "null");
  else if (cJSON_IsArray(v))
    snprintf(buf, cap, "an array");
  else
    snprintf(buf, cap, "an object");
  return buf;
}

/* Every validation error: "<file>: <key>: <what>", or "<file>: <what>". */
__attribute__((format(printf, 3, 4))) static ds_status fail(parser *p, const char *key,
                                                            const char *fmt, ...) {
  char what[DS_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (key && key[0]) return ds_error_set(p->err, DS_ERR_INVALID, "%s: %s: %s", p->file, key, what);
  return ds_error_set(p->err, DS_ERR_INVALID, "%s: %s", p->file, what);
}

static ds_status fail_type(parser *p, const char *key, const char *expect, const cJSON *v) {
  char got[64];
  if (!v) return fail(p, key, "missing required key; expected %s", expect);
  return fail(p, key, "expected %s, got %s", expect, describe(v, got, sizeof got));
}

static const char *join_key(char *buf, size_t cap, const char *parent, const char *key) {
  char safe[48];
  printable(safe, sizeof safe, key, 40, 0);
  snprintf(buf, cap, "%s%s%s", parent, parent[0] ? "." : "", safe);
  return buf;
}

static const char *index_key(char *buf, size_t cap, const char *parent, int i) {
  snprintf(buf, cap, "%s[%d]", parent, i);
  return buf;
}

/* obj must be an object whose keys are all in allowed (NULL-terminated),
 * each at most once: cJSON keeps duplicates, and a silently ignored second
 * "dense" would be a config that does not do what it says. */
static ds_status check_object(parser *p, const cJSON *obj, const char *path,
                              const char *const *allowed) {
  char list[256] = "", key[128];
  for (int i = 0; allowed[i]; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", allowed[i]);
  if (!cJSON_IsObject(obj)) {
    char expect[300];
    snprintf(expect, sizeof expect, "an object with keys %s", list);
    if (!path[0])
      return fail(p, NULL, "expected a JSON object at the top level, got %s",
                  cJSON_IsArray(obj) ? "an array" : "a single value");
    return fail_type(p, path, expect, obj);
  }
  for (const cJSON *item = obj->child; item; item = item->next) {
    int known = 0;
    for (int i = 0; allowed[i] && !known; i++)
      known = strcmp(item->string, allowed[i]) == 0;
    if (!known) {
      return fail(p, join_key(key, sizeof key, path, item->string),
                  "unknown key; expected one of %s", list);
    }
    for (const cJSON *prev = obj->child; prev != item; prev = prev->next) {
      if (strcmp(prev->string, item->string) == 0)
        return fail(p, join_key(key, sizeof key, path, item->string),
                    "duplicate key; give each key once");
    }
  }
  return DS_OK;
}

static const cJSON *member(const cJSON *obj, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static ds_status read_int(parser *p, const cJSON *v, const char *key, int lo, int hi,
                          const char *expect, int *out) {
  /* !(a && b) rather than (!a || !b) so that a NaN also fails */
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
      v->valuedouble != (double)(int)v->valuedouble)
    return fail_type(p, key, expect, v);
  *out = (int)v->valuedouble;
  return DS_OK;
}

static ds_status read_positive(parser *p, const cJSON *v, const char *key, int *out) {
  return read_int(p, v, key, 1, INT_MAX, "a positive integer", out);
}

static ds_status read_odd(parser *p, const cJSON *v, const char *key, int *out) {
  const char *expect = "an odd positive integer (the kernel is centred on a pixel)";
  TRY(read_int(p, v, key, 1, INT_MAX, expect, out));
  return *out % 2 ? DS_OK : fail_type(p, key, expect, v);
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
  if (!cJSON_IsNumber(v) || !in_range(v->valuedouble, r)) return fail_type(p, key, r->expect, v);
  double x = as_float ? (double)(float)v->valuedouble : v->valuedouble;
  if (!in_range(x, r)) {
    char got[40], as[40];
    shortest(got, sizeof got, v->valuedouble, 0);
    shortest(as, sizeof as, x, 1);
    return fail(p, key, "expected %s, got %s, which is %s as float32", r->expect, got, as);
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
  char full[128], ekey[128];
  snprintf(full, sizeof full, "an array of %s", expect);
  if (!cJSON_IsArray(v)) return fail_type(p, key, full, v);
  int n = cJSON_GetArraySize(v);
  if (n < lo || n > hi) return fail(p, key, "expected %s, got %d entries", full, n);
  int i = 0;
  for (const cJSON *item = v->child; item; item = item->next, i++)
    TRY(read_positive(p, item, index_key(ekey, sizeof ekey, key, i), &out[i]));
  if (count) *count = n;
  return DS_OK;
}

static ds_status read_name(parser *p, const cJSON *v, char *out) {
  const char *expect = "a string of 1 to 63 printable characters";
  if (!cJSON_IsString(v)) return fail_type(p, "name", expect, v);
  size_t n = strlen(v->valuestring);
  int printable_only = 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)v->valuestring[i];
    printable_only &= ch >= 0x20 && ch != 0x7f;
  }
  if (n < 1 || n > 63 || !printable_only) return fail_type(p, "name", expect, v);
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
  char key[32], got[64], expect[96];
  snprintf(expect, sizeof expect, "an array of 2 to %d identity names", DS_MAX_IDENTITIES);
  if (!cJSON_IsArray(v)) return fail_type(p, "decoders", expect, v);
  int n = cJSON_GetArraySize(v);
  if (n < 2)
    return fail(p, "decoders", "expected at least 2 identity names (a swap needs two), got %d", n);
  if (n > DS_MAX_IDENTITIES)
    return fail(p, "decoders", "at most %d identities are supported, got %d", DS_MAX_IDENTITIES, n);
  int i = 0;
  for (const cJSON *item = v->child; item; item = item->next, i++) {
    index_key(key, sizeof key, "decoders", i);
    if (!cJSON_IsString(item)) {
      snprintf(expect, sizeof expect, "an identity name (%s)", rule);
      return fail_type(p, key, expect, item);
    }
    if (!valid_identity(item->valuestring))
      return fail(p, key, "invalid identity name %s; use %s", describe(item, got, sizeof got),
                  rule);
    for (int j = 0; j < i; j++) {
      if (strcmp(c->decoders[j], item->valuestring) == 0)
        return fail(p, key, "duplicate identity %s (also decoders[%d]); give each a unique name",
                    describe(item, got, sizeof got), j);
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
  static const char *const decoder_keys[] = {"upscale", "out_kernel", NULL};
  char expect[64];

  TRY(read_name(p, member(root, "name"), c->name));

  const cJSON *in = member(root, "input");
  TRY(check_object(p, in, "input", input_keys));
  snprintf(expect, sizeof expect, "an integer from 1 to %d", MAX_INPUT_SIZE);
  TRY(read_int(p, member(in, "size"), "input.size", 1, MAX_INPUT_SIZE, expect, &c->input_size));
  TRY(read_positive(p, member(in, "channels"), "input.channels", &c->input_channels));

  const cJSON *enc = member(root, "encoder");
  TRY(check_object(p, enc, "encoder", encoder_keys));
  snprintf(expect, sizeof expect, "1 to %d positive integers", DS_MAX_LAYERS);
  TRY(read_int_array(p, member(enc, "conv"), "encoder.conv", 1, DS_MAX_LAYERS, expect, c->enc_conv,
                     &c->enc_conv_count));
  TRY(read_odd(p, member(enc, "kernel"), "encoder.kernel", &c->kernel));
  TRY(read_positive(p, member(enc, "dense"), "encoder.dense", &c->dense));
  TRY(read_int_array(p, member(enc, "bottleneck"), "encoder.bottleneck", 3, 3,
                     "3 positive integers [h, w, c]", c->bottleneck, NULL));
  TRY(read_positive(p, member(enc, "upscale"), "encoder.upscale", &c->enc_upscale));

  const cJSON *dec = member(root, "decoder");
  TRY(check_object(p, dec, "decoder", decoder_keys));
  TRY(read_int_array(p, member(dec, "upscale"), "decoder.upscale", 1, DS_MAX_LAYERS, expect,
                     c->dec_upscale, &c->dec_upscale_count));
  TRY(read_odd(p, member(dec, "out_kernel"), "decoder.out_kernel", &c->out_kernel));

  return read_decoders(p, member(root, "decoders"), c);
}

static ds_status read_train(parser *p, const cJSON *train, ds_model_config *c) {
  static const char *const train_keys[] = {"batch",   "loss",      "optimizer",
                                           "augment", "face_area", NULL};
  static const char *const opt_keys[] = {"type", "lr", "beta1", "beta2", "epsilon", NULL};
  static const char *const aug_keys[] = {"rotation", "zoom", "shift", "flip", "warp", NULL};
  const cJSON *v;

  TRY(check_object(p, train, "train", train_keys));
  if ((v = member(train, "batch"))) TRY(read_positive(p, v, "train.batch", &c->batch));
  if ((v = member(train, "loss")))
    TRY(ds_config_loss_read(v, p->file, c->input_size, c->loss, &c->loss_count, p->err));
  if ((v = member(train, "face_area"))) {
    TRY(ds_config_face_area_read(v, p->file, &c->face_area.background, &c->face_area.eyes,
                                 &c->face_area.mouth, p->err));
    c->face_area.on = 1;
  }

  const cJSON *opt = member(train, "optimizer");
  if (opt) {
    TRY(check_object(p, opt, "train.optimizer", opt_keys));
    v = member(opt, "type");
    if (v && !(cJSON_IsString(v) && strcmp(v->valuestring, "adam") == 0))
      return fail_type(p, "train.optimizer.type", "\"adam\" (the only optimizer)", v);
    if ((v = member(opt, "lr"))) TRY(read_float(p, v, "train.optimizer.lr", &POSITIVE, &c->lr));
    if ((v = member(opt, "beta1")))
      TRY(read_float(p, v, "train.optimizer.beta1", &UNIT_OPEN, &c->beta1));
    if ((v = member(opt, "beta2")))
      TRY(read_float(p, v, "train.optimizer.beta2", &UNIT_OPEN, &c->beta2));
    if ((v = member(opt, "epsilon")))
      TRY(read_float(p, v, "train.optimizer.epsilon", &POSITIVE, &c->epsilon));
  }

  const cJSON *aug = member(train, "augment");
  if (aug) {
    TRY(check_object(p, aug, "train.augment", aug_keys));
    if ((v = member(aug, "rotation")))
      TRY(read_float(p, v, "train.augment.rotation", &DEGREES, &c->rotation));
    if ((v = member(aug, "zoom")))
      TRY(read_float(p, v, "train.augment.zoom", &UNIT_OPEN, &c->zoom));
    if ((v = member(aug, "shift")))
      TRY(read_float(p, v, "train.augment.shift", &UNIT_OPEN, &c->shift));
    if ((v = member(aug, "flip")))
      TRY(read_float(p, v, "train.augment.flip", &UNIT_CLOSED, &c->flip));
    if ((v = member(aug, "warp"))) {
      if (!cJSON_IsBool(v)) return fail_type(p, "train.augment.warp", "true or false", v);
      c->warp = cJSON_IsTrue(v);
    }
  }
  return DS_OK;
}

static ds_status read_run(parser *p, const cJSON *run, ds_model_config *c) {
  static const char *const run_keys[] = {"iterations", "save_every", "preview_every", "minutes",
                                         NULL};
  const cJSON *v;
  TRY(check_object(p, run, "run", run_keys));
  if ((v = member(run, "iterations"))) {
    TRY(read_positive(p, v, "run.iterations", &c->run.iterations));
    c->run.has_iterations = 1;
  }
  if ((v = member(run, "minutes"))) {
    TRY(read_real(p, v, "run.minutes", &POSITIVE, 0, &c->run.minutes));
    c->run.has_minutes = 1;
  }
  if ((v = member(run, "save_every")))
    TRY(read_positive(p, v, "run.save_every", &c->run.save_every));
  if ((v = member(run, "preview_every")))
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
  char key[32];  /* the config key that sizes it */
  char name[64]; /* as MODEL.md names it */
  int64_t params;
  int in_decoder;
} layer;

static int model_layers(const ds_model_config *c, layer *out) {
  int n = 0, cin = c->input_channels;
  for (int i = 0; i < c->enc_conv_count; i++) {
    index_key(out[n].key, sizeof out[n].key, "encoder.conv", i);
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
    index_key(out[n].key, sizeof out[n].key, "decoder.upscale", i);
    snprintf(out[n].name, sizeof out[n].name, "decoder.%s.upscale%d", c->decoders[0], i);
    out[n].in_decoder = 1;
    out[n++].params = conv_params(3, cin, 4 * (int64_t)c->dec_upscale[i]);
    cin = c->dec_upscale[i];
  }
  snprintf(out[n].key, sizeof out[n].key, "decoder.out_kernel");
  snprintf(out[n].name, sizeof out[n].name, "decoder.%s.out", c->decoders[0]);
  out[n].in_decoder = 1;
  out[n++].params = conv_params(c->out_kernel, cin, c->input_channels);
  return n;
}

static ds_status check_shapes(parser *p, const ds_model_config *c) {
  int shrink = 1 << c->enc_conv_count;
  if (c->input_size % shrink)
    return fail(p, "input.size",
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
    return fail(p, "encoder.bottleneck",
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
      return fail(p, layers[i].key,
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
  TRY(check_object(p, root, "", keys));
  TRY(read_network(p, root, c));
  if ((v = member(root, "train"))) TRY(read_train(p, v, c));
  if ((v = member(root, "run"))) TRY(read_run(p, v, c));
  return check_shapes(p, c);
}

static ds_status syntax_error(parser *p, const char *text, const char *at) {
  size_t len = strlen(text), pos = at && at >= text ? (size_t)(at - text) : 0;
  if (pos > len) pos = len;
  if (strspn(text, " \t\r\n") == len)
    return fail(p, NULL, "the text is empty; expected a JSON object");
  int line = 1, col = 1;
  for (size_t i = 0; i < pos; i++) {
    col = text[i] == '\n' ? 1 : col + 1;
    line += text[i] == '\n';
  }
  char near[64] = "the end of the text";
  if (pos < len) {
    char piece[17] = "";
    size_t take = strcspn(text + pos, "\r\n");
    if (take > 16) take = 16;
    memcpy(piece, text + pos, take);
    piece[take] = '\0';
    printable(near, sizeof near, piece, 16, 1);
  }
  return fail(p, NULL,
              "line %d, column %d: invalid JSON syntax near %s; look for a missing or extra "
              "comma, quote or bracket",
              line, col, near);
}

ds_status ds_model_config_parse(const char *json_text, const char *name_for_errors,
                                ds_model_config *cfg, ds_error *err) {
  assert(json_text && cfg);
  parser p = {.err = err};
  const char *name = name_for_errors ? name_for_errors : "model config";
  size_t name_len = strlen(name);
  /* keep the end of a long path: the file name is the useful part */
  if (name_len > 200) {
    char cut[210];
    snprintf(cut, sizeof cut, "...%s", name + name_len - 200);
    printable(p.file, sizeof p.file, cut, 210, 0);
  } else {
    printable(p.file, sizeof p.file, name, 210, 0);
  }

  const char *text = json_text;
  if (strncmp(text, "\xef\xbb\xbf", 3) == 0) text += 3; /* a UTF-8 byte order mark */
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
  if (!root) return syntax_error(&p, json_text, end ? end : cJSON_GetErrorPtr());

  ds_model_config c;
  set_defaults(&c);
  ds_status st = parse_root(&p, root, &c);
  cJSON_Delete(root);
  if (st == DS_OK) memcpy(cfg, &c, sizeof c);
  return st;
}

ds_status ds_model_config_load(const char *path, ds_model_config *cfg, ds_error *err) {
  assert(path && cfg);
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR)
      return ds_error_set(err, DS_ERR_NOT_FOUND,
                          "%s: model config not found; check the path (configs/ in the source "
                          "tree holds original.json, lowmem.json and tiny.json)",
                          path);
    return ds_error_set(err, DS_ERR_IO, "%s: cannot open the model config: %s", path, strerror(e));
  }
  char *text = malloc(MAX_FILE_BYTES + 1);
  if (!text) {
    fclose(f);
    return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: no memory to read the model config", path);
  }
  size_t n = fread(text, 1, MAX_FILE_BYTES + 1, f);
  int failed = ferror(f), e = errno;
  fclose(f);
  ds_status st = DS_OK;
  if (failed) {
    st = ds_error_set(err, DS_ERR_IO, "%s: cannot read the model config: %s", path, strerror(e));
  } else if (n > MAX_FILE_BYTES) {
    st = ds_error_set(err, DS_ERR_INVALID,
                      "%s: larger than %d bytes, too large for a model config; is it the right "
                      "file?",
                      path, MAX_FILE_BYTES);
  } else if (memchr(text, '\0', n)) {
    st = ds_error_set(err, DS_ERR_INVALID,
                      "%s: has a NUL byte at offset %zu; a model config is JSON text", path,
                      (size_t)((char *)memchr(text, '\0', n) - text));
  } else {
    text[n] = '\0';
    st = ds_model_config_parse(text, path, cfg, err);
  }
  free(text);
  return st;
}

/* Canonical JSON. Each adder tolerates a NULL parent, so one failed
 * allocation anywhere shows up as a NULL somewhere and fails the whole. */
static int add_int(cJSON *obj, const char *key, int v) {
  return cJSON_AddNumberToObject(obj, key, v) != NULL;
}

static int add_float(cJSON *obj, const char *key, float v) {
  char text[32];
  shortest(text, sizeof text, v, 1);
  return cJSON_AddNumberToObject(obj, key, strtod(text, NULL)) != NULL;
}

static int add_ints(cJSON *obj, const char *key, const int *v, int n) {
  cJSON *arr = cJSON_CreateIntArray(v, n);
  if (!cJSON_AddItemToObject(obj, key, arr)) {
    cJSON_Delete(arr);
    return 0;
  }
  return 1;
}

char *ds_model_config_to_json(const ds_model_config *c) {
  cJSON *root = cJSON_CreateObject();
  int ok = cJSON_AddStringToObject(root, "name", c->name) != NULL;

  cJSON *in = cJSON_AddObjectToObject(root, "input");
  ok &= add_int(in, "size", c->input_size) & add_int(in, "channels", c->input_channels);

  cJSON *enc = cJSON_AddObjectToObject(root, "encoder");
  ok &= add_ints(enc, "conv", c->enc_conv, c->enc_conv_count);
  ok &= add_int(enc, "kernel", c->kernel) & add_int(enc, "dense", c->dense);
  ok &= add_ints(enc, "bottleneck", c->bottleneck, 3) & add_int(enc, "upscale", c->enc_upscale);

  cJSON *dec = cJSON_AddObjectToObject(root, "decoder");
  ok &= add_ints(dec, "upscale", c->dec_upscale, c->dec_upscale_count);
  ok &= add_int(dec, "out_kernel", c->out_kernel);

  cJSON *ids = cJSON_AddArrayToObject(root, "decoders");
  for (int i = 0; i < c->decoder_count; i++) {
    cJSON *s = cJSON_CreateString(c->decoders[i]);
    if (!cJSON_AddItemToArray(ids, s)) {
      cJSON_Delete(s);
      ok = 0;
    }
  }

  cJSON *train = cJSON_AddObjectToObject(root, "train");
  ok &= add_int(train, "batch", c->batch);
  cJSON *loss = ds_config_loss_to_json(c->loss, c->loss_count);
  if (!cJSON_AddItemToObject(train, "loss", loss)) {
    cJSON_Delete(loss);
    ok = 0;
  }
  if (c->face_area.on) {
    cJSON *fa =
        ds_config_face_area_to_json(c->face_area.background, c->face_area.eyes, c->face_area.mouth);
    if (!cJSON_AddItemToObject(train, "face_area", fa)) {
      cJSON_Delete(fa);
      ok = 0;
    }
  }
  cJSON *opt = cJSON_AddObjectToObject(train, "optimizer");
  ok &= cJSON_AddStringToObject(opt, "type", "adam") != NULL;
  ok &= add_float(opt, "lr", c->lr) & add_float(opt, "beta1", c->beta1);
  ok &= add_float(opt, "beta2", c->beta2) & add_float(opt, "epsilon", c->epsilon);
  cJSON *aug = cJSON_AddObjectToObject(train, "augment");
  ok &= add_float(aug, "rotation", c->rotation) & add_float(aug, "zoom", c->zoom);
  ok &= add_float(aug, "shift", c->shift) & add_float(aug, "flip", c->flip);
  ok &= cJSON_AddBoolToObject(aug, "warp", c->warp) != NULL;

  /* iterations and minutes have no default: absent means "not limited by" */
  cJSON *run = cJSON_AddObjectToObject(root, "run");
  if (c->run.has_iterations) ok &= add_int(run, "iterations", c->run.iterations);
  if (c->run.has_minutes) ok &= cJSON_AddNumberToObject(run, "minutes", c->run.minutes) != NULL;
  ok &= add_int(run, "save_every", c->run.save_every);
  ok &= add_int(run, "preview_every", c->run.preview_every);

  char *text = ok ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (!text) return NULL;
  /* hand back plain malloc'd memory, whatever allocator cJSON was given */
  char *out = strdup(text);
  cJSON_free(text);
  return out;
}

static void format_ints(char *out, size_t cap, const int *v, int n) {
  size_t len = (size_t)snprintf(out, cap, "[");
  for (int i = 0; i < n && len < cap; i++)
    len += (size_t)snprintf(out + len, cap - len, "%s%d", i ? ", " : "", v[i]);
  if (len < cap) snprintf(out + len, cap - len, "]");
}

/* list: print as [a, b] even with one entry, for the array-valued keys */
static int ints_differ(const char *key, const int *a, int na, const int *b, int nb, int list,
                       char *why, size_t cap) {
  if (na == nb && memcmp(a, b, sizeof *a * (size_t)na) == 0) return 0;
  if (why && cap) {
    char here[128], there[128];
    if (list) {
      format_ints(here, sizeof here, a, na);
      format_ints(there, sizeof there, b, nb);
    } else {
      snprintf(here, sizeof here, "%d", a[0]);
      snprintf(there, sizeof there, "%d", b[0]);
    }
    snprintf(why, cap, "%s: %s here, %s in the model", key, here, there);
  }
  return 1;
}

static void format_names(char *out, size_t cap, const ds_model_config *c) {
  size_t len = (size_t)snprintf(out, cap, "[");
  for (int i = 0; i < c->decoder_count && len < cap; i++)
    len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"", i ? ", " : "", c->decoders[i]);
  if (len < cap) snprintf(out + len, cap - len, "]");
}

int ds_model_config_same_network(const ds_model_config *a, const ds_model_config *b, char *why,
                                 size_t cap) {
  if (ints_differ("input.size", &a->input_size, 1, &b->input_size, 1, 0, why, cap) ||
      ints_differ("input.channels", &a->input_channels, 1, &b->input_channels, 1, 0, why, cap) ||
      ints_differ("encoder.conv", a->enc_conv, a->enc_conv_count, b->enc_conv, b->enc_conv_count, 1,
                  why, cap) ||
      ints_differ("encoder.kernel", &a->kernel, 1, &b->kernel, 1, 0, why, cap) ||
      ints_differ("encoder.dense", &a->dense, 1, &b->dense, 1, 0, why, cap) ||
      ints_differ("encoder.bottleneck", a->bottleneck, 3, b->bottleneck, 3, 1, why, cap) ||
      ints_differ("encoder.upscale", &a->enc_upscale, 1, &b->enc_upscale, 1, 0, why, cap) ||
      ints_differ("decoder.upscale", a->dec_upscale, a->dec_upscale_count, b->dec_upscale,
                  b->dec_upscale_count, 1, why, cap) ||
      ints_differ("decoder.out_kernel", &a->out_kernel, 1, &b->out_kernel, 1, 0, why, cap))
    return 0;
  int same = a->decoder_count == b->decoder_count;
  for (int i = 0; same && i < a->decoder_count; i++)
    same = strcmp(a->decoders[i], b->decoders[i]) == 0;
  if (!same && why && cap) {
    char here[DS_MAX_IDENTITIES * 36 + 4], there[DS_MAX_IDENTITIES * 36 + 4];
    format_names(here, sizeof here, a);
    format_names(there, sizeof there, b);
    snprintf(why, cap, "decoders: %s here, %s in the model", here, there);
  }
  if (same && why && cap) why[0] = '\0';
  return same;
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
