/* heldout_loss: the reconstruction loss of a trained model on faces it did
 * not train on, for bench/quality.sh. Each face is the aligned crop the
 * trainer's previews use (no augmentation), passed through the encoder and
 * its own identity's decoder; the result is compared with the crop by MAE
 * and by DSSIM (engine/nn/loss_set.h's references), averaged over faces.
 * A model with decoder.mask adds the learned mask's IoU with its training
 * target (the landmark hull with the brows lifted, engine/train/face_mask.h;
 * both thresholded at 0.5), averaged over faces, beside the IoU a mask of
 * all ones would get (the target fills most of the tight face square): DIR
 * then needs the alignments.json of its faces.
 *
 *   heldout_loss MODEL_DIR NAME=DIR [NAME=DIR ...]
 *
 * prints one line per identity: "NAME faces N mae X dssim Y [mask_iou Z ones_iou W]".
 * Exit status: 0 done, 1 a step failed, 2 bad arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model/checkpoint.h"
#include "engine/model/model.h"
#include "engine/nn/loss_set.h"
#include "engine/train/augment.h"
#include "engine/train/dataset.h"
#include "engine/train/face_mask.h"
#include "host/buffer.h"

enum { FACE = 256, BATCH = 8 };

static int fail(const ds_error *err) {
  fprintf(stderr, "heldout_loss: error: %s\n", err->msg);
  return 1;
}

/* intersection over union of the pixels >= 0.5 in a and in b */
static double iou(const float *a, const float *b, size_t n) {
  size_t both = 0, any = 0;
  for (size_t i = 0; i < n; i++) {
    const int x = a[i] >= 0.5f, y = b[i] >= 0.5f;
    both += (size_t)(x && y);
    any += (size_t)(x || y);
  }
  return any ? (double)both / (double)any : 1.0;
}

/* the mask targets of d's faces (engine/train/face_mask.h, as the trainer
 * holds them) and host room for a batch of targets and predictions */
typedef struct mask_check {
  ds_face_mask_set set;
  float *pred, *want;
  double iou, ones; /* sums over faces: the mask's IoU, and an all-ones mask's */
} mask_check;

static ds_status mask_check_create(ds_runtime *rt, const ds_dataset *d, int S, mask_check *mc,
                                   ds_error *err) {
  ds_status st = ds_face_mask_set_create(rt, d, 1, &ds_face_mask_target, BATCH, S, &mc->set, err);
  mc->pred = malloc((size_t)BATCH * S * S * sizeof *mc->pred);
  mc->want = malloc((size_t)BATCH * S * S * sizeof *mc->want);
  if (st == DS_OK && (!mc->pred || !mc->want))
    st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  return st;
}

static void mask_check_destroy(mask_check *mc) {
  ds_face_mask_set_destroy(&mc->set);
  free(mc->pred), free(mc->want);
}

/* adds the IoU of each of the n faces ds_augment_batch just made with ws */
static ds_status mask_check_batch(ds_runtime *rt, ds_model *m, mask_check *mc, int n,
                                  const ds_augment_workspace *ws, ds_error *err) {
  const int S = m->cfg.input_size;
  const size_t plane = (size_t)S * S;
  ds_status st = ds_face_mask_set_batch(rt, &mc->set, 0, n, ws, err);
  if (st == DS_OK) st = ds_buffer_read(rt, mc->set.target, 0, n * plane * 4, mc->want, err);
  if (st == DS_OK)
    st = ds_buffer_read(rt, ds_model_output_mask(m), 0, n * plane * 4, mc->pred, err);
  for (int i = 0; st == DS_OK && i < n; i++) {
    const float *want = mc->want + i * plane;
    mc->iou += iou(mc->pred + i * plane, want, plane);
    /* all ones: the union is every pixel, the intersection the target */
    size_t target = 0;
    for (size_t p = 0; p < plane; p++)
      target += want[p] >= 0.5f;
    mc->ones += (double)target / (double)plane;
  }
  return st;
}

