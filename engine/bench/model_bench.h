/* Training and inference throughput of a whole model on one device, and
 * where the time goes layer by layer.
 *
 * FLOPs, counted from the layer shapes (2 FLOPs per multiply-add):
 *   conv   forward 2 n oh ow oc k k c      dense forward 2 n in out
 *   backward of a layer: 2 x its forward (input gradient + weight gradient),
 *   1 x for the first layer, whose input gradient is never computed
 *   a training step: 3 x the forward FLOPs, the usual nominal count
 * Bias, activations, pixel shuffles, loss and Adam count no FLOPs: they are
 * memory-bound and show up as time only. */
#ifndef DS_ENGINE_BENCH_MODEL_BENCH_H
#define DS_ENGINE_BENCH_MODEL_BENCH_H

#include "engine/bench/bench_util.h"
#include "engine/model/model.h"
#include "host/profile.h"

typedef struct ds_bench_model_options {
  int iters;         /* timed training steps, layer passes and forward passes */
  int layers;        /* 1: time each layer's forward and backward on its own */
  int infer;         /* 1: time the swap's forward pass (encoder + decoder B) */
  double budget;     /* seconds the timed work may take, estimated from the warm-up; 0: no cap */
  double quiet_wait; /* seconds to wait for quiet CPUs before timing */
  int profile;       /* 1: one more step with each kernel's device time (the runtime must
                        have a profiling queue: DS_RUNTIME_PROFILING) */
} ds_bench_model_options;

enum { DS_BENCH_MAX_KERNELS = 32 };

typedef struct ds_bench_layer {
  double fwd_s, bwd_s;       /* best of the per-layer passes */
  double fwd_flop, bwd_flop; /* per call */
} ds_bench_layer;

typedef struct ds_bench_model {
  char model[64];
  unsigned batch;
  int iters, iters_asked; /* iters < iters_asked: cut by the budget */
  long long params;       /* encoder + decoder A */
  ds_bench_quiet quiet;
  double warmup_s; /* the first step, kernel builds (and tuning) included */
  double second_s; /* the second, untimed step: what --budget is judged by */
  ds_bench_stats step;
  double step_flop; /* 3 x forward */
  double loss;
  int layer_count; /* 0: no per-layer pass */
  ds_layer layers[DS_MAX_MODEL_LAYERS];
  ds_bench_layer lr[DS_MAX_MODEL_LAYERS];
  double loss_s, adam_s, layers_total_s;
  ds_bench_stats infer; /* forward of identity B's path over the batch; n = 0: not run */
  double infer_flop;
  double adam_bytes; /* Adam's traffic per step: 28 bytes a parameter (p, g, m, v read; p, m, v
                        written) */
  /* --profile: one step's device time by kernel, the largest first */
  ds_kernel_time kernels[DS_BENCH_MAX_KERNELS];
  int kernel_count, kernel_total; /* kept, and found */
  double profile_ms;              /* all kernels of the step */
} ds_bench_model;

/* Builds the model of config_path on rt at `batch` (Keras-default
 * initialisation, seed 1), random inputs and targets in [0, 1), two warm-up
 * steps, then the timed work of o. A loss that is not finite is
 * DS_ERR_INVALID. */
ds_status ds_bench_model_run(ds_runtime *rt, const char *config_path, unsigned batch,
                             const ds_bench_model_options *o, ds_bench_model *r, ds_error *err);

#endif
