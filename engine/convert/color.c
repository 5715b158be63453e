/* Host side of cl/convert/color.cl and the C reference its kernels follow. */
#include "engine/convert/color.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/buffer.h"
#include "host/program.h"

/* Layout of cl/convert/color.cl's reductions. */
enum {
  STATS_LOCAL = 64,
  STATS_VALUES = 13,     /* count, 6 means, 6 sums of squared deviations */
  STATS_MAX_GROUPS = 64, /* enough to fill a GPU for a face-sized ROI */
  STATS_PER_ITEM = 32,   /* pixels a work-item takes before another group is added */
  HIST_LOCAL = 64,
  HIST_GROUPS = 32,
  LEVELS = 256,
  HIST_BINS = 6 * LEVELS,
};

/* A channel whose spread is below this (L*a*b* units) is only shifted. */
static const double REINHARD_MIN_STD = 0.01;

const char *ds_color_kind_name(ds_color_kind k) {
  switch (k) {
  case DS_COLOR_NONE: return "none";
  case DS_COLOR_AVG: return "avg";
  case DS_COLOR_REINHARD: return "reinhard";
  case DS_COLOR_HIST: return "hist";
  }
  return "?";
}

int ds_color_kind_parse(const char *s, ds_color_kind *out) {
  static const ds_color_kind all[] = {DS_COLOR_NONE, DS_COLOR_AVG, DS_COLOR_REINHARD,
                                      DS_COLOR_HIST};
  for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
    if (strcmp(s, ds_color_kind_name(all[i])) == 0) {
      *out = all[i];
      return 1;
    }
  return 0;
}

/* ---- colour space: the formulas of OpenCV's cvtColor documentation ---- */

static double srgb_expand(double c) {
  return c > 0.04045 ? pow((c + 0.055) / 1.055, 2.4) : c / 12.92;
}
static double srgb_compress(double v) {
  return v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1.0 / 2.4) - 0.055;
}
static double lab_f(double t) { return t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0; }
static double lab_f_inv(double t) { return t > 0.206893 ? t * t * t : (t - 16.0 / 116.0) / 7.787; }

void ds_rgb_to_lab(const double rgb[3], double lab[3]) {
  const double r = srgb_expand(rgb[0] / 255), g = srgb_expand(rgb[1] / 255),
               b = srgb_expand(rgb[2] / 255);
  /* sRGB primaries, D65 white (Xn = 0.950456, Zn = 1.088754) */
  const double x = (0.412453 * r + 0.357580 * g + 0.180423 * b) / 0.950456;
  const double y = 0.212671 * r + 0.715160 * g + 0.072169 * b;
  const double z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / 1.088754;
  const double fy = lab_f(y);
  lab[0] = y > 0.008856 ? 116 * fy - 16 : 903.3 * y;
  lab[1] = 500 * (lab_f(x) - fy);
  lab[2] = 200 * (fy - lab_f(z));
}

void ds_lab_to_rgb(const double lab[3], double rgb[3]) {
  double y, fy;
  if (lab[0] <= 0.008856 * 903.3) {
    y = lab[0] / 903.3;
    fy = 7.787 * y + 16.0 / 116.0;
  } else {
    fy = (lab[0] + 16) / 116;
    y = fy * fy * fy;
  }
  const double x = lab_f_inv(lab[1] / 500 + fy) * 0.950456;
  const double z = lab_f_inv(fy - lab[2] / 200) * 1.088754;
  rgb[0] = 255 * srgb_compress(3.240479 * x - 1.53715 * y - 0.498535 * z);
  rgb[1] = 255 * srgb_compress(-0.969256 * x + 1.875991 * y + 0.041556 * z);
  rgb[2] = 255 * srgb_compress(0.055648 * x - 0.204043 * y + 1.057311 * z);
}

/* ---- the parameters every path derives the same way ---- */

typedef struct stats6 {
  double count, mean[6], m2[6]; /* face R G B (or L a b), then frame's */
} stats6;

/* Chan et al.'s merge of two partial sets of count, mean, squared deviations */
static void stats_merge(stats6 *a, const double *count, const double *mean, const double *m2) {
  const double n = a->count + *count;
  if (*count <= 0) return;
  const double f = *count / n;
  for (int c = 0; c < 6; c++) {
    const double d = mean[c] - a->mean[c];
    a->mean[c] += d * f;
    a->m2[c] += m2[c] + d * d * a->count * f;
  }
  a->count = n;
}

/* Reinhard: per channel l' = (l - mean_face) scale + mean_frame */
static void transfer_params(const stats6 *s, double scale[3]) {
  for (int c = 0; c < 3; c++) {
    const double sf = sqrt(s->m2[c] / s->count), st = sqrt(s->m2[3 + c] / s->count);
    scale[c] = sf < REINHARD_MIN_STD ? 1.0 : st / sf;
  }
}

