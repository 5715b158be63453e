/* dsengine train's loop (engine/train/trainer.h): the device set-up and its
 * memory check, the weights, one iteration over every identity, and the
 * run from the first step to the last save. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/train/trainer_internal.h"
#include "engine/util/report.h"
#include "host/buffer.h"

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
  /* train.face_area and decoder.mask: a byte per face pixel, a float per
   * pixel of a face and of a target */
  const int maps = t->cfg.face_area.on + t->cfg.dec_mask;
  for (int i = 0; i < t->ids; i++)
    need.device_bytes += (uint64_t)maps * t->sets[i].count * FACE_SIZE * FACE_SIZE;
  need.device_bytes += (uint64_t)maps * n * (FACE_SIZE * FACE_SIZE + S * S) * sizeof(float);
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
    const ds_face_weights fw = {.background = t->cfg.face_area.background,
                                .eyes = t->cfg.face_area.eyes,
                                .mouth = t->cfg.face_area.mouth};
    st = ds_face_mask_set_create(t->rt, t->sets, t->ids, &fw, n, S, &t->masks, err);
    if (st == DS_OK) st = ds_model_set_loss_weights(&t->model, t->masks.target, err);
  }
  if (st == DS_OK && t->cfg.dec_mask) {
    st =
        ds_face_mask_set_create(t->rt, t->sets, t->ids, &ds_face_mask_target, n, S, &t->hulls, err);
    if (st == DS_OK) st = ds_model_set_mask_target(&t->model, t->hulls.target, err);
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
  trainer_restore_state(t, ck);
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
      if (st == DS_OK && t->cfg.dec_mask)
        st = ds_face_mask_set_batch(t->rt, &t->hulls, i, n, &t->ws, err);
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
  if (t->cfg.dec_mask) {
    double mask[DS_MAX_IDENTITIES];
    ds_status st = ds_model_read_mask_losses(&t->model, t->ids, mask, err);
    if (st != DS_OK) return st;
    /* an exponential mean over about RECENT iterations; the first sets it */
    for (int i = 0; i < t->ids; i++)
      t->mask_loss[i] =
          t->loss_len ? t->mask_loss[i] + (mask[i] - t->mask_loss[i]) / RECENT : mask[i];
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
  ds_face_mask_set_destroy(&t->hulls);
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
  ds_status st = trainer_load_config(&t, &ck, &resume, err);
  /* now, not at the first save: a preview may come first */
  if (st == DS_OK) st = ds_make_dirs(opt->model_dir, "model folder", err);
  if (st == DS_OK) st = trainer_load_faces(&t, err);
  /* their per-face maps are not yet split over replicas */
  const char *single = t.cfg.face_area.on ? "train.face_area"
                       : t.cfg.dec_mask   ? "decoder.mask"
                                          : NULL;
  if (st == DS_OK && (opt->devices || ds_comm_size(opt->comm) > 1) && single)
    st = ds_error_set(err, DS_ERR_INVALID,
                      "%s is not yet trained on several devices or ranks; train on one device "
                      "(no --devices, no mpirun) or drop %s from the config",
                      single, single);
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
        s.mask_loss[i] = t.mask_loss[i];
      }
      s.has_mask = t.cfg.dec_mask;
      ds_train_feed_iteration(t.feed, t.iteration, elapsed, s.samples_per_s, s.eta_s, now, s.loss);
      if (cb && cb->progress) cb->progress(&s, cb->user);
    }
    if (save_every > 0 && t.iteration % save_every == 0) {
      st = trainer_save(&t, t.seconds_before + elapsed, err);
      last_saved = t.iteration;
    }
    if (st == DS_OK && preview_every > 0 && t.iteration % preview_every == 0) {
      st = trainer_write_preview(&t, summary->preview_path, sizeof summary->preview_path, err);
      last_preview = t.iteration;
    }
  }
  const double seconds = ds_now_s() - t0;
  /* the state reached is on disk and in the preview when we return */
  if (t.rt && st == DS_OK && t.iteration > last_saved)
    st = trainer_save(&t, t.seconds_before + seconds, err);
  if (t.rt && st == DS_OK && t.iteration != last_preview)
    st = trainer_write_preview(&t, summary->preview_path, sizeof summary->preview_path, err);

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