static ds_status identity_loss(ds_model *m, ds_runtime *rt, int id, const char *dir,
                               ds_augment_workspace *ws, cl_mem in, ds_error *err) {
  const int S = m->cfg.input_size, C = m->cfg.input_channels;
  ds_dataset d;
  ds_status st = ds_dataset_load(m->cfg.decoders[id], dir, FACE, &d, err);
  if (st != DS_OK) return st;
  cl_mem faces = NULL;
  st = ds_dataset_upload(rt, &d, &faces, err);
  mask_check mc = {0};
  if (st == DS_OK && m->cfg.dec_mask) st = mask_check_create(rt, &d, S, &mc, err);
  const size_t per = (size_t)S * S * C;
  float *x = malloc(BATCH * per * sizeof *x), *y = malloc(BATCH * per * sizeof *y);
  float *grad = malloc(per * sizeof *grad);
  double mae = 0, dssim = 0;
  const double zero[25] = {0};
  ds_augment_params params[BATCH];
  int index[BATCH];
  const ds_loss_term l1 = {DS_LOSS_KIND_MAE, 1.0f}, ss = {DS_LOSS_KIND_SSIM, 1.0f};
  for (int at = 0; st == DS_OK && at < d.count; at += BATCH) {
    const int n = d.count - at < BATCH ? d.count - at : BATCH;
    for (int i = 0; i < n; i++) {
      index[i] = at + i;
      ds_augment_params_make(0, 1, 0, 0, 0, zero, zero, FACE, S, &params[i]);
    }
    /* the target output of an identity transform is the aligned crop */
    st = ds_augment_batch(rt, faces, FACE, index, params, n, S, m->act[0], in, ws, err);
    if (st == DS_OK) st = ds_model_forward(m, id, in, (unsigned)n, err);
    if (st == DS_OK && m->cfg.dec_mask) st = mask_check_batch(rt, m, &mc, n, ws, err);
    if (st == DS_OK) st = ds_buffer_read(rt, in, 0, n * per * sizeof *x, x, err);
    if (st == DS_OK) st = ds_buffer_read(rt, ds_model_output(m), 0, n * per * sizeof *y, y, err);
    for (int i = 0; st == DS_OK && i < n; i++) {
      mae += ds_loss_set_reference(&l1, 1, grad, y + i * per, x + i * per, 1, S, S, C);
      dssim += ds_loss_set_reference(&ss, 1, grad, y + i * per, x + i * per, 1, S, S, C);
    }
  }
  if (st == DS_OK) {
    printf("%s faces %d mae %.5f dssim %.5f", m->cfg.decoders[id], d.count, mae / d.count,
           dssim / d.count);
    if (m->cfg.dec_mask)
      printf(" mask_iou %.4f ones_iou %.4f", mc.iou / d.count, mc.ones / d.count);
    printf("\n");
  }
  mask_check_destroy(&mc);
  free(x), free(y), free(grad);
  ds_buffer_release(&faces);
  ds_dataset_free(&d);
  return st;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: heldout_loss MODEL_DIR NAME=DIR [NAME=DIR ...]\n");
    return 2;
  }
  ds_error err = {0};
  ds_checkpoint ck = {0};
  ds_model_config cfg;
  ds_model m;
  ds_runtime *rt = NULL;
  ds_augment_workspace ws = {0};
  cl_mem in = NULL;
  if (ds_checkpoint_load(argv[1], &ck, &err) != DS_OK ||
      ds_model_config_parse(ck.config_json, argv[1], &cfg, &err) != DS_OK)
    return fail(&err);
  ds_model_build(&m, &cfg);
  const size_t per = (size_t)cfg.input_size * cfg.input_size * cfg.input_channels;
  ds_status st = ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err);
  if (st == DS_OK) st = ds_model_device_create_inference(&m, rt, BATCH, &err);
  if (st == DS_OK) st = ds_buffer_write(rt, m.params, 0, m.param_floats * 4, ck.weights.data, &err);
  if (st == DS_OK) st = ds_augment_workspace_create(rt, BATCH, FACE, &ws, &err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, BATCH * per * 4, CL_MEM_READ_WRITE, "crops", &in, &err);
  for (int a = 2; st == DS_OK && a < argc; a++) {
    char name[64];
    const char *eq = strchr(argv[a], '=');
    if (!eq || eq == argv[a] || (size_t)(eq - argv[a]) >= sizeof name) {
      fprintf(stderr, "heldout_loss: error: %s is not NAME=DIR\n", argv[a]);
      return 2;
    }
    memcpy(name, argv[a], (size_t)(eq - argv[a]));
    name[eq - argv[a]] = 0;
    const int id = ds_model_identity_index(&cfg, name);
    if (id < 0) {
      fprintf(stderr, "heldout_loss: error: the model has no identity %s\n", name);
      return 2;
    }
    st = identity_loss(&m, rt, id, eq + 1, &ws, in, &err);
  }
  int rc = st == DS_OK ? 0 : fail(&err);
  ds_buffer_release(&in);
  ds_augment_workspace_destroy(&ws);
  ds_model_device_destroy(&m);
  ds_runtime_destroy(rt);
  ds_checkpoint_free(&ck);
  return rc;
}
