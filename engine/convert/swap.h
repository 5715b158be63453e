/* The device half of convert: for a batch of frames and their faces, warp
 * each face to the model input (the mean-face square, as the original's
 * Convert_Masked), run the shared encoder and the target identity's decoder
 * on all faces at once, then per face, in a region of interest around it:
 * draw the generated face back, build the mask, match its colour to the
 * frame, blend (Poisson or alpha) and compose it into the frame. */
#ifndef DS_ENGINE_CONVERT_SWAP_H
#define DS_ENGINE_CONVERT_SWAP_H

#include "engine/convert/color.h"
#include "engine/convert/mask.h"
#include "engine/detect/alignments.h"
#include "engine/media/image.h"
#include "engine/model/model.h"

typedef struct ds_swap_options {
  ds_mask_kind mask;
  int erode, blur; /* pixels; erode < 0 dilates */
  ds_color_kind color;
  int poisson; /* 1: Poisson blend, 0: alpha */
} ds_swap_options;

/* Seconds spent per stage (each stage waits for the device when timing is on). */
typedef struct ds_swap_timing {
  double upload, infer, blend, download;
} ds_swap_timing;

typedef struct ds_swapper ds_swapper;

/* m must have device buffers on rt; its batch is the number of faces per
 * forward pass. identity is the decoder to draw with. */
ds_status ds_swapper_create(ds_runtime *rt, ds_model *m, int identity, const ds_swap_options *o,
                            ds_swapper **out, ds_error *err);
void ds_swapper_destroy(ds_swapper *s);
/* Waits for the device after each stage and adds the times to *t (NULL: off). */
void ds_swapper_set_timing(ds_swapper *s, ds_swap_timing *t);

/* Swaps every face of frames[0 .. n) in place (RGB, 3 channels); faces[f]
 * holds counts[f] records in frame pixels. *swapped counts the faces drawn
 * (a face entirely outside its frame is skipped). */
ds_status ds_swapper_run(ds_swapper *s, ds_image *frames, ds_face_record *const *faces,
                         const int *counts, int n, int *swapped, ds_error *err);

/* The ROI the face is blended in: the face square and the landmarks' hull,
 * widened by margin pixels, clipped to the frame; grown towards good sizes
 * for the Poisson solve when poisson is set. 0 when it is empty. */
int ds_swap_roi(const float landmarks[68][2], const float face_mat[6], int square, int margin,
                int fw, int fh, int poisson, int roi[4]);

#endif
