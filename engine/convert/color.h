/* The convert stage's colour matching (../shared/reference/original-model.md
 * §3.2-3.3): the generated face is adjusted so that its colour statistics
 * over the mask match the original frame's over the same pixels.
 *
 * Buffers are the face's ROI (engine/convert/mask.h): face and frame are
 * w * h RGB-interleaved floats in 0..255, mask w * h floats in [0, 1]. The
 * statistics count the pixels with mask > 0.5; every pixel of face is
 * adjusted (the blend decides what shows). With fewer than
 * DS_COLOR_MIN_PIXELS such pixels face is left as it is.
 *
 * none: nothing.
 * avg: each channel shifted by the difference of the means (faceswap's
 *   avg-color; no clipping here, as there: the output's conversion clips).
 * reinhard: in CIE L*a*b*, each channel's mean and standard deviation
 *   (population, ddof 0) made the frame's: l' = (l - mean_face) std_frame /
 *   std_face + mean_frame (Reinhard et al. 2001, "Color Transfer between
 *   Images"; faceswap's color-transfer without its options). A channel whose
 *   std_face is below 0.01 is only shifted. The result is clipped to 0..255.
 *   L*a*b* is sRGB with the D65 white, as OpenCV documents COLOR_RGB2Lab for
 *   float images: gamma-expanded RGB in 0..1, XYZ by OpenCV's matrix,
 *   L in 0..100. (cv2 4.6 interpolates its float conversion from a table:
 *   ds_rgb_to_lab differs from it by up to 0.21 L and 0.41 a/b units, and
 *   cv2's own round trip RGB -> Lab -> RGB moves values by up to 0.97 of 255
 *   against 0.004 here; checked by hand on 20000 random colours.)
 * hist: per channel, the 256-level histograms (level = v rounded to the
 *   nearest integer) over the mask, and each face level k mapped through the
 *   face's CDF onto the frame's by linear interpolation between the frame's
 *   occupied levels (np.interp(cdf_face[k], cdf_frame[occupied],
 *   occupied), as faceswap's match-hist maps values, there without binning
 *   and with a 99 % threshold). Levels the masked face does not occupy
 *   (pixels outside the mask) take map(k) - k interpolated linearly between
 *   the nearest occupied levels', or the nearest one's beyond them. A value
 *   v in level k becomes v + map(k) - k, clipped to 0..255: values keep
 *   their position within the level, so identical face and frame give face
 *   back unchanged.
 *
 * The statistics are reduced on the device: per work-group partial means
 * and squared deviations (Welford within a work-item, Chan et al.'s pairwise
 * merge across them) or per work-group histograms added with atomics; the
 * host merges the partials in double and derives the few parameters. The
 * adjustment is a device kernel. */
#ifndef DS_ENGINE_CONVERT_COLOR_H
#define DS_ENGINE_CONVERT_COLOR_H

#include <CL/cl.h>

#include "host/runtime.h"

typedef enum ds_color_kind {
  DS_COLOR_NONE,
  DS_COLOR_AVG,
  DS_COLOR_REINHARD,
  DS_COLOR_HIST
} ds_color_kind;

enum { DS_COLOR_MIN_PIXELS = 16 };

/* Device scratch for the reductions: a few KiB of fixed size, created on
 * first use. Zero-initialise it, keep it across faces and frames, release it
 * with ds_color_workspace_release. */
typedef struct ds_color_workspace {
  cl_mem partial; /* per work-group statistics */
  cl_mem hist;    /* 6 x 256 counts: face R G B, frame R G B */
  cl_mem lut;     /* 3 x 256 level offsets */
} ds_color_workspace;

void ds_color_workspace_release(ds_color_workspace *ws);

/* Adjusts face in place (see above). Blocks until the statistics are back
 * on the host; the adjustment is left enqueued. Errors: DS_ERR_INVALID for
 * sizes < 1 or an unknown kind; what the buffers and kernels report. */
ds_status ds_color_match_ws(ds_runtime *rt, ds_color_workspace *ws, ds_color_kind kind, cl_mem face,
                            cl_mem frame, cl_mem mask, int w, int h, ds_error *err);
/* The same with a workspace made and released for the one call. */
ds_status ds_color_match(ds_runtime *rt, ds_color_kind kind, cl_mem face, cl_mem frame, cl_mem mask,
                         int w, int h, ds_error *err);
/* The same on the host, in double; arguments are assumed valid. */
void ds_color_match_reference(ds_color_kind kind, float *face, const float *frame,
                              const float *mask, int w, int h);

/* sRGB (0..255, i.e. cv2's float input times 255) to L*a*b* and back, the
 * formulas the reference uses; lab_to_rgb does not clip. */
void ds_rgb_to_lab(const double rgb[3], double lab[3]);
void ds_lab_to_rgb(const double lab[3], double rgb[3]);

const char *ds_color_kind_name(ds_color_kind k);            /* "none", "avg", "reinhard", "hist" */
int ds_color_kind_parse(const char *s, ds_color_kind *out); /* 1 on success */

#endif
