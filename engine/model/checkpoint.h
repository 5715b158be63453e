/* Crash-safe checkpoints: a model folder holding model.json and versioned
 * tensor files (weights-<iter>.bin, optimizer-<iter>.bin).
 *
 * Saving writes the new tensor files atomically, then model.json atomically
 * (it names the new files and, as the backup, the previous checkpoint), then
 * deletes tensor files that are neither. model.json is the single commit
 * point, so a crash at any instant leaves a loadable checkpoint: the old one
 * before the rename of model.json, the new one after it.
 *
 * model.json:
 *   {"format": "dsengine-checkpoint", "version": 1, "iteration": N,
 *    "weights": "weights-<iter>.bin", "optimizer": "optimizer-<iter>.bin",
 *    "weights_crc": C, "optimizer_crc": C, "config": {...}, "state": {...},
 *    "saved": "<ISO-8601 UTC>",
 *    "backup": {"iteration": M, "weights": ..., "optimizer": ...,
 *               "weights_crc": ..., "optimizer_crc": ...}}
 * A *_crc is the CRC-32 the tensor file ends with (of every byte before it);
 * "backup" is absent until there is a previous checkpoint. */
#ifndef DS_ENGINE_MODEL_CHECKPOINT_H
#define DS_ENGINE_MODEL_CHECKPOINT_H

#include <stdint.h>

#include "engine/model/tensor_file.h"
#include "core/error.h"

typedef struct ds_checkpoint {
  int64_t iteration;
  char *config_json; /* compact JSON object text */
  char *state_json;  /* compact JSON object text, as the caller saved it */
  ds_tensor_set weights;
  ds_tensor_set optimizer;
  int used_backup;   /* 1 when the current files were bad and the backup was loaded */
  char warning[512]; /* one line naming the bad file when used_backup; else empty */
} ds_checkpoint;

/* Saves a checkpoint into dir (created with its parents if needed).
 * config_json and state_json are JSON object texts (NULL means {}), stored as
 * objects in model.json. Saving the same iteration again rewrites its files
 * and keeps the earlier, different iteration as the backup. */
ds_status ds_checkpoint_save(const char *dir, int64_t iteration, const char *config_json,
                             const char *state_json, const ds_tensor_set *weights,
                             const ds_tensor_set *optimizer, ds_error *err);

/* 1 when dir/model.json exists. */
int ds_checkpoint_exists(const char *dir);

/* Loads the checkpoint in dir into out (free it with ds_checkpoint_free).
 * The tensor files must pass every check of their own and carry the CRCs
 * model.json recorded. When the current files are missing or corrupt and the
 * backup is intact, the backup is loaded and used_backup and warning are set
 * (state_json is still the latest state). A missing model.json is
 * DS_ERR_NOT_FOUND; a bad model.json, or no intact files, DS_ERR_CORRUPT
 * naming the bad file. A corrupt file is never loaded. */
ds_status ds_checkpoint_load(const char *dir, ds_checkpoint *out, ds_error *err);

/* Frees and zeroes. Safe on a zeroed checkpoint. */
void ds_checkpoint_free(ds_checkpoint *ck);

#endif
