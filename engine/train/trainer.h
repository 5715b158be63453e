/* The training loop of the original: each iteration, for each identity in
 * turn, a batch of its faces is augmented on the device (random transform +
 * random warp), run through the shared encoder and the identity's decoder,
 * and one Adam step updates the encoder and that decoder only.
 *
 * A model directory holds the checkpoint (engine/model/checkpoint.h) and the
 * previews. Training into a directory that holds a checkpoint resumes it:
 * iteration count, weights, Adam moments and step, RNG state and loss
 * history. Iterations given are run in this session, on top of those done. */
#ifndef DS_ENGINE_TRAIN_TRAINER_H
#define DS_ENGINE_TRAIN_TRAINER_H

#include <signal.h>
#include <stdint.h>

#include "engine/model/config.h"
#include "core/error.h"

typedef struct ds_train_options {
  const char *config_path; /* NULL: the config stored in the model directory */
  const char *model_dir;
  int face_count; /* --faces NAME=DIR pairs */
  const char *face_names[DS_MAX_IDENTITIES];
  const char *face_dirs[DS_MAX_IDENTITIES];
  long long iterations; /* this session; 0: the config's run.iterations, else until stopped */
  double minutes;       /* 0: the config's run.minutes, else no limit */
  int batch;            /* 0: the config's train.batch */
  int save_every, preview_every; /* 0: the config's run section (default 100) */
  uint64_t seed;
  int no_warp, no_flip;
  const char *device_spec, *device_origin;
  /* data parallel (engine/train/parallel.h): --devices LIST, and the MPI
   * ranks; NULL and NULL (or a world of one): one device, as before */
  const char *devices;
  struct ds_comm *comm;
  volatile sig_atomic_t *stop; /* set asynchronously (a signal): save and stop */
  struct ds_train_feed
      *feed; /* where to publish for a monitor (engine/monitor/feed.h); may be NULL */
} ds_train_options;

enum { DS_TRAIN_LOSS_WINDOW = 50 };

typedef struct ds_train_status {
  const ds_model_config *cfg;
  long long iteration;                    /* iterations done in total */
  long long first_iteration;              /* where this session started */
  long long target;                       /* total to reach; 0 when open-ended */
  double elapsed_s, samples_per_s, eta_s; /* eta_s < 0: unknown */
  double loss[DS_MAX_IDENTITIES];         /* mean of the last few iterations */
  /* decoder.mask: each mask's mean squared error against its target,
   * smoothed over the last iterations; has_mask 0 without one */
  double mask_loss[DS_MAX_IDENTITIES];
  int has_mask;
  const char *device;
} ds_train_status;

typedef struct ds_train_summary {
  long long first_iteration, last_iteration;
  double seconds, samples_per_s;
  /* mean loss over the first and the last DS_TRAIN_LOSS_WINDOW iterations of
   * this session, per identity (equal when fewer were run) */
  double loss_first[DS_MAX_IDENTITIES], loss_last[DS_MAX_IDENTITIES];
  int identity_count;
  char names[DS_MAX_IDENTITIES][32];
  char preview_path[1100];
  char checkpoint_dir[1024];
  int interrupted;
} ds_train_summary;

typedef struct ds_train_callbacks {
  void (*progress)(const ds_train_status *s, void *user); /* after each iteration */
  void (*note)(const char *line, void *user);             /* a one-line event */
  void *user;
} ds_train_callbacks;

/* Runs training. On a stop request it saves and returns DS_ERR_INTERRUPTED
 * with the summary filled. */
ds_status ds_train(const ds_train_options *opt, const ds_train_callbacks *cb,
                   ds_train_summary *summary, ds_error *err);

#endif
