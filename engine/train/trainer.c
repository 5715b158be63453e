#include "engine/train/trainer.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/model/checkpoint.h"
#include "engine/model/model.h"
#include "engine/model/tensor_file.h"
#include "engine/monitor/feed.h"
#include "engine/monitor/loss_plot.h"
#include "engine/train/augment.h"
#include "engine/train/dataset.h"
#include "engine/train/face_mask.h"
#include "engine/train/parallel.h"
#include "engine/train/preview.h"
#include "engine/util/report.h"
#include "host/buffer.h"
#include "host/program.h"

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

/* ---- configuration and resume ---- */

static ds_status load_config(trainer *t, ds_checkpoint *ck, int *resume, ds_error *err) {
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

static ds_status load_faces(trainer *t, ds_error *err) {
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
static void restore_state(trainer *t, const ds_checkpoint *ck) {
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

static ds_status save(trainer *t, double seconds, ds_error *err) {
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

static ds_status write_preview(trainer *t, char *path, size_t cap, ds_error *err) {
  if (t->par && !ds_parallel_is_root(t->par)) return DS_OK;
  const int S = t->cfg.input_size, C = t->cfg.input_channels, cols = t->preview_cols;
  const size_t per = (size_t)cols * S * S * C;
  const int rows = t->ids * (1 + t->ids);
  float *img = malloc((size_t)rows * per * sizeof *img);
  ds_preview_row *row = calloc((size_t)rows, sizeof *row);
  char(*labels)[80] = calloc((size_t)rows, sizeof *labels);
  ds_status st =
      img && row && labels ? DS_OK : ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  int r = 0;
  const int out = ds_model_path_length(&t->model);
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
        st = ds_buffer_read(t->rt, t->model.act[out], 0, per * 4, img + r * per, err);
      snprintf(labels[r], sizeof labels[r], "%s>%s", t->cfg.decoders[i], t->cfg.decoders[j]);
      row[r].label = labels[r];
      row[r].images = img + r * per;
      r++;
    }
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

/* ---- the loop ---- */

/* The model's buffers and host copies, and beside them the faces on the
 * device, the augmentation intermediate (a batch of faces in floats) and the
 * warped, target and preview batches: checked before the first allocation,
 * so a model that cannot fit is one line, never a process the OOM killer
 * ends half-way. */
static ds_status check_memory(trainer *t, ds_error *err) {
  const uint64_t S = (uint64_t)t->cfg.input_size, C = (uint64_t)t->cfg.input_channels;
  const uint64_t n = (uint64_t)t->cfg.batch, face = (uint64_t)FACE_SIZE * FACE_SIZE * 3;
  ds_memory_need need;
  ds_model_memory_need(&t->model, t->rt, (unsigned)n, 1, &need);
  for (int i = 0; i < t->ids; i++)
    need.device_bytes += (uint64_t)t->sets[i].count * face;
  need.device_bytes += n * face * sizeof(float) +
                       (2 * n + (uint64_t)t->ids * PREVIEW_COLS) * S * S * C * sizeof(float);
  return ds_model_memory_check(&need, t->rt, (unsigned)n, err);
}

static ds_status setup_device(trainer *t, ds_error *err) {
  const int S = t->cfg.input_size, C = t->cfg.input_channels;
  /* data parallel: this device's share, and room for the preview faces */
  const int n = t->par ? ds_parallel_device_batch(t->par, PREVIEW_COLS) : t->cfg.batch;
  ds_status st =
      t->par ? ds_runtime_open(&t->rt, ds_parallel_first_device(t->par), "--devices", 0, err)
             : ds_runtime_open(&t->rt, t->opt->device_spec, t->opt->device_origin, 0, err);
  if (st != DS_OK) return st;
  t->rt->tune_note = t->cb ? t->cb->note : NULL; /* the first run's tuning, shape by shape */
  t->rt->tune_note_user = t->cb ? t->cb->user : NULL;
  ds_model_build(&t->model, &t->cfg);
  st = check_memory(t, err);
  if (st == DS_OK) st = ds_model_device_create(&t->model, t->rt, (unsigned)n, err);
  for (int i = 0; st == DS_OK && i < t->ids; i++)
    st = ds_dataset_upload(t->rt, &t->sets[i], &t->faces[i], err);
  if (st == DS_OK) st = ds_augment_workspace_create(t->rt, n, FACE_SIZE, &t->ws, err);
  if (st == DS_OK && t->cfg.face_area.on) {
    const ds_face_weights fw = {t->cfg.face_area.background, t->cfg.face_area.eyes,
                                t->cfg.face_area.mouth};
    st = ds_face_mask_set_create(t->rt, t->sets, t->ids, &fw, n, S, &t->masks, err);
    if (st == DS_OK) st = ds_model_set_loss_weights(&t->model, t->masks.target, err);
  }
  const size_t batch_bytes = (size_t)n * S * S * C * sizeof(float);
  if (st == DS_OK)
    st = ds_buffer_create(t->rt, batch_bytes, CL_MEM_READ_WRITE, "warped batch", &t->warped, err);
  if (st == DS_OK)
    st = ds_buffer_create(t->rt, batch_bytes, CL_MEM_READ_WRITE, "target batch", &t->target, err);
  t->params = calloc((size_t)t->cfg.batch, sizeof *t->params);
  t->indices = calloc((size_t)t->cfg.batch, sizeof *t->indices);
  if (st == DS_OK && (!t->params || !t->indices))
    st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");

  /* preview inputs: evenly spaced faces, aligned crop without augmentation */
  int cols = PREVIEW_COLS;
  for (int i = 0; i < t->ids; i++)
    if (t->sets[i].count < cols) cols = t->sets[i].count;
  if (cols > n) cols = n;
  t->preview_cols = cols;
  const double zero[25] = {0};
  for (int i = 0; st == DS_OK && i < t->ids; i++) {
    st = ds_buffer_create(t->rt, (size_t)cols * S * S * C * sizeof(float), CL_MEM_READ_WRITE,
                          "preview faces", &t->preview_in[i], err);
    for (int c = 0; c < cols; c++) {
      t->indices[c] = (int)((long long)c * t->sets[i].count / cols);
      ds_augment_params_make(0, 1, 0, 0, 0, zero, zero, FACE_SIZE, S, &t->params[c]);
    }
    if (st == DS_OK)
      st = ds_augment_batch(t->rt, t->faces[i], FACE_SIZE, t->indices, t->params, cols, S,
                            t->warped, t->preview_in[i], &t->ws, err);
  }
  return st;
}

static ds_status init_weights(trainer *t, ds_checkpoint *ck, int resume, ds_error *err) {
  ds_model *m = &t->model;
  if (!resume) {
    float *p = malloc(m->param_floats * sizeof *p);
    if (!p) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory for the weights");
    ds_model_init_params(m, t->opt->seed, p);
    ds_status st = ds_buffer_write(t->rt, m->params, 0, m->param_floats * 4, p, err);
    free(p);
    ds_rng_seed(&t->rng, t->opt->seed, 1);
    return st;
  }
  if (ck->weights.data_count != m->param_floats || ck->optimizer.data_count != 2 * m->param_floats)
    return ds_error_set(err, DS_ERR_CORRUPT,
                        "%s: the checkpoint's tensors do not match the model of its config "
                        "(%llu weights, %zu expected)",
                        t->opt->model_dir, (unsigned long long)ck->weights.data_count,
                        m->param_floats);
  ds_status st = ds_buffer_write(t->rt, m->params, 0, m->param_floats * 4, ck->weights.data, err);
  if (st == DS_OK)
    st = ds_buffer_write(t->rt, m->adam_m, 0, m->param_floats * 4, ck->optimizer.data, err);
  if (st == DS_OK)
    st = ds_buffer_write(t->rt, m->adam_v, 0, m->param_floats * 4,
                         ck->optimizer.data + m->param_floats, err);
  t->iteration = ck->iteration;
  m->adam_step = t->iteration * t->adam_steps_per_iteration;
  restore_state(t, ck);
  if (ck->used_backup) ds_note(NOTE_TO(t), "warning: %s", ck->warning);
  ds_note(NOTE_TO(t), "resuming %s from iteration %lld", t->opt->model_dir, t->iteration);
  return st;
}

static ds_status record_loss(trainer *t, const double *loss, ds_error *err) {
  if (t->loss_len == t->loss_cap) {
    long long cap = t->loss_cap ? 2 * t->loss_cap : 1024;
    for (int i = 0; i < t->ids; i++) {
      double *g = realloc(t->losses[i], (size_t)cap * sizeof *g);
      if (!g) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
      t->losses[i] = g;
    }
    t->loss_cap = cap;
  }
  for (int i = 0; i < t->ids; i++) {
    t->losses[i][t->loss_len] = loss[i];
    t->interval_sum[i] += loss[i];
  }
  t->loss_len++;
  t->interval_n++;
  return DS_OK;
}

static double mean(const double *v, long long from, long long to) {
  double s = 0;
  for (long long i = from; i < to; i++)
    s += v[i];
  return to > from ? s / (double)(to - from) : 0.0;
}

static ds_status train_iteration(trainer *t, ds_error *err) {
  const int n = t->cfg.batch, S = t->cfg.input_size;
  double loss[DS_MAX_IDENTITIES];
  for (int i = 0; i < t->ids; i++) {
    /* a batch without repeats: a partial Fisher-Yates shuffle */
    uint32_t *perm = t->perm[i];
    const uint32_t count = (uint32_t)t->sets[i].count;
    for (int j = 0; j < n; j++) {
      uint32_t k = (uint32_t)j + ds_rng_below(&t->rng, count - (uint32_t)j), tmp = perm[j];
      perm[j] = perm[k];
      perm[k] = tmp;
      t->indices[j] = (int)perm[j];
      ds_augment_draw(&t->rng, &t->aug, FACE_SIZE, S, &t->params[j]);
    }
    ds_status st;
    if (t->par) {
      /* the replicas' losses, summed on the host, come back at once */
      st = ds_parallel_step(t->par, i, t->indices, t->params, &loss[i], err);
    } else {
      st = ds_augment_batch(t->rt, t->faces[i], FACE_SIZE, t->indices, t->params, n, S, t->warped,
                            t->target, &t->ws, err);
      if (st == DS_OK && t->cfg.face_area.on)
        st = ds_face_mask_set_batch(t->rt, &t->masks, i, n, &t->ws, err);
      if (st == DS_OK)
        st = ds_model_train_step(&t->model, i, t->warped, t->target, (unsigned)n, NULL, err);
    }
    if (st != DS_OK) return st;
  }
  /* one device: every identity's loss in one read (engine/nn/loss_set.h) */
  if (!t->par) {
    ds_status st = ds_model_read_losses(&t->model, t->ids, loss, err);
    if (st != DS_OK) return st;
  }
  for (int i = 0; i < t->ids; i++) {
    if (!isfinite(loss[i]))
      return ds_error_set(err, DS_ERR_INVALID,
                          "the loss of identity %s became %g at iteration %lld; the last "
                          "checkpoint in %s is intact",
                          t->cfg.decoders[i], loss[i], t->iteration + 1, t->opt->model_dir);
  }
  t->iteration++;
  return record_loss(t, loss, err);
}

/* A device that ran out at first use (CL_MEM_OBJECT_ALLOCATION_FAILURE or
 * CL_OUT_OF_RESOURCES from a launch, not at clCreateBuffer) gets the same
 * line as the check before allocation: the need, the limit, what to change. */
static void out_of_memory_in_step(trainer *t, ds_error *err) {
  ds_memory_need need;
  ds_model_memory_need(&t->model, t->rt, (unsigned)t->cfg.batch, 1, &need);
  char cause[DS_ERROR_MSG_MAX], a[32], b[32];
  memcpy(cause, err->msg, sizeof cause);
  ds_error_set(err, DS_ERR_NO_MEMORY,
               "out of device memory at iteration %lld: %s needs %s, %s has %s (%.300s); try a "
               "smaller --batch (now %d) or a smaller config such as configs/lowmem.json",
               t->iteration + 1, need.what, ds_format_bytes(need.device_bytes, a, sizeof a),
               t->rt->device.name, ds_format_bytes(t->rt->device.global_mem_bytes, b, sizeof b),
               cause, t->cfg.batch);
}

static void release(trainer *t) {
  for (int i = 0; i < DS_MAX_IDENTITIES; i++) {
    ds_buffer_release(&t->faces[i]);
    ds_buffer_release(&t->preview_in[i]);
    ds_dataset_free(&t->sets[i]);
    free(t->perm[i]);
    free(t->losses[i]);
  }
  ds_buffer_release(&t->warped);
  ds_buffer_release(&t->target);
  if (t->ws.params) ds_augment_workspace_destroy(&t->ws);
  ds_parallel_destroy(t->par);
  ds_face_mask_set_destroy(&t->masks);
  if (t->model.rt) ds_model_device_destroy(&t->model);
  ds_runtime_destroy(t->rt);
  free(t->params);
  free(t->indices);
  cJSON_Delete(t->history);
  free(t->config_json);
}

ds_status ds_train(const ds_train_options *opt, const ds_train_callbacks *cb,
                   ds_train_summary *summary, ds_error *err) {
  trainer t;
  memset(&t, 0, sizeof t);
  memset(summary, 0, sizeof *summary);
  t.opt = opt;
  t.cb = cb;
  t.history = cJSON_CreateObject();
  ds_checkpoint ck;
  memset(&ck, 0, sizeof ck);
  int resume = 0;
  ds_status st = load_config(&t, &ck, &resume, err);
  /* now, not at the first save: a preview may come first */
  if (st == DS_OK) st = ds_make_dirs(opt->model_dir, "model folder", err);
  if (st == DS_OK) st = load_faces(&t, err);
  if (st == DS_OK && (opt->devices || ds_comm_size(opt->comm) > 1) && t.cfg.face_area.on)
    st = ds_error_set(err, DS_ERR_INVALID,
                      "train.face_area is not yet trained on several devices or ranks; train on "
                      "one device (no --devices, no mpirun) or drop train.face_area from the "
                      "config");
  if (st == DS_OK && (opt->devices || ds_comm_size(opt->comm) > 1))
    st = ds_parallel_begin(&t.par, opt, &t.cfg, t.sets, resume ? ck.iteration : -1, err);
  if (st == DS_OK) st = setup_device(&t, err);
  if (st == DS_OK && t.par)
    st = ds_parallel_attach(t.par, t.rt, &t.model, t.faces, &t.ws, t.warped, t.target, t.sets,
                            t.ids, FACE_SIZE, t.cfg.input_size, err);
  if (st == DS_OK) st = init_weights(&t, &ck, resume, err);
  if (st == DS_OK && t.par) st = ds_parallel_sync(t.par, &t.iteration, &t.rng, err);
  if (st == DS_OK && !(t.config_json = ds_model_config_to_json(&t.cfg)))
    st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");

  long long session = opt->iterations;
  if (session <= 0 && t.cfg.run.has_iterations) session = t.cfg.run.iterations;
  double minutes =
      opt->minutes > 0 ? opt->minutes : (t.cfg.run.has_minutes ? t.cfg.run.minutes : 0);
  const int save_every = opt->save_every > 0 ? opt->save_every : t.cfg.run.save_every;
  const int preview_every = opt->preview_every > 0 ? opt->preview_every : t.cfg.run.preview_every;
  if (st == DS_OK)
    ds_note(NOTE_TO(&t), "training %s (%d identities, batch %d) on %s", t.cfg.name, t.ids,
            t.cfg.batch, t.par ? ds_parallel_describe(t.par) : t.rt->device.name);

  const long long first = t.iteration, target = session > 0 ? first + session : 0;
  if (st == DS_OK && !opt->feed) st = ds_train_feed_create(&t.own_feed, err);
  t.feed = opt->feed ? opt->feed : t.own_feed;
  if (st == DS_OK)
    st = ds_train_feed_begin(t.feed, &t.cfg, t.rt->device.name, first, target, t.seconds_before,
                             resume ? ck.state_json : NULL, err);
  ds_checkpoint_free(&ck);
  const double t0 = ds_now_s();
  long long last_saved = first, last_preview = -1;
  int interrupted = 0;
  while (st == DS_OK) {
    double elapsed = ds_now_s() - t0;
    /* 2: stop requested, 1: done; every rank stops at the same iteration */
    int halt = opt->stop && *opt->stop ? 2
               : (target && t.iteration >= target) || (minutes > 0 && elapsed >= 60.0 * minutes)
                   ? 1
                   : 0;
    if (t.par && (st = ds_parallel_agree(t.par, &halt, err)) != DS_OK) break;
    interrupted = halt == 2;
    if (halt) break;
    st = train_iteration(&t, err);
    if (st == DS_ERR_NO_MEMORY) out_of_memory_in_step(&t, err);
    if (st != DS_OK) break;
    elapsed = ds_now_s() - t0;
    {
      ds_train_status s = {.cfg = &t.cfg,
                           .iteration = t.iteration,
                           .first_iteration = first,
                           .target = target,
                           .elapsed_s = elapsed,
                           .eta_s = -1,
                           .device = t.rt->device.name};
      const long long done = t.iteration - first;
      s.samples_per_s = (double)done * t.cfg.batch * t.ids / elapsed;
      const double per_it = elapsed / (double)done;
      if (target) s.eta_s = per_it * (double)(target - t.iteration);
      if (minutes > 0 && (s.eta_s < 0 || 60.0 * minutes - elapsed < s.eta_s))
        s.eta_s = 60.0 * minutes - elapsed;
      long long from = t.loss_len > RECENT ? t.loss_len - RECENT : 0;
      double now[DS_MAX_IDENTITIES];
      for (int i = 0; i < t.ids; i++) {
        s.loss[i] = mean(t.losses[i], from, t.loss_len);
        now[i] = t.losses[i][t.loss_len - 1];
      }
      ds_train_feed_iteration(t.feed, t.iteration, elapsed, s.samples_per_s, s.eta_s, now, s.loss);
      if (cb && cb->progress) cb->progress(&s, cb->user);
    }
    if (save_every > 0 && t.iteration % save_every == 0) {
      st = save(&t, t.seconds_before + elapsed, err);
      last_saved = t.iteration;
    }
    if (st == DS_OK && preview_every > 0 && t.iteration % preview_every == 0) {
      st = write_preview(&t, summary->preview_path, sizeof summary->preview_path, err);
      last_preview = t.iteration;
    }
  }
  const double seconds = ds_now_s() - t0;
  /* the state reached is on disk and in the preview when we return */
  if (t.rt && st == DS_OK && t.iteration > last_saved)
    st = save(&t, t.seconds_before + seconds, err);
  if (t.rt && st == DS_OK && t.iteration != last_preview)
    st = write_preview(&t, summary->preview_path, sizeof summary->preview_path, err);

  summary->first_iteration = first;
  summary->last_iteration = t.iteration;
  summary->seconds = seconds;
  summary->samples_per_s =
      seconds > 0 ? (double)(t.iteration - first) * t.cfg.batch * t.ids / seconds : 0;
  summary->identity_count = t.ids;
  summary->interrupted = interrupted;
  snprintf(summary->checkpoint_dir, sizeof summary->checkpoint_dir, "%s", opt->model_dir);
  const long long w = t.loss_len < DS_TRAIN_LOSS_WINDOW ? t.loss_len : DS_TRAIN_LOSS_WINDOW;
  for (int i = 0; i < t.ids; i++) {
    snprintf(summary->names[i], sizeof summary->names[i], "%s", t.cfg.decoders[i]);
    summary->loss_first[i] = mean(t.losses[i], 0, w);
    summary->loss_last[i] = mean(t.losses[i], t.loss_len - w, t.loss_len);
  }
  if (t.feed)
    ds_train_feed_end(t.feed, st != DS_OK   ? DS_FEED_FAILED
                              : interrupted ? DS_FEED_INTERRUPTED
                                            : DS_FEED_FINISHED);
  ds_train_feed_destroy(t.own_feed);
  release(&t);
  if (st == DS_OK && interrupted)
    return ds_error_set(err, DS_ERR_INTERRUPTED,
                        "interrupted at iteration %lld; the checkpoint in %s is saved, run the "
                        "same command to resume",
                        summary->last_iteration, opt->model_dir);
  return st;
}
