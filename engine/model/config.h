/* Model configs (the JSON files in configs/): parsing, validation, canonical JSON and
 * parameter counts. The schema and the network it describes are in
 * engine/model/MODEL.md and shared/DESIGN.md; every key is checked, and an
 * error names the file and the key path (e.g. "encoder.conv[2]"). */
#ifndef DS_ENGINE_MODEL_CONFIG_H
#define DS_ENGINE_MODEL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "engine/nn/loss_kind.h"

#define DS_MAX_LAYERS 8      /* entries in encoder.conv and in decoder.upscale */
#define DS_MAX_IDENTITIES 16 /* entries in decoders */

typedef struct ds_model_config {
  char name[64];
  /* network: input, encoder, decoder, decoders */
  int input_size, input_channels;
  int enc_conv[DS_MAX_LAYERS];
  int enc_conv_count;
  int kernel;
  int dense;
  int bottleneck[3]; /* h, w, c */
  int enc_upscale;
  int dec_upscale[DS_MAX_LAYERS];
  int dec_upscale_count;
  int out_kernel;
  int dec_mask; /* decoder.mask: the out conv adds a sigmoid mask channel (MODEL.md) */
  char decoders[DS_MAX_IDENTITIES][32];
  int decoder_count;
  /* train (defaults from the original: batch 64, mae, Adam 5e-5/0.5/0.999/1e-7) */
  int batch;
  ds_loss_term loss[DS_MAX_LOSS_TERMS]; /* train.loss: a weighted sum */
  int loss_count;
  struct {
    int on; /* train.face_area given: the loss weighted by engine/train/face_mask.h */
    float background, eyes, mouth;
  } face_area;
  float mask_weight; /* train.mask_weight: the mask term's weight (decoder.mask only; 1) */
  float lr, beta1, beta2, epsilon;
  float rotation, zoom, shift, flip; /* rotation in degrees */
  int warp;
  /* run: iterations and minutes count only when has_iterations/has_minutes */
  struct {
    int iterations;
    double minutes;
    int save_every, preview_every;
    int has_iterations, has_minutes;
  } run;
} ds_model_config;

/* Reads and validates a config file. A missing file is DS_ERR_NOT_FOUND, an
 * unreadable one DS_ERR_IO, bad content DS_ERR_INVALID; the message names
 * the path. cfg is written only on success. */
ds_status ds_model_config_load(const char *path, ds_model_config *cfg, ds_error *err);

/* Validates JSON text; name_for_errors (a path, or NULL) starts every error
 * message. cfg is written only on success. */
ds_status ds_model_config_parse(const char *json_text, const char *name_for_errors,
                                ds_model_config *cfg, ds_error *err);

/* Canonical JSON with every key written (run.iterations and run.minutes only
 * when given), such that parsing it gives back cfg. malloc'd; NULL when out
 * of memory. */
char *ds_model_config_to_json(const ds_model_config *cfg);

/* 1 when every network-defining field (input, encoder, decoder, decoders) of
 * a equals b's. Otherwise 0, and why (when not NULL) names the first
 * differing key with a's value "here" and b's "in the model", e.g.
 * "encoder.dense: 512 here, 1024 in the model". */
int ds_model_config_same_network(const ds_model_config *a, const ds_model_config *b, char *why,
                                 size_t cap);

/* Position of name in cfg->decoders, or -1. */
int ds_model_identity_index(const ds_model_config *cfg, const char *name);

/* Parameters of the whole model (encoder + decoder_count decoders), counted
 * as in MODEL.md. encoder_params and decoder_params (one decoder) may be
 * NULL. cfg must have passed validation. */
int64_t ds_model_param_count(const ds_model_config *cfg, int64_t *encoder_params,
                             int64_t *decoder_params);

#endif
