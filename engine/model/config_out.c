/* A config written back as canonical JSON (what checkpoints keep), and two
 * configs compared as networks (a resume must train the network it saved). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "engine/model/config.h"
#include "engine/model/config_loss.h"

/* Canonical JSON. Each adder tolerates a NULL parent, so one failed
 * allocation anywhere shows up as a NULL somewhere and fails the whole. */
static int add_int(cJSON *obj, const char *key, int v) {
  return cJSON_AddNumberToObject(obj, key, v) != NULL;
}

static int add_float(cJSON *obj, const char *key, float v) {
  char text[32];
  ds_json_shortest(text, sizeof text, v, 1);
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
  /* written only when on, so the configs without a mask keep their canonical text */
  if (c->dec_mask) ok &= cJSON_AddBoolToObject(dec, "mask", 1) != NULL;

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
  if (c->dec_mask) ok &= add_float(train, "mask_weight", c->mask_weight);
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
      ints_differ("decoder.out_kernel", &a->out_kernel, 1, &b->out_kernel, 1, 0, why, cap) ||
      ints_differ("decoder.mask", &a->dec_mask, 1, &b->dec_mask, 1, 0, why, cap))
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