/* The offset map(k) - k of each face level k (color.h, hist): at a level
 * the masked face occupies, its CDF there looked up in the frame's CDF over
 * the frame's occupied levels. Levels between occupied ones (met outside
 * the mask) take the offset interpolated linearly between their
 * neighbours', levels beyond them the nearest one's: the map stays
 * monotonic and is the identity when face and frame are the same. Both
 * histograms count the same pixels, at least one. */
static void hist_offsets(const uint32_t *hs, const uint32_t *ht, float *offset) {
  double n = 0, tq[LEVELS], off[LEVELS];
  int tv[LEVELS], m = 0;
  for (int j = 0; j < LEVELS; j++)
    n += hs[j];
  double cum = 0;
  for (int j = 0; j < LEVELS; j++)
    if (ht[j]) {
      cum += ht[j];
      tq[m] = cum / n;
      tv[m++] = j;
    }
  cum = 0;
  int prev = -1; /* the last occupied face level */
  for (int k = 0, j = 0; k < LEVELS; k++) {
    if (!hs[k]) continue;
    cum += hs[k];
    const double q = cum / n;
    double map;
    if (q <= tq[0]) {
      map = tv[0];
    } else if (q >= tq[m - 1]) {
      map = tv[m - 1];
    } else {
      while (tq[j] < q) /* q rises with k: the first j with tq[j] >= q */
        j++;
      map = tq[j] == q ? tv[j]
                       : tv[j - 1] + (q - tq[j - 1]) * (tv[j] - tv[j - 1]) / (tq[j] - tq[j - 1]);
    }
    off[k] = map - k;
    for (int i = prev + 1; i < k; i++) /* the gap before k */
      off[i] = prev < 0 ? off[k] : off[prev] + (off[k] - off[prev]) * (i - prev) / (k - prev);
    prev = k;
  }
  for (int i = prev + 1; i < LEVELS; i++)
    off[i] = off[prev];
  for (int k = 0; k < LEVELS; k++)
    offset[k] = (float)off[k];
}

static int level(float v) {
  const int k = (int)floorf(v + 0.5f);
  return k < 0 ? 0 : k > 255 ? 255 : k;
}

static float clip255(float v) { return v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v; }

/* ---- reference ---- */

void ds_color_match_reference(ds_color_kind kind, float *face, const float *frame,
                              const float *mask, int w, int h) {
  const size_t n = (size_t)w * h;
  if (kind == DS_COLOR_HIST) {
    uint32_t hist[HIST_BINS] = {0};
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
      if (mask[i] > 0.5f) {
        count++;
        for (int c = 0; c < 3; c++) {
          hist[c * LEVELS + level(face[3 * i + c])]++;
          hist[(3 + c) * LEVELS + level(frame[3 * i + c])]++;
        }
      }
    if (count < DS_COLOR_MIN_PIXELS) return;
    float offset[3][LEVELS];
    for (int c = 0; c < 3; c++)
      hist_offsets(hist + c * LEVELS, hist + (3 + c) * LEVELS, offset[c]);
    for (size_t i = 0; i < 3 * n; i++)
      face[i] = clip255(face[i] + offset[i % 3][level(face[i])]);
    return;
  }
  if (kind != DS_COLOR_AVG && kind != DS_COLOR_REINHARD) return;
  const int lab = kind == DS_COLOR_REINHARD;
  /* two passes in double: means, then squared deviations */
  stats6 s = {0};
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < n; i++) {
      if (!(mask[i] > 0.5f)) continue;
      double v[6];
      for (int c = 0; c < 3; c++)
        v[c] = face[3 * i + c], v[3 + c] = frame[3 * i + c];
      if (lab) ds_rgb_to_lab(v, v), ds_rgb_to_lab(v + 3, v + 3);
      s.count += pass == 0;
      for (int c = 0; c < 6; c++)
        if (pass == 0)
          s.mean[c] += v[c];
        else
          s.m2[c] += (v[c] - s.mean[c]) * (v[c] - s.mean[c]);
    }
    for (int c = 0; c < 6 && pass == 0 && s.count > 0; c++)
      s.mean[c] /= s.count;
  }
  if (s.count < DS_COLOR_MIN_PIXELS) return;
  if (!lab) {
    for (size_t i = 0; i < n; i++)
      for (int c = 0; c < 3; c++)
        face[3 * i + c] += (float)(s.mean[3 + c] - s.mean[c]);
    return;
  }
  double scale[3];
  transfer_params(&s, scale);
  for (size_t i = 0; i < n; i++) {
    double v[3], out[3];
    for (int c = 0; c < 3; c++)
      v[c] = face[3 * i + c];
    ds_rgb_to_lab(v, v);
    for (int c = 0; c < 3; c++)
      v[c] = (v[c] - s.mean[c]) * scale[c] + s.mean[3 + c];
    ds_lab_to_rgb(v, out);
    for (int c = 0; c < 3; c++)
      face[3 * i + c] = clip255((float)out[c]);
  }
}

