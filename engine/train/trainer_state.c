/* What a training run keeps and restores: its config and faces, the state a
 * checkpoint holds (RNG, loss history, sampling order, runs) and the
 * preview grid (engine/train/trainer.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/monitor/loss_plot.h"
#include "engine/train/preview.h"
#include "engine/train/trainer_internal.h"
#include "engine/util/report.h"
#include "host/buffer.h"

/* ---- configuration and resume ---- */

ds_status trainer_load_config(trainer *t, ds_checkpoint *ck, int *resume, ds_error *err) {
  const ds_train_options *o = t->opt;
  *resume = ds_checkpoint_exists(o->model_dir);
  if (*resume) {
    ds_status st = ds_checkpoint_load(o->model_dir, ck, err);
    if (st != DS_OK) return st;
    char where[1100];
    snprintf(where, sizeof where, "%s/model.json", o->model_dir);
    ds_model_config stored;
    st = ds_model_config_parse(ck->config_json, where, &stored, err);
    if (st != DS_OK) return st;
    if (o->config_path) {
      st = ds_model_config_load(o->config_path, &t->cfg, err);
      if (st != DS_OK) return st;
      char why[256];
      if (!ds_model_config_same_network(&t->cfg, &stored, why, sizeof why))
        return ds_error_set(err, DS_ERR_INVALID,
                            "%s was trained with another network than %s (%s); use a new --model "
                            "folder or the config the model was made with",
                            o->model_dir, o->config_path, why);
    } else {
      t->cfg = stored;
    }
  } else {
    if (!o->config_path)
      return ds_error_set(
          err, DS_ERR_INVALID,
          "%s holds no model yet; give --config (e.g. configs/tiny.json) to start one",
          o->model_dir);
    ds_status st = ds_model_config_load(o->config_path, &t->cfg, err);
    if (st != DS_OK) return st;
  }
  if (o->batch > 0) t->cfg.batch = o->batch;
  t->ids = t->cfg.decoder_count;
  t->adam_steps_per_iteration = t->ids;
  t->aug = ds_augment_config_default();
  t->aug.rotation = t->cfg.rotation;
  t->aug.zoom = t->cfg.zoom;
  t->aug.shift = t->cfg.shift;
  t->aug.flip = o->no_flip ? 0.0f : t->cfg.flip;
  t->aug.warp = o->no_warp ? 0 : t->cfg.warp;
  return DS_OK;
}

ds_status trainer_load_faces(trainer *t, ds_error *err) {
  const ds_train_options *o = t->opt;
  for (int f = 0; f < o->face_count; f++)
    if (ds_model_identity_index(&t->cfg, o->face_names[f]) < 0) {
      ds_error_set(err, DS_ERR_INVALID, "--faces %s=%s: the model has no identity %s; it has",
                   o->face_names[f], o->face_dirs[f], o->face_names[f]);
      for (int i = 0; i < t->ids; i++)
        ds_error_append(err, " %s", t->cfg.decoders[i]);
      return DS_ERR_INVALID;
    }
  for (int i = 0; i < t->ids; i++) {
    const char *dir = NULL;
    for (int f = 0; f < o->face_count; f++)
      if (strcmp(o->face_names[f], t->cfg.decoders[i]) == 0) dir = o->face_dirs[f];
    if (!dir)
      return ds_error_set(err, DS_ERR_INVALID,
                          "no faces for identity %s: add --faces %s=DIR (the model trains one "
                          "decoder per identity and needs faces for each)",
                          t->cfg.decoders[i], t->cfg.decoders[i]);
    ds_status st = ds_dataset_load(t->cfg.decoders[i], dir, FACE_SIZE, &t->sets[i], err);
    if (st == DS_OK) st = ds_dataset_check_batch(&t->sets[i], t->cfg.batch, err);
    if (st != DS_OK) return st;
    t->perm[i] = malloc((size_t)t->sets[i].count * sizeof *t->perm[i]);
    if (!t->perm[i]) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
    for (int k = 0; k < t->sets[i].count; k++)
      t->perm[i][k] = (uint32_t)k;
  }
  return DS_OK;
}

static uint64_t parse_hex(const cJSON *o, const char *key, int *ok) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsString(v)) {
    *ok = 0;
    return 0;
  }
  return strtoull(v->valuestring, NULL, 16);
}

/* The sampling order of each identity's faces (the shuffle continues from
 * it), so a resumed run draws the batches an unbroken one would. Kept only
 * when the face count is the one it was saved with. */
static void restore_order(trainer *t, const cJSON *order) {
  for (int i = 0; cJSON_IsObject(order) && i < t->ids; i++) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(order, t->cfg.decoders[i]);
    if (cJSON_GetArraySize(a) != t->sets[i].count) continue;
    int k = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, a) {
      if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= t->sets[i].count) break;
      k++;
    }
    if (k != t->sets[i].count) continue;
    k = 0;
    cJSON_ArrayForEach(v, a) t->perm[i][k++] = (uint32_t)v->valuedouble;
  }
}

