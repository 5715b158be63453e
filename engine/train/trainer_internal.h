/* The trainer's state, shared by its two files: trainer_state.c (the config,
 * the faces, and what a checkpoint and a preview hold) and trainer.c (the
 * device set-up and the loop); nothing else includes this. */
#ifndef DS_ENGINE_TRAIN_TRAINER_INTERNAL_H
#define DS_ENGINE_TRAIN_TRAINER_INTERNAL_H

#include <cjson/cJSON.h>

#include "engine/model/checkpoint.h"
#include "engine/model/model.h"
#include "engine/monitor/feed.h"
#include "engine/train/augment.h"
#include "engine/train/dataset.h"
#include "engine/train/face_mask.h"
#include "engine/train/parallel.h"
#include "engine/train/trainer.h"

enum { FACE_SIZE = 256, PREVIEW_COLS = 8, RECENT = 10 };

typedef struct trainer {
  const ds_train_options *opt;
  const ds_train_callbacks *cb;
  ds_model_config cfg;
  ds_model model;
  ds_runtime *rt;
  int ids;
  ds_dataset sets[DS_MAX_IDENTITIES];
  cl_mem faces[DS_MAX_IDENTITIES];
  uint32_t *perm[DS_MAX_IDENTITIES];
  ds_augment_workspace ws;
  ds_face_mask_set masks; /* train.face_area only */
  ds_face_mask_set hulls; /* decoder.mask only: the mask targets */
  double mask_loss[DS_MAX_IDENTITIES]; /* decoder.mask: smoothed */
  ds_augment_config aug;
  ds_augment_params *params;
  int *indices;
  cl_mem warped, target;
  cl_mem preview_in[DS_MAX_IDENTITIES];
  int preview_cols;
  ds_rng rng;
  long long iteration, adam_steps_per_iteration;
  double seconds_before;             /* training time of earlier sessions */
  double *losses[DS_MAX_IDENTITIES]; /* this session, per iteration */
  long long loss_len, loss_cap;
  double interval_sum[DS_MAX_IDENTITIES];
  int interval_n;
  cJSON *history; /* {"A": [[iteration, mean loss], ...], ...} */
  char *config_json;
  ds_parallel *par;               /* NULL: one device, one process */
  ds_train_feed *feed, *own_feed; /* what a monitor and loss.png see */
} trainer;

/* ds_note to the caller's note callback, if any */
#define NOTE_TO(t) ((t)->cb ? (t)->cb->note : NULL), ((t)->cb ? (t)->cb->user : NULL)

/* The config (from --config, or the checkpoint's when resuming; *resume
 * says which) and the augmentation it asks for. */
ds_status trainer_load_config(trainer *t, ds_checkpoint *ck, int *resume, ds_error *err);
/* Every identity's faces, checked against the batch. */
ds_status trainer_load_faces(trainer *t, ds_error *err);
/* The RNG, loss history, sampling order and runs a checkpoint kept. */
void trainer_restore_state(trainer *t, const ds_checkpoint *ck);
/* A checkpoint of the state reached, after `seconds` of training in all. */
ds_status trainer_save(trainer *t, double seconds, ds_error *err);
/* preview.png (path receives its name) and loss.png beside it. */
ds_status trainer_write_preview(trainer *t, char *path, size_t cap, ds_error *err);

#endif