/* ---- device ---- */

void ds_color_workspace_release(ds_color_workspace *ws) {
  ds_buffer_release(&ws->partial);
  ds_buffer_release(&ws->hist);
  ds_buffer_release(&ws->lut);
}

static ds_status reserve(ds_runtime *rt, ds_color_workspace *ws, ds_error *err) {
  ds_status st = DS_OK;
  if (!ws->partial)
    st = ds_buffer_create(rt, STATS_MAX_GROUPS * STATS_VALUES * sizeof(float), CL_MEM_READ_WRITE,
                          "colour statistics", &ws->partial, err);
  if (st == DS_OK && !ws->hist)
    st = ds_buffer_create(rt, HIST_BINS * sizeof(cl_uint), CL_MEM_READ_WRITE, "colour histograms",
                          &ws->hist, err);
  if (st == DS_OK && !ws->lut)
    st = ds_buffer_create(rt, 3 * LEVELS * sizeof(float), CL_MEM_READ_ONLY, "histogram map",
                          &ws->lut, err);
  return st;
}

static ds_status set_args(cl_kernel k, const cl_mem *mems, int nmem, const cl_int *ints, int nint,
                          const cl_float *floats, int nfloat, ds_error *err) {
  ds_status st = DS_OK;
  cl_uint a = 0;
  for (int i = 0; i < nmem && st == DS_OK; i++)
    st = ds_kernel_arg(k, a++, sizeof(cl_mem), &mems[i], err);
  for (int i = 0; i < nint && st == DS_OK; i++)
    st = ds_kernel_arg(k, a++, sizeof(cl_int), &ints[i], err);
  for (int i = 0; i < nfloat && st == DS_OK; i++)
    st = ds_kernel_arg(k, a++, sizeof(cl_float), &floats[i], err);
  return st;
}

static ds_status launch_1d(ds_runtime *rt, cl_kernel k, size_t global, size_t local,
                           ds_error *err) {
  return ds_kernel_launch(rt, k, 1, &global, &local, err);
}

static ds_status device_stats(ds_runtime *rt, ds_color_workspace *ws, cl_mem face, cl_mem frame,
                              cl_mem mask, int n, int lab, stats6 *s, ds_error *err) {
  const size_t per_group = (size_t)STATS_LOCAL * STATS_PER_ITEM;
  size_t groups = ((size_t)n + per_group - 1) / per_group;
  groups = groups < 1 ? 1 : groups > STATS_MAX_GROUPS ? STATS_MAX_GROUPS : groups;
  cl_kernel k;
  const cl_mem mems[4] = {ws->partial, face, frame, mask};
  const cl_int ints[2] = {n, lab};
  float part[STATS_MAX_GROUPS * STATS_VALUES];
  ds_status st = ds_kernel_get(rt, "convert/color", NULL, "color_stats", &k, err);
  if (st == DS_OK) st = set_args(k, mems, 4, ints, 2, NULL, 0, err);
  if (st == DS_OK) st = launch_1d(rt, k, groups * STATS_LOCAL, STATS_LOCAL, err);
  if (st == DS_OK)
    st = ds_buffer_read(rt, ws->partial, 0, groups * STATS_VALUES * sizeof(float), part, err);
  if (st != DS_OK) return st;
  memset(s, 0, sizeof *s);
  for (size_t g = 0; g < groups; g++) {
    const float *p = part + g * STATS_VALUES;
    double count = p[0], mean[6], m2[6];
    for (int c = 0; c < 6; c++)
      mean[c] = p[1 + c], m2[c] = p[7 + c];
    stats_merge(s, &count, mean, m2);
  }
  return DS_OK;
}