/* Restores the RNG and loss history from the state JSON of a checkpoint. */
void trainer_restore_state(trainer *t, const ds_checkpoint *ck) {
  cJSON *state = cJSON_Parse(ck->state_json ? ck->state_json : "{}");
  int ok = 1;
  if (state) {
    t->rng.state = parse_hex(state, "rng_state", &ok);
    t->rng.inc = parse_hex(state, "rng_inc", &ok);
    const cJSON *sec = cJSON_GetObjectItemCaseSensitive(state, "train_seconds");
    if (cJSON_IsNumber(sec)) t->seconds_before = sec->valuedouble;
    restore_order(t, cJSON_GetObjectItemCaseSensitive(state, "order"));
    cJSON *loss = cJSON_DetachItemFromObjectCaseSensitive(state, "loss");
    if (cJSON_IsObject(loss)) {
      /* a resume from the backup drops the history past its iteration */
      cJSON *id;
      cJSON_ArrayForEach(id, loss) {
        int n = cJSON_GetArraySize(id);
        while (n > 0) {
          cJSON *last = cJSON_GetArrayItem(id, n - 1);
          cJSON *it = cJSON_GetArrayItem(last, 0);
          if (!cJSON_IsNumber(it) || it->valuedouble <= (double)t->iteration) break;
          cJSON_DeleteItemFromArray(id, --n);
        }
      }
      cJSON_Delete(t->history);
      t->history = loss;
    } else {
      cJSON_Delete(loss);
    }
    cJSON_Delete(state);
  }
  if (!state || !ok) ds_rng_seed(&t->rng, t->opt->seed + (uint64_t)t->iteration, 1);
}

/* ---- checkpoints and previews ---- */

static char *state_json(trainer *t, double seconds) {
  cJSON *s = cJSON_CreateObject();
  char hex[32];
  cJSON_AddNumberToObject(s, "iteration", (double)t->iteration);
  cJSON_AddNumberToObject(s, "adam_step", (double)t->model.adam_step);
  snprintf(hex, sizeof hex, "%016" PRIx64, t->rng.state);
  cJSON_AddStringToObject(s, "rng_state", hex);
  snprintf(hex, sizeof hex, "%016" PRIx64, t->rng.inc);
  cJSON_AddStringToObject(s, "rng_inc", hex);
  cJSON_AddNumberToObject(s, "seed", (double)t->opt->seed);
  cJSON_AddNumberToObject(s, "batch", t->cfg.batch);
  cJSON_AddStringToObject(s, "device", t->rt->device.name);
  cJSON_AddNumberToObject(s, "train_seconds", seconds);
  cJSON_AddItemReferenceToObject(s, "loss", t->history);
  cJSON *order = cJSON_AddObjectToObject(s, "order");
  for (int i = 0; order && i < t->ids; i++) {
    cJSON *a = cJSON_AddArrayToObject(order, t->cfg.decoders[i]);
    for (int k = 0; a && k < t->sets[i].count; k++)
      cJSON_AddItemToArray(a, cJSON_CreateNumber(t->perm[i][k]));
  }
  ds_train_feed_add_runs(t->feed, s);
  char *text = cJSON_Print(s);
  cJSON_Delete(s);
  return text;
}

static void add_history(trainer *t) {
  if (t->interval_n == 0) return;
  for (int i = 0; i < t->ids; i++) {
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(t->history, t->cfg.decoders[i]);
    if (!arr) arr = cJSON_AddArrayToObject(t->history, t->cfg.decoders[i]);
    cJSON *pair = cJSON_CreateArray();
    cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)t->iteration));
    cJSON_AddItemToArray(pair, cJSON_CreateNumber(t->interval_sum[i] / t->interval_n));
    cJSON_AddItemToArray(arr, pair);
    t->interval_sum[i] = 0;
  }
  t->interval_n = 0;
}

