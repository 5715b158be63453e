/* train.loss of a config: one term by name ("mae", the original's) or a list
 * of weighted terms, [{"type": "ssim", "weight": 1}, {"type": "mse"}]; and
 * train.face_area, {"background": 0, "eyes": 3, "mouth": 2} (each key
 * optional, these its defaults), the loss weights of engine/train/face_mask.h. */
#ifndef DS_ENGINE_MODEL_CONFIG_LOSS_H
#define DS_ENGINE_MODEL_CONFIG_LOSS_H

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/json_read.h"
#include "engine/nn/loss_kind.h"

/* Reads v into terms (DS_MAX_LOSS_TERMS of room) and *count. Errors go
 * through p: "<file>: train.loss...: <what>"; input_size is the config's,
 * which ssim's 11-pixel window must fit. */
ds_status ds_config_loss_read(ds_json_reader *p, const cJSON *v, int input_size,
                              ds_loss_term *terms, int *count);

/* The canonical form: the name alone for one term of weight 1 (so the
 * shipped configs and their checkpoints read as before), else the list.
 * NULL when out of memory. */
cJSON *ds_config_loss_to_json(const ds_loss_term *terms, int count);

/* Reads train.face_area: an object of numbers in [0, 100]. */
ds_status ds_config_face_area_read(ds_json_reader *p, const cJSON *v, float *background,
                                   float *eyes, float *mouth);
cJSON *ds_config_face_area_to_json(float background, float eyes, float mouth);

#endif
