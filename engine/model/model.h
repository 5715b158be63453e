/* The autoencoder of a config (engine/model/MODEL.md): layer list, parameter
 * layout and initialisation on the host; buffers, forward, backward and the
 * Adam step on the device.
 *
 * A "path" is the encoder followed by one identity's decoder. Every decoder
 * has the same shapes, so one set of activation buffers serves every path:
 * act[0] is the input, act[p + 1] the output of path layer p. */
#ifndef DS_ENGINE_MODEL_MODEL_H
#define DS_ENGINE_MODEL_MODEL_H

#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/model/config.h"
#include "engine/model/tensor_file.h"
#include "engine/nn/act.h"
#include "engine/nn/adam.h"
#include "engine/nn/conv2d.h"
#include "engine/nn/dense.h"
#include "engine/nn/loss.h"
#include "engine/nn/loss_set.h"
#include "host/memory.h"
#include "host/runtime.h"

typedef enum ds_layer_kind { DS_LAYER_CONV, DS_LAYER_DENSE, DS_LAYER_SHUFFLE } ds_layer_kind;

typedef struct ds_layer {
  char name[64]; /* "encoder.conv0", "decoder.A.out"; shuffles: "<conv>.shuffle" */
  ds_layer_kind kind;
  unsigned h, w, c;    /* input, per sample */
  unsigned oh, ow, oc; /* output, per sample */
  unsigned k, stride;
  ds_act act;
  size_t w_off, w_count, b_off, b_count; /* floats in the parameter buffer */
} ds_layer;

enum { DS_MAX_MODEL_LAYERS = 64 };

typedef struct ds_model {
  ds_model_config cfg;
  ds_layer layers[DS_MAX_MODEL_LAYERS];
  int layer_count;
  int enc_layers;                   /* layers [0, enc_layers) are the encoder */
  int dec_first[DS_MAX_IDENTITIES]; /* decoder i: layers [dec_first[i], +dec_layers) */
  int dec_layers;
  size_t param_floats;  /* whole buffer, alignment gaps included */
  size_t enc_param_end; /* encoder parameters: [0, enc_param_end) */
  size_t dec_param_begin[DS_MAX_IDENTITIES], dec_param_end[DS_MAX_IDENTITIES];

  /* device state, after ds_model_device_create */
  ds_runtime *rt;
  unsigned batch;
  cl_mem params, grads, adam_m, adam_v;
  cl_mem act[DS_MAX_MODEL_LAYERS + 1];
  cl_mem input;   /* the last forward pass's input (act[0] or the caller's) */
  cl_mem dbuf[2]; /* ping-pong gradients of activations */
  ds_scratch scratch;
  cl_mem loss_partials; /* per loss term, DS_LOSS_PARTIALS sums */
  cl_mem loss_maps;     /* the structural terms' maps; NULL for mae and mse */
  cl_mem loss_out;      /* the last loss of each identity, then of each mask: 2 x
                           DS_MAX_IDENTITIES floats */
  cl_mem loss_weights;  /* not owned: per-pixel loss weights of the next step, or NULL */
  cl_mem weighted[2];   /* with train.face_area: the weighted output and target */
  /* decoder.mask: the last forward pass's image and mask, split from its
   * C + 1 channels; training adds their gradients and the mask term's sums */
  cl_mem out_image, out_mask;
  cl_mem d_image, d_mask, mask_partials;
  cl_mem mask_target;  /* not owned: the mask targets of the next step */
  long long adam_step; /* Adam steps taken, over all identities */
} ds_model;

/* Lays out the layers and parameters of cfg. Host only; cannot fail for a
 * validated config. */
void ds_model_build(ds_model *m, const ds_model_config *cfg);

/* The op descriptors of a convolution or dense layer at batch n. */
void ds_layer_conv2d(const ds_layer *l, unsigned n, ds_conv2d *c);
void ds_layer_dense(const ds_layer *l, unsigned n, ds_dense *d);

/* Path layer p (0 <= p < enc_layers + dec_layers) of identity id. */
const ds_layer *ds_model_path_layer(const ds_model *m, int id, int p);
int ds_model_path_length(const ds_model *m);

/* Appends the parameter tensors to set (zeroed for a new set) in MODEL.md
 * order and names, laid out as the parameter buffer: appended to a set of
 * data_count floats D, tensor data starts at D + its offset in the buffer,
 * so a download of the buffer to set.data + D fills it. prefix is prepended
 * to each name ("", "m.", "v."). */
ds_status ds_model_tensor_set(const ds_model *m, const char *prefix, ds_tensor_set *set,
                              ds_error *err);

/* Keras-default initialisation from a seed (MODEL.md): Glorot-uniform
 * weights through the counter-based ds_uniform, zero biases. params holds
 * param_floats floats. */