ds_status trainer_save(trainer *t, double seconds, ds_error *err) {
  if (t->par) {
    int resynced = 0;
    ds_status st = ds_parallel_verify(t->par, &resynced, err);
    if (st != DS_OK) return st;
    if (resynced)
      ds_note(NOTE_TO(t), "warning: the replicas' weights drifted apart (devices that round Adam "
                          "differently); all now hold rank 0's");
    if (!ds_parallel_is_root(t->par)) return DS_OK;
  }
  ds_tensor_set w = {0}, o = {0};
  char *state = NULL;
  ds_model *m = &t->model;
  ds_status st = ds_model_tensor_set(m, "", &w, err);
  if (st == DS_OK) st = ds_model_tensor_set(m, "m.", &o, err);
  if (st == DS_OK) st = ds_model_tensor_set(m, "v.", &o, err);
  if (st == DS_OK) st = ds_buffer_read(t->rt, m->params, 0, m->param_floats * 4, w.data, err);
  if (st == DS_OK) st = ds_buffer_read(t->rt, m->adam_m, 0, m->param_floats * 4, o.data, err);
  if (st == DS_OK)
    st = ds_buffer_read(t->rt, m->adam_v, 0, m->param_floats * 4, o.data + m->param_floats, err);
  if (st == DS_OK) {
    add_history(t);
    state = state_json(t, seconds);
    st = state ? ds_checkpoint_save(t->opt->model_dir, t->iteration, t->config_json, state, &w, &o,
                                    err)
               : ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  }
  if (st == DS_OK) {
    ds_train_feed_checkpoint(t->feed, t->iteration);
    ds_note(NOTE_TO(t), "saved %s at iteration %lld", t->opt->model_dir, t->iteration);
  }
  free(state);
  ds_tensor_set_free(&w);
  ds_tensor_set_free(&o);
  return st;
}

ds_status trainer_write_preview(trainer *t, char *path, size_t cap, ds_error *err) {
  if (t->par && !ds_parallel_is_root(t->par)) return DS_OK;
  const int S = t->cfg.input_size, C = t->cfg.input_channels, cols = t->preview_cols;
  const size_t per = (size_t)cols * S * S * C;
  /* decoder.mask adds a row per identity: its own reconstruction's mask */
  const int mask = t->cfg.dec_mask, rows = t->ids * (1 + t->ids + mask);
  float *img = malloc((size_t)rows * per * sizeof *img);
  ds_preview_row *row = calloc((size_t)rows, sizeof *row);
  char(*labels)[80] = calloc((size_t)rows, sizeof *labels);
  ds_status st =
      img && row && labels ? DS_OK : ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  int r = 0;
  for (int i = 0; st == DS_OK && i < t->ids; i++) {
    snprintf(labels[r], sizeof labels[r], "%s", t->cfg.decoders[i]);
    st = ds_buffer_read(t->rt, t->preview_in[i], 0, per * 4, img + r * per, err);
    row[r].label = labels[r];
    row[r].images = img + r * per;
    r++;
    /* own reconstruction first, then the swap into every other identity */
    for (int k = 0; st == DS_OK && k < t->ids; k++) {
      int j = (i + k) % t->ids;
      st = ds_model_forward(&t->model, j, t->preview_in[i], (unsigned)cols, err);
      if (st == DS_OK)
        st = ds_buffer_read(t->rt, ds_model_output(&t->model), 0, per * 4, img + r * per, err);
      snprintf(labels[r], sizeof labels[r], "%s>%s", t->cfg.decoders[i], t->cfg.decoders[j]);
      row[r].label = labels[r];
      row[r].images = img + r * per;
      r++;
      if (k == 0 && mask) {
        /* the mask as grey, in the C channels of the row after the swaps */
        const int at = r + t->ids - 1;
        float *plane = img + at * per, *grey = plane + per - (size_t)cols * S * S;
        if (st == DS_OK)
          st = ds_buffer_read(t->rt, ds_model_output_mask(&t->model), 0, (size_t)cols * S * S * 4,
                              grey, err);
        for (size_t p = 0; st == DS_OK && p < (size_t)cols * S * S; p++)
          for (int c = 0; c < C; c++)
            plane[p * C + c] = grey[p]; /* from the front: overwrites only grey read */
        snprintf(labels[at], sizeof labels[at], "%s mask", t->cfg.decoders[i]);
        row[at].label = labels[at];
        row[at].images = plane;
      }
    }
    r += mask;
  }
  if (st == DS_OK) {
    char title[512];
    int n = snprintf(title, sizeof title, "dsengine %s  iteration %lld  loss", t->cfg.name,
                     t->iteration);
    for (int i = 0; i < t->ids && n > 0 && (size_t)n < sizeof title; i++)
      n += snprintf(title + n, sizeof title - (size_t)n, " %s %.4f", t->cfg.decoders[i],
                    t->loss_len ? t->losses[i][t->loss_len - 1] : 0.0);
    snprintf(path, cap, "%s/preview.png", t->opt->model_dir);
    st = ds_preview_write(path, row, rows, cols, S, 2, title, err);
    if (st == DS_OK) ds_train_feed_preview(t->feed, t->iteration);
    char plot[1100];
    snprintf(plot, sizeof plot, "%s/loss.png", t->opt->model_dir);
    if (st == DS_OK) st = ds_loss_plot_write(plot, t->feed, err);
  }
  free(img);
  free(row);
  free(labels);
  return st;
}