static ds_status match_hist(ds_runtime *rt, ds_color_workspace *ws, cl_mem face, cl_mem frame,
                            cl_mem mask, int n, ds_error *err) {
  cl_kernel k;
  const cl_int bins = HIST_BINS;
  size_t local = rt->profile->elementwise_local_size;
  ds_status st = ds_kernel_get(rt, "convert/color", NULL, "zero_u32", &k, err);
  if (st == DS_OK) st = set_args(k, &ws->hist, 1, &bins, 1, NULL, 0, err);
  if (st == DS_OK) st = launch_1d(rt, k, HIST_BINS, local, err);
  const cl_mem mems[4] = {ws->hist, face, frame, mask};
  size_t groups = ((size_t)n + HIST_LOCAL * 8 - 1) / (HIST_LOCAL * 8);
  groups = groups > HIST_GROUPS ? HIST_GROUPS : groups;
  if (st == DS_OK) st = ds_kernel_get(rt, "convert/color", NULL, "color_hist_count", &k, err);
  if (st == DS_OK) st = set_args(k, mems, 4, &n, 1, NULL, 0, err);
  if (st == DS_OK) st = launch_1d(rt, k, groups * HIST_LOCAL, HIST_LOCAL, err);
  uint32_t hist[HIST_BINS];
  if (st == DS_OK) st = ds_buffer_read(rt, ws->hist, 0, sizeof hist, hist, err);
  if (st != DS_OK) return st;
  uint32_t count = 0;
  for (int j = 0; j < LEVELS; j++)
    count += hist[j];
  if (count < DS_COLOR_MIN_PIXELS) return DS_OK;
  float offset[3 * LEVELS];
  for (int c = 0; c < 3; c++)
    hist_offsets(hist + c * LEVELS, hist + (3 + c) * LEVELS, offset + c * LEVELS);
  const cl_mem apply[2] = {face, ws->lut};
  st = ds_buffer_write(rt, ws->lut, 0, sizeof offset, offset, err);
  if (st == DS_OK) st = ds_kernel_get(rt, "convert/color", NULL, "color_hist_apply", &k, err);
  if (st == DS_OK) st = set_args(k, apply, 2, &n, 1, NULL, 0, err);
  if (st == DS_OK) st = launch_1d(rt, k, (size_t)n, local, err);
  return st;
}

ds_status ds_color_match_ws(ds_runtime *rt, ds_color_workspace *ws, ds_color_kind kind, cl_mem face,
                            cl_mem frame, cl_mem mask, int w, int h, ds_error *err) {
  if (kind != DS_COLOR_NONE && kind != DS_COLOR_AVG && kind != DS_COLOR_REINHARD &&
      kind != DS_COLOR_HIST)
    return ds_error_set(err, DS_ERR_INVALID, "unknown colour matching %d", (int)kind);
  if (w < 1 || h < 1 || (double)w * h > (double)INT32_MAX / 3)
    return ds_error_set(err, DS_ERR_INVALID,
                        "colour matching of a %d x %d face region: sizes must be 1 or more and "
                        "the region under 2^31 / 3 pixels",
                        w, h);
  if (kind == DS_COLOR_NONE) return DS_OK;
  ds_status st = reserve(rt, ws, err);
  if (st != DS_OK) return st;
  const int n = w * h;
  if (kind == DS_COLOR_HIST) return match_hist(rt, ws, face, frame, mask, n, err);

  stats6 s;
  st = device_stats(rt, ws, face, frame, mask, n, kind == DS_COLOR_REINHARD, &s, err);
  if (st != DS_OK || s.count < DS_COLOR_MIN_PIXELS) return st;
  cl_kernel k;
  size_t local = rt->profile->elementwise_local_size;
  if (kind == DS_COLOR_AVG) {
    const cl_float shift[3] = {(float)(s.mean[3] - s.mean[0]), (float)(s.mean[4] - s.mean[1]),
                               (float)(s.mean[5] - s.mean[2])};
    st = ds_kernel_get(rt, "convert/color", NULL, "color_shift", &k, err);
    if (st == DS_OK) st = set_args(k, &face, 1, &n, 1, shift, 3, err);
  } else {
    double scale[3];
    transfer_params(&s, scale);
    const cl_float p[9] = {(float)s.mean[0], (float)s.mean[1], (float)s.mean[2],
                           (float)scale[0],  (float)scale[1],  (float)scale[2],
                           (float)s.mean[3], (float)s.mean[4], (float)s.mean[5]};
    st = ds_kernel_get(rt, "convert/color", NULL, "color_lab_transfer", &k, err);
    if (st == DS_OK) st = set_args(k, &face, 1, &n, 1, p, 9, err);
  }
  if (st == DS_OK) st = launch_1d(rt, k, (size_t)n, local, err);
  return st;
}

ds_status ds_color_match(ds_runtime *rt, ds_color_kind kind, cl_mem face, cl_mem frame, cl_mem mask,
                         int w, int h, ds_error *err) {
  ds_color_workspace ws = {0};
  ds_status st = ds_color_match_ws(rt, &ws, kind, face, frame, mask, w, h, err);
  /* OpenCL frees the buffers once the enqueued adjustment is done with them */
  ds_color_workspace_release(&ws);
  return st;
}
