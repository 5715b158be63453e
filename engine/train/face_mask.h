/* Face-area loss weights (config train.face_area): per training face, a
 * weight map drawn from the 68 landmarks dsengine extract stored in the
 * folder's alignments.json -- `background` outside the landmark hull, 1
 * inside, `eyes` over each eye and `mouth` over the mouth (the larger where
 * they meet) -- kept as uint8 levels of the largest weight, moved through
 * the augmentation exactly as its face is (cl/image/face_mask.cl), and
 * multiplied into the loss (engine/model/model.h, ds_model_loss). */
#ifndef DS_ENGINE_TRAIN_FACE_MASK_H
#define DS_ENGINE_TRAIN_FACE_MASK_H

#include <CL/cl.h>
#include <stdint.h>

#include "engine/model/config.h"
#include "engine/train/augment.h"
#include "engine/train/dataset.h"
#include "host/runtime.h"

typedef struct ds_face_weights {
  float background, eyes, mouth; /* the face itself weighs 1 */
  /* 1: the face is the hull with the brows lifted (ds_mask_lift_brows), as
   * the learned mask's target (decoder.mask: background, eyes, mouth 0) */
  int lift_brows;
  const char *key; /* the config key in errors; NULL: "train.face_area" */
} ds_face_weights;

/* The learned mask's target (decoder.mask): 1 inside the landmark hull with
 * the brows lifted, so that it covers the eyebrows and the forehead's edge,
 * 0 outside. */
extern const ds_face_weights ds_face_mask_target;

/* The region of the eyes and the mouth: their landmark hulls grown about
 * their centroids by these factors, so the lids and lips are inside. */
#define DS_FACE_EYE_GROW 1.6f
#define DS_FACE_MOUTH_GROW 1.2f

/* The weight map of one face, size x size floats, from landmarks in that
 * face's pixels (pixel centres at integer coordinates). */
void ds_face_weights_draw(const float landmarks[68][2], int size, const ds_face_weights *w,
                          float *out);

/* The largest weight, which uint8 level 255 stands for. */
float ds_face_weights_max(const ds_face_weights *w);

/* Weight maps of every face of d, in d's order, as uint8 levels of
 * ds_face_weights_max (*levels: count * face_size^2, malloc'd). The
 * landmarks come from alignments.json in d->dir, matched by file name and
 * mapped by the face's matrix to its pixels. A missing file or a face it
 * does not list is DS_ERR_NOT_FOUND / DS_ERR_INVALID naming both, with the
 * way out (run dsengine extract on the folder, or drop train.face_area). */
ds_status ds_face_masks_load(const ds_dataset *d, const ds_face_weights *w, uint8_t **levels,
                             ds_error *err);

/* The target weights of a batch ds_augment_batch has just enqueued with the
 * same workspace (its parameter block on the device is reused): target is
 * float [n][out][out]. inter: float [n][face][face] of scratch. */
ds_status ds_face_masks_augment(ds_runtime *rt, cl_mem levels, float scale, int face_size, int n,
                                int out_size, const ds_augment_workspace *ws, cl_mem inter,
                                cl_mem target, ds_error *err);

/* What a trainer holds for train.face_area: every identity's levels on the
 * device, the scratch and the target weights of one batch. */
typedef struct ds_face_mask_set {
  int ids, face_size, out_size, batch;
  float scale; /* level -> weight */
  cl_mem levels[DS_MAX_IDENTITIES];
  cl_mem inter, target;
} ds_face_mask_set;

/* Loads and uploads the weights of ids datasets (ds_face_masks_load). On
 * failure set is left empty; a zeroed set is fine to destroy. */
ds_status ds_face_mask_set_create(ds_runtime *rt, const ds_dataset *sets, int ids,
                                  const ds_face_weights *w, int batch, int out_size,
                                  ds_face_mask_set *set, ds_error *err);
/* set->target = the weights under the targets ds_augment_batch just made
 * for identity id with ws. */
ds_status ds_face_mask_set_batch(ds_runtime *rt, ds_face_mask_set *set, int id, int n,
                                 const ds_augment_workspace *ws, ds_error *err);
void ds_face_mask_set_destroy(ds_face_mask_set *set);

#endif
