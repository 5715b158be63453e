/* Data-parallel training: one model replica per OpenCL device of this
 * process (own runtime, buffers, copy of the faces) and per MPI rank
 * (engine/dist/comm.h).
 *
 * Every rank draws the whole global batch of an identity from the same RNG,
 * so the data order depends on the seed and the step only; replica k of K
 * (over all ranks) takes an equal share of it. Each replica's loss is the
 * mean over its share, so its gradient is scaled by share / global batch
 * before the sum; the sum is formed in replica order on the host, summed
 * over ranks in ~25 MB buckets in backward order (decoder first) while the
 * device threads still read back later buckets, and written to every
 * replica, which all run the same Adam step: the weights stay identical.
 *
 * Replica 0 is the trainer's own runtime and model (checkpoints and
 * previews read it); the others are created and owned here.
 *
 * Environment: DSENGINE_BUCKET_MB  all-reduce bucket size (default 25). */
#ifndef DS_ENGINE_TRAIN_PARALLEL_H
#define DS_ENGINE_TRAIN_PARALLEL_H

#include <pthread.h>

#include "engine/dist/comm.h"
#include "engine/model/model.h"
#include "engine/train/augment.h"
#include "engine/train/dataset.h"
#include "engine/train/rng.h"

enum { DS_MAX_REPLICAS = 16, DS_MAX_BUCKETS = 256 };

typedef struct ds_replica {
  struct ds_parallel *owner;
  ds_runtime *rt;
  ds_model *model;
  cl_mem *faces; /* one per identity */
  ds_augment_workspace *ws;
  cl_mem warped, target;
  int first, count; /* samples [first, first + count) of the global batch */
  float *stage;     /* gradients read back, param_floats: stage_buf mapped */
  cl_mem stage_buf;
  double loss_sum; /* batch loss x count */
  int staged;      /* buckets read back in this step */
  int enqueued;    /* buckets whose read-back is enqueued */
  cl_event events[DS_MAX_BUCKETS];
  ds_status st;
  ds_error err;
  pthread_t thread;
  int owned; /* created here: the fields below are its */
  ds_model own_model;
  cl_mem own_faces[DS_MAX_IDENTITIES], own_warped, own_target;
  ds_augment_workspace own_ws;
} ds_replica;

typedef struct ds_parallel {
  ds_comm *comm; /* not owned */
  int global_batch, face_size, out_size;
  int count; /* replicas of this process */
  ds_device_desc devices[DS_MAX_REPLICAS];
  char first_spec[16]; /* replica 0's device, as a --device spec */
  ds_replica rep[DS_MAX_REPLICAS];
  int total; /* replicas over all ranks */
  float *sum;
  /* the step in flight, shared with the device threads under lock */
  pthread_mutex_t lock, build_lock;
  pthread_cond_t cond;
  unsigned char stepped[DS_MAX_IDENTITIES]; /* identities stepped once */
  int id, buckets, dec_buckets, reduced, failed;
  size_t bucket_begin[DS_MAX_BUCKETS], bucket_end[DS_MAX_BUCKETS];
  const int *indices;
  const ds_augment_params *params;
  char text[600];
} ds_parallel;

/* Resolves `devices` ("auto", "all", or a comma list of --device specs; NULL
 * under MPI means "auto": the rank's device within its machine) and splits
 * global_batch over all replicas of all ranks. */
ds_status ds_parallel_create(ds_parallel **out, const char *devices, ds_comm *comm,
                             int global_batch, ds_error *err);
void ds_parallel_destroy(ds_parallel *p);

/* The trainer's start: ds_parallel_create with its options, then
 * ds_parallel_check_config over the config, the options that change the
 * run, the faces of each identity and the iteration resumed from (-1: a
 * new model). */
struct ds_train_options;
ds_status ds_parallel_begin(ds_parallel **out, const struct ds_train_options *o,
                            const ds_model_config *cfg, const ds_dataset *sets,
                            long long resume_iteration, ds_error *err);

/* Replica 0's device, as a --device spec for ds_runtime_open. */
const char *ds_parallel_first_device(const ds_parallel *p);
/* The largest share of a replica of this process. */
int ds_parallel_share(const ds_parallel *p);
int ds_parallel_is_root(const ds_parallel *p);
/* "2 devices x 2 ranks (...)": for the start-up note. */
const char *ds_parallel_describe(const ds_parallel *p);

/* Device batch of replica 0: its share, or the preview's columns (at most
 * the global batch) when more. */
int ds_parallel_device_batch(const ds_parallel *p, int preview);

/* Fails on every rank, naming the key, unless all ranks hold the same
 * config (its JSON, compared leaf by leaf) and options and faces (lines:
 * "key=value\n" pairs). */
ds_status ds_parallel_check_config(ds_parallel *p, const char *config_json, const char *lines,
                                   ds_error *err);

/* Registers the trainer's runtime and buffers as replica 0 and creates the
 * others on their devices, sets[ids] uploaded to each. */
ds_status ds_parallel_attach(ds_parallel *p, ds_runtime *rt0, ds_model *model0, cl_mem *faces0,
                             ds_augment_workspace *ws0, cl_mem warped0, cl_mem target0,
                             const ds_dataset *sets, int ids, int face_size, int out_size,
                             ds_error *err);

/* Rank 0's weights, Adam moments and step, iteration and RNG to every
 * replica of every rank. */
ds_status ds_parallel_sync(ds_parallel *p, long long *iteration, ds_rng *rng, ds_error *err);

/* One training step of identity id on the global batch described by
 * indices and params (global_batch of each): *loss is the global batch
 * loss, equal on every rank. */
ds_status ds_parallel_step(ds_parallel *p, int id, const int *indices,
                           const ds_augment_params *params, double *loss, ds_error *err);

/* The largest *v over ranks, so that all stop at the same iteration. */
ds_status ds_parallel_agree(ds_parallel *p, int *v, ds_error *err);

/* Checks that every replica of every rank holds rank 0's weights bit for
 * bit; if not (devices whose Adam rounds differently), copies rank 0's
 * state to all and sets *resynced. */
ds_status ds_parallel_verify(ds_parallel *p, int *resynced, ds_error *err);

#endif