void ds_model_init_params(const ds_model *m, uint64_t seed, float *params);
float ds_uniform(uint64_t seed, uint64_t tensor, uint64_t index);

/* Device buffers for batches of up to `batch` samples. Zeroes parameters,
 * gradients and moments. Too little device memory is DS_ERR_NO_MEMORY with
 * the bytes needed and a hint. */
ds_status ds_model_device_create(ds_model *m, ds_runtime *rt, unsigned batch, ds_error *err);
void ds_model_device_destroy(ds_model *m);
/* Parameters, activations and scratch only: enough for ds_model_forward
 * (convert); the training calls then fail with DS_ERR_INVALID. A quarter of
 * the device memory a training set-up takes for the big models. */
ds_status ds_model_device_create_inference(ds_model *m, ds_runtime *rt, unsigned batch,
                                           ds_error *err);
/* Approximate device bytes ds_model_device_create needs. */
uint64_t ds_model_device_bytes(const ds_model *m, const ds_runtime *rt, unsigned batch);
/* What device_create (training, else inference) allocates at this batch, and
 * the host copies of the parameters a run holds beside it (host/memory.h). */
void ds_model_memory_need(const ds_model *m, const ds_runtime *rt, unsigned batch, int training,
                          ds_memory_need *need);
/* ds_memory_check of need on rt's device and this host, with the hint every
 * model run gives: a smaller --batch or config. */
ds_status ds_model_memory_check(const ds_memory_need *need, const ds_runtime *rt, unsigned batch,
                                ds_error *err);

/* Forward pass of identity id over n <= batch samples from `input` (NHWC
 * float [n, S, S, C]; NULL means m->act[0]); the image is in
 * ds_model_output(m), the mask (decoder.mask) in ds_model_output_mask(m).
 * The backward pass reads the same input again. */
ds_status ds_model_forward(ds_model *m, int id, cl_mem input, unsigned n, ds_error *err);
/* The last forward pass's image, float [n][S][S][C]: m->act[path length],
 * or with decoder.mask its first C channels. */
cl_mem ds_model_output(const ds_model *m);
/* Its mask, float [n][S][S] in (0, 1), or NULL without decoder.mask. */
cl_mem ds_model_output_mask(const ds_model *m);

/* One training step of identity id: forward, loss against target, backward,
 * then Adam over the encoder and decoder id. *loss receives the batch loss. */
ds_status ds_model_train_step(ds_model *m, int id, cl_mem input, cl_mem target, unsigned n,
                              double *loss, ds_error *err);

/* Per-pixel loss weights (float [n][S][S], engine/train/face_mask.h) for
 * the following steps, or NULL for none; the model must have been set up
 * with train.face_area on. The caller keeps the buffer alive. */
ds_status ds_model_set_loss_weights(ds_model *m, cl_mem weights, ds_error *err);

/* The mask targets (float [n][S][S] in [0, 1], engine/train/face_mask.h)
 * of the following steps of a decoder.mask model: the loss adds
 * train.mask_weight times the mean squared error of the mask channel. The
 * caller keeps the buffer alive; a step without one is DS_ERR_INVALID. */
ds_status ds_model_set_mask_target(ds_model *m, cl_mem target, ds_error *err);

/* The losses the last steps of identities 0 .. count-1 left on the device,
 * in one read: a training iteration passes loss NULL to each step, then
 * calls this once. */
ds_status ds_model_read_losses(ds_model *m, int count, double *loss, ds_error *err);
/* The same for the masks: the mean squared error of each identity's mask
 * against its target (unweighted). */
ds_status ds_model_read_mask_losses(ds_model *m, int count, double *loss, ds_error *err);

/* The pieces of a training step, for tests: loss and dL/dy into dbuf[0]
 * (the loss left on the device, and read when loss is not NULL; with
 * decoder.mask the image's loss, the mask's term added to dL/dy), then the
 * backward pass writing gradients of the encoder and decoder id. */
ds_status ds_model_loss(ds_model *m, int id, cl_mem target, unsigned n, double *loss,
                        ds_error *err);
ds_status ds_model_backward(ds_model *m, int id, unsigned n, ds_error *err);
/* The backward pass calling done after the kernels of each layer with
 * parameters are enqueued (last layer first), so data parallel training
 * can read finished gradients back while earlier layers still run. */
typedef ds_status (*ds_layer_done)(void *user, const ds_layer *l, ds_error *err);
ds_status ds_model_backward_each(ds_model *m, int id, unsigned n, ds_layer_done done, void *user,
                                 ds_error *err);
ds_status ds_model_adam(ds_model *m, int id, ds_error *err);

#endif
