/* The training face set of one identity: a folder of aligned faces (what
 * dsengine extract writes, 256x256 PNG), read once, resized to the model's
 * face size and kept on the host as uint8 RGB; ds_dataset_upload copies it to
 * the device, where ds_augment_batch (engine/train/augment.h) samples it. */
#ifndef DS_ENGINE_TRAIN_DATASET_H
#define DS_ENGINE_TRAIN_DATASET_H

#include <CL/cl.h>
#include <stdint.h>

#include "core/error.h"
#include "host/runtime.h"

/* The shorter side a face must have: below it a 64x64 model would already
 * be trained on upscaled blur. */
enum { DS_DATASET_MIN_SIDE = 64 };

typedef struct ds_dataset {
  char name[32]; /* identity ("A", "B"), truncated to 31 bytes */
  int count;
  int face_size;
  uint8_t *pixels; /* host, RGB, [count][face_size][face_size][3] */
  char **paths;    /* count full paths, in the order of pixels */
  char *dir;       /* the folder as given, for messages */
} ds_dataset;

/* Loads every face in dir for identity (a name for messages). dir is listed
 * with ds_image_dir_list (natural order: face_2.png before face_10.png);
 * each PNG is read as RGB, centre-cropped to a square when it is not one,
 * and resized to face_size x face_size with ds_resize_rgb8 (a face already
 * of that size is copied unchanged).
 *
 * Errors, each naming the folder or file: DS_ERR_NOT_FOUND (no such
 * folder); DS_ERR_INVALID (no PNG in the folder, a JPEG in it, a face under
 * DS_DATASET_MIN_SIDE px on its shorter side or further from square than
 * 4:3, face_size out of range); whatever ds_png_read_rgb returns for a file
 * it cannot read (DS_ERR_CORRUPT, DS_ERR_INVALID, DS_ERR_IO);
 * DS_ERR_NO_MEMORY. out is zeroed on failure and holds nothing to free. */
ds_status ds_dataset_load(const char *identity, const char *dir, int face_size, ds_dataset *out,
                          ds_error *err);

/* DS_ERR_INVALID, saying how to fix it, when d has fewer faces than one
 * batch of the given size, or batch < 1. */
ds_status ds_dataset_check_batch(const ds_dataset *d, int batch, ds_error *err);

/* Creates one read-only device buffer holding d->pixels (same layout, uint8)
 * through ds_buffer_create, so running out of memory names the size; the
 * caller releases *out with ds_buffer_release. *out is NULL on failure. */
ds_status ds_dataset_upload(ds_runtime *rt, const ds_dataset *d, cl_mem *out, ds_error *err);

/* 64-bit FNV-1a over the face count and the file names (not the folder, so
 * a moved folder keeps its fingerprint; not the pixels, so it costs nothing).
 * A checkpoint records it so a resumed run can say the data changed; it is
 * information, not a guarantee: a file rewritten in place keeps its name. */
uint64_t ds_dataset_fingerprint(const ds_dataset *d);

/* Frees everything d owns and zeroes it; a zeroed d is fine. */
void ds_dataset_free(ds_dataset *d);

/* Resizes an 8-bit RGB image (rows packed, stride = 3 * width) from sw x sh
 * to dw x dh; all sizes positive. Separable, chosen per axis:
 *  - shrinking (d < s): area averaging. Output pixel i covers the source
 *    interval [i·s/d, (i+1)·s/d) and is the mean of the source pixels over
 *    it, each weighted by its overlap, as cv2.resize INTER_AREA does (also
 *    for non-integer ratios), so no source pixel is skipped and there is no
 *    aliasing;
 *  - enlarging or keeping (d >= s): bilinear with half-pixel centres, output
 *    i sampling source x = (i + 0.5)·s/d - 0.5, clamped to [0, s - 1] (edge
 *    pixels repeat), as cv2.resize INTER_LINEAR; d == s copies exactly.
 * The weights are computed and applied in double precision and normalised to
 * sum to one, so a constant image stays constant; results round to nearest
 * (halves up). cv2 uses 11-bit fixed-point weights for INTER_LINEAR on 8-bit
 * images, so it may differ by one level. Allocates nothing. */
void ds_resize_rgb8(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh);

#endif
