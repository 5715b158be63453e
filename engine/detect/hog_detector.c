/* dlib 19.24's frontal face detector in C: the file format of
 * object_detector<scan_fhog_pyramid<pyramid_down<6>>> (object_detector.h,
 * scan_fhog_pyramid.h, box_overlap_testing.h), the image pyramid
 * (image_pyramid.h, interpolation.h) and the scan.
 *
 * File (dlib::serialize): int version (2); the scanner: int version (1), the
 * feature extractor (nothing), its cached feature pyramid (a dlib::array:
 * max_size, size, always empty when saved), cell_size, padding, window
 * width and height, max pyramid levels, min level width and height (all
 * integers), the nuclear-norm strength (double), the number of dimensions
 * (long: window cells x 31); the overlap tester: IoU and covered thresholds
 * (doubles); the number of filters; each filter as a matrix<double,0,1> of
 * dims + 1 values, the last being its threshold. Version 1 has one filter and
 * puts the overlap tester after it. Integers are a control byte (low 4 bits:
 * byte count, 0x80: negative) and little-endian bytes; a double is an int64
 * mantissa and an int16 exponent; a matrix is nr, nc (negated) then its
 * values row by row. */
#include "engine/detect/hog_detector.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/detect/fhog.h"
#include "engine/detect/hog_detector_internal.h"

/* ---- reading dlib's serialization, every count checked against bytes left */

typedef struct reader {
  const uint8_t *base, *p;
  size_t left;
  const char *path;
  ds_error *err;
} reader;

static int corrupt(reader *r, const char *what) {
  ds_error_set(r->err, DS_ERR_CORRUPT,
               "%s: not a valid dlib HOG detector (%s at byte %zu); re-export it with "
               "tests/dlib/export_detector or pass a valid detector file",
               r->path, what, (size_t)(r->p - r->base));
  return -1;
}

static int read_int(reader *r, int64_t *v, const char *what) {
  if (r->left < 1) return corrupt(r, what);
  unsigned control = r->p[0];
  r->p++;
  r->left--;
  unsigned size = control & 0x0F;
  if (size == 0 || size > 8 || size > r->left || (control & 0x70)) return corrupt(r, what);
  uint64_t x = 0;
  for (unsigned i = size; i-- > 0;)
    x = (x << 8) | r->p[i];
  r->p += size;
  r->left -= size;
  if (x > (uint64_t)INT64_MAX) return corrupt(r, what);
  *v = (control & 0x80) ? -(int64_t)x : (int64_t)x;
  return 0;
}

/* A non-negative integer no larger than max. */
static int read_count(reader *r, int64_t max, int64_t *v, const char *what) {
  if (read_int(r, v, what)) return -1;
  if (*v < 0 || *v > max) return corrupt(r, what);
  return 0;
}

static int read_double(reader *r, double *d, const char *what) {
  int64_t mantissa, exponent;
  if (read_int(r, &mantissa, what) || read_int(r, &exponent, what)) return -1;
  if (exponent >= 32000 || exponent < -32768) return corrupt(r, "a non-finite number");
  double v = ldexp((double)mantissa, (int)exponent);
  if (!isfinite(v)) return corrupt(r, what);
  *d = v;
  return 0;
}

static int read_overlap(reader *r, ds_hog_detector *d) {
  if (read_double(r, &d->iou_thresh, "overlap IoU threshold") ||
      read_double(r, &d->covered_thresh, "overlap covered threshold"))
    return -1;
  if (!(d->iou_thresh >= 0 && d->iou_thresh <= 1 && d->covered_thresh >= 0 &&
        d->covered_thresh <= 1))
    return corrupt(r, "overlap thresholds outside [0, 1]");
  return 0;
}

/* dlib's compute_fhog_window_size: the window's cells (image_to_fhog of a
 * window centred on 0, C division truncating like dlib's point division)
 * grown by the padding on each side. */
static void window_cells(int width, int height, int cell, int padding, int *rows, int *cols) {
  long left = 0 - width / 2, top = 0 - height / 2;
  long right = left + width - 1, bottom = top + height - 1;
  *cols = (int)(((right - 1) / cell) - ((left - 1) / cell) + 1 + 2 * padding);
  *rows = (int)(((bottom - 1) / cell) - ((top - 1) / cell) + 1 + 2 * padding);
}

static int read_scanner(reader *r, ds_hog_detector *d) {
  int64_t version, max_size, size, v[7], dims;
  double nuclear;
  if (read_int(r, &version, "scanner version")) return -1;
  if (version != 1) return corrupt(r, "scanner version (1 expected)");
  if (read_count(r, INT64_MAX, &max_size, "feature pyramid size") ||
      read_count(r, INT64_MAX, &size, "feature pyramid size"))
    return -1;
  if (size != 0) return corrupt(r, "a saved feature pyramid (none expected)");
  static const char *const what[7] = {"cell size",       "padding",        "window width",
                                      "window height",   "pyramid levels", "min level width",
                                      "min level height"};
  for (int i = 0; i < 7; i++)
    if (read_count(r, i == 4 ? INT64_MAX : 4096, &v[i], what[i])) return -1;
  if (v[0] < 2 || v[2] < 1 || v[3] < 1 || v[4] < 1) return corrupt(r, "scanner settings");
  d->cell_size = (int)v[0];
  d->padding = (int)v[1];
  d->window_width = (int)v[2];
  d->window_height = (int)v[3];
  d->max_levels = v[4] > 100000 ? 100000 : (long)v[4];
  d->min_level_width = (long)v[5];
  d->min_level_height = (long)v[6];
  if (read_double(r, &nuclear, "nuclear norm strength") || read_int(r, &dims, "dimensions"))
    return -1;
  window_cells(d->window_width, d->window_height, d->cell_size, d->padding, &d->filter_rows,
               &d->filter_cols);
  if (d->filter_rows > 64 || d->filter_cols > 64)
    return corrupt(r, "window of more than 64 cells (not supported)");
  if (d->filter_rows < 1 || d->filter_cols < 1 ||
      dims != (int64_t)d->filter_rows * d->filter_cols * DS_FHOG_PLANES)
    return corrupt(r, "dimensions (window cells x 31 expected)");
  return 0;
}

/* One-sided Jacobi SVD (Hestenes) of the m x n matrix a (row-major, m >= n):
 * on return column j of a holds sigma_j * u_j and v (n x n, row-major) the
 * right singular vectors as columns. Accurate to double rounding; dlib uses
 * LAPACK-style svd3, so terms agree up to sign and rounding. */
static void jacobi_svd(double *a, int m, int n, double *v) {
  for (int i = 0; i < n * n; i++)
    v[i] = (i / n == i % n);
  for (int sweep = 0; sweep < 60; sweep++) {
    int rotated = 0;
    for (int p = 0; p < n - 1; p++)
      for (int q = p + 1; q < n; q++) {
        double alpha = 0, beta = 0, gamma = 0;
        for (int i = 0; i < m; i++) {
          alpha += a[i * n + p] * a[i * n + p];
          beta += a[i * n + q] * a[i * n + q];
          gamma += a[i * n + p] * a[i * n + q];
        }
        if (gamma == 0 || fabs(gamma) <= 1e-15 * sqrt(alpha * beta)) continue;
        rotated = 1;
        const double zeta = (beta - alpha) / (2 * gamma);
        const double t = (zeta >= 0 ? 1 : -1) / (fabs(zeta) + sqrt(1 + zeta * zeta));
        const double c = 1 / sqrt(1 + t * t), sn = c * t;
        for (int i = 0; i < m; i++) {
          const double x = a[i * n + p], y = a[i * n + q];
          a[i * n + p] = c * x - sn * y;
          a[i * n + q] = sn * x + c * y;
        }
        for (int i = 0; i < n; i++) {
          const double x = v[i * n + p], y = v[i * n + q];
          v[i * n + p] = c * x - sn * y;
          v[i * n + q] = sn * x + c * y;
        }
      }
    if (!rotated) break;
  }
}

/* dlib's build_fhog_filterbank for plane o of filter k from its double
 * weights f (filter_rows x filter_cols, row-major). Terms are kept in
 * decreasing singular value order, as dlib's rsort_columns does. */
static void build_separable(ds_hog_detector *d, int k, int o, const double *f, int *next) {
  const int fr = d->filter_rows, fc = d->filter_cols;
  const int m = fr >= fc ? fr : fc, n = fr >= fc ? fc : fr;
  double a[64 * 64], v[64 * 64], sigma[64];
  /* Work on the tall orientation: f itself, or its transpose. */
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++)
      a[i * n + j] = fr >= fc ? f[i * fc + j] : f[j * fc + i];
  jacobi_svd(a, m, n, v);
  double largest = 0;
  for (int j = 0; j < n; j++) {
    double s2 = 0;
    for (int i = 0; i < m; i++)
      s2 += a[i * n + j] * a[i * n + j];
    sigma[j] = sqrt(s2);
    if (sigma[j] > largest) largest = sigma[j];
  }
  const double thresh = largest * 0.001 > 1e-4 ? largest * 0.001 : 1e-4;
  int used[64] = {0};
  d->sep_first[k * DS_FHOG_PLANES + o] = *next;
  int count = 0;
  for (;;) {
    int best = -1;
    for (int j = 0; j < n; j++)
      if (!used[j] && sigma[j] >= thresh && (best < 0 || sigma[j] > sigma[best])) best = j;
    if (best < 0) break;
    used[best] = 1;
    const double root = sqrt(sigma[best]);
    float *col = d->sep + (size_t)(*next + count) * (fr + fc), *row = col + fr;
    for (int i = 0; i < m; i++) {
      const double u = a[i * n + best] / sigma[best] * root; /* left vector */
      if (fr >= fc)
        col[i] = (float)u;
      else
        row[i] = (float)u;
    }
    for (int i = 0; i < n; i++) {
      const double w = v[i * n + best] * root; /* right vector */
      if (fr >= fc)
        row[i] = (float)w;
      else
        col[i] = (float)w;
    }
    count++;
  }
  d->sep_count[k * DS_FHOG_PLANES + o] = count;
  *next += count;
}

static int read_filter(reader *r, ds_hog_detector *d, int k) {
  const size_t dims = (size_t)d->filter_rows * d->filter_cols * DS_FHOG_PLANES;
  int64_t nr, nc;
  if (read_int(r, &nr, "filter size") || read_int(r, &nc, "filter size")) return -1;
  if (nr < 0 || nc < 0) {
    nr = -nr;
    nc = -nc;
  }
  if (nc != 1 || (uint64_t)nr != dims + 1) return corrupt(r, "filter size (dimensions + 1)");
  if (dims + 1 > r->left / 2) return corrupt(r, "truncated filter");
  const size_t fsize = (size_t)d->filter_rows * d->filter_cols;
  double plane[64 * 64];
  for (size_t i = 0; i < dims; i++) {
    double w;
    if (read_double(r, &w, "filter weight")) return -1;
    d->weights[k * dims + i] = (float)w;
    plane[i % fsize] = w;
    if (i % fsize == fsize - 1) build_separable(d, k, (int)(i / fsize), plane, &d->sep_next);
  }
  return read_double(r, &d->thresholds[k], "filter threshold");
}

static ds_status parse(reader *r, ds_hog_detector *d) {
  int64_t version, num;
  if (read_int(r, &version, "detector version")) return DS_ERR_CORRUPT;
  if (version != 1 && version != 2) return corrupt(r, "detector version (1 or 2)"), DS_ERR_CORRUPT;
  if (read_scanner(r, d)) return DS_ERR_CORRUPT;
  if (version == 2) {
    if (read_overlap(r, d) || read_count(r, 1 << 16, &num, "filter count")) return DS_ERR_CORRUPT;
    if (num < 1) return corrupt(r, "filter count"), DS_ERR_CORRUPT;
  } else {
    num = 1;
  }
  const size_t dims = (size_t)d->filter_rows * d->filter_cols * DS_FHOG_PLANES;
  /* Each weight takes at least 4 bytes: reject impossible counts before
   * allocating. */
  if ((uint64_t)num > r->left / (4 * (dims + 1))) return corrupt(r, "filter count"), DS_ERR_CORRUPT;
  d->num_filters = (int)num;
  d->weights = malloc((size_t)num * dims * sizeof *d->weights);
  d->thresholds = malloc((size_t)num * sizeof *d->thresholds);
  const int rank = d->filter_rows < d->filter_cols ? d->filter_rows : d->filter_cols;
  d->sep = malloc((size_t)num * DS_FHOG_PLANES * rank * (d->filter_rows + d->filter_cols) *
                  sizeof *d->sep);
  d->sep_first = malloc((size_t)num * DS_FHOG_PLANES * sizeof *d->sep_first);
  d->sep_count = malloc((size_t)num * DS_FHOG_PLANES * sizeof *d->sep_count);
  d->separable = 1;
  if (!d->weights || !d->thresholds || !d->sep || !d->sep_first || !d->sep_count)
    return ds_error_set(r->err, DS_ERR_NO_MEMORY, "%s: cannot allocate %lld filters; free memory",
                        r->path, (long long)num);
  for (int k = 0; k < d->num_filters; k++)
    if (read_filter(r, d, k)) return DS_ERR_CORRUPT;
  if (version == 1 && read_overlap(r, d)) return DS_ERR_CORRUPT;
  return DS_OK;
}

ds_status ds_hog_detector_load(const char *path, ds_hog_detector **out, ds_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f)
    return ds_error_set(err, errno == ENOENT ? DS_ERR_NOT_FOUND : DS_ERR_IO,
                        "%s: cannot open the HOG face detector (%s); run the README set-up to "
                        "export it or pass a detector file",
                        path, strerror(errno));
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 1 << 18;
      uint8_t *p = realloc(buf, cap);
      if (!p) {
        free(buf);
        fclose(f);
        return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes to read it", path,
                            cap);
      }
      buf = p;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
  }
  int failed = ferror(f);
  fclose(f);
  if (failed) {
    free(buf);
    return ds_error_set(err, DS_ERR_IO, "%s: read error; check the file and the disk", path);
  }
  ds_hog_detector *d = calloc(1, sizeof *d);
  if (!d) {
    free(buf);
    return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: cannot allocate the detector", path);
  }
  reader r = {buf, buf, len, path, err};
  ds_status st = parse(&r, d);
  free(buf);
  if (st != DS_OK) {
    ds_hog_detector_free(d);
    return st;
  }
  *out = d;
  return DS_OK;
}

void ds_hog_detector_free(ds_hog_detector *d) {
  if (!d) return;
  free(d->weights);
  free(d->thresholds);
  free(d->sep);
  free(d->sep_first);
  free(d->sep_count);
  free(d);
}

int ds_hog_detector_num_filters(const ds_hog_detector *d) { return d->num_filters; }

int ds_hog_detector_num_separable_terms(const ds_hog_detector *d, int filter) {
  int n = 0;
  for (int o = 0; o < DS_FHOG_PLANES; o++)
    n += d->sep_count[filter * DS_FHOG_PLANES + o];
  return n;
}

void ds_hog_detector_set_separable(ds_hog_detector *d, int separable) { d->separable = separable; }

void ds_hog_detector_set_color(ds_hog_detector *d, int color) { d->color = color; }

/* ---- images: dlib's grey conversion and bilinear resize */

void ds_hog_rgb_to_gray(const uint8_t *rgb, int width, int height, uint8_t *gray) {
  for (size_t i = 0; i < (size_t)width * height; i++)
    gray[i] = (uint8_t)(((unsigned)rgb[3 * i] + rgb[3 * i + 1] + rgb[3 * i + 2]) / 3);
}

void ds_hog_pyramid_down6_size(int width, int height, int *out_width, int *out_height) {
  *out_width = (int)((5L * width) / 6);
  *out_height = (int)((5L * height) / 6);
}

/* dlib's drectangle -> rectangle conversion. */
static long round_half_up(double v) { return (long)floor(v + 0.5); }

/* pyramid_down<2>::point_up is (p + (1.25, 0.75)) * 2; pyramid_up sizes the
 * output to the bottom-right corner of the mapped image rectangle, plus 1. */
void ds_hog_pyramid_up2_size(int width, int height, int *out_width, int *out_height) {
  *out_width = (int)round_half_up(((double)(width - 1) + 1.25) * 2) + 1;
  *out_height = (int)round_half_up(((double)(height - 1) + 0.75) * 2) + 1;
}

/* dlib's resize_image with bilinear interpolation (interpolation.h), its
 * specialisations for grey -> grey and rgb_pixel -> rgb_pixel images. Rows
 * advance in double. Columns advance in float in blocks of 4 (the SIMD loop)
 * until a block would read past the right edge: grey rounds the float result
 * (value + 0.5), RGB truncates it (_mm_cvttps_epi32). The remaining columns
 * take double positions; grey computes in double, stores to float and
 * truncates; RGB computes and truncates in double. */
void ds_hog_resize_bilinear(const uint8_t *in, int in_width, int in_height, int channels,
                            uint8_t *out, int out_width, int out_height) {
  if (out_width <= 0 || out_height <= 0 || in_width <= 0 || in_height <= 0) return;
  const int ch = channels == 3 ? 3 : 1;
  const double x_scale = (in_width - 1) / (double)(out_width - 1 > 1 ? out_width - 1 : 1);
  const double y_scale = (in_height - 1) / (double)(out_height - 1 > 1 ? out_height - 1 : 1);
  double y = -y_scale;
  for (int r = 0; r < out_height; r++) {
    y += y_scale;
    const long top = (long)floor(y);
    const long bottom = top + 1 < in_height - 1 ? top + 1 : in_height - 1;
    const double tb_frac = y - top;
    const uint8_t *row_t = in + (size_t)top * in_width * ch;
    const uint8_t *row_b = in + (size_t)bottom * in_width * ch;
    uint8_t *o = out + (size_t)r * out_width * ch;
    const double x0 = -4 * x_scale;
    const float f_tb = (float)tb_frac, f_inv_tb = (float)(1 - tb_frac);
    const float f_step = (float)(4 * x_scale);
    float xs[4] = {(float)x0, (float)(x0 + x_scale), (float)(x0 + 2 * x_scale),
                   (float)(x0 + 3 * x_scale)};
    long c = 0;
    for (;; c += 4) {
      int left[4];
      float lr[4];
      for (int k = 0; k < 4; k++) {
        xs[k] += f_step;
        left[k] = (int)xs[k]; /* truncation, as _mm_cvttps_epi32 */
        lr[k] = xs[k] - (float)left[k];
      }
      if (left[3] + 1 >= in_width) break;
      for (int k = 0; k < 4; k++) {
        const float inv_lr = 1 - lr[k];
        const float tlf = f_inv_tb * inv_lr, trf = f_inv_tb * lr[k];
        const float blf = f_tb * inv_lr, brf = f_tb * lr[k];
        const size_t l = (size_t)left[k] * ch, rr = l + ch;
        for (int e = 0; e < ch; e++) {
          const float v =
              tlf * row_t[l + e] + trf * row_t[rr + e] + blf * row_b[l + e] + brf * row_b[rr + e];
          o[(c + k) * ch + e] = ch == 1 ? (uint8_t)(v + 0.5) : (uint8_t)(int)v;
        }
      }
    }
    double x = -x_scale + c * x_scale;
    for (; c < out_width; c++) {
      x += x_scale;
      const long left = (long)floor(x);
      const long right = left + 1 < in_width - 1 ? left + 1 : in_width - 1;
      for (int e = 0; e < ch; e++) {
        const uint8_t tl = row_t[left * ch + e], tr = row_t[right * ch + e];
        const uint8_t bl = row_b[left * ch + e], br = row_b[right * ch + e];
        if (ch == 1) {
          const float lr_frac = (float)(x - left);
          const float v = (float)((1 - tb_frac) * ((1 - lr_frac) * tl + lr_frac * tr) +
                                  tb_frac * ((1 - lr_frac) * bl + lr_frac * br));
          o[c] = v >= 255 ? 255 : v <= 0 ? 0 : (uint8_t)v;
        } else {
          const double lr_frac = x - left;
          const double v = (1 - tb_frac) * ((1 - lr_frac) * tl + lr_frac * tr) +
                           tb_frac * ((1 - lr_frac) * bl + lr_frac * br);
          o[c * 3 + e] = (uint8_t)v;
        }
      }
    }
  }
}

/* ---- scanning */

static int push(ds_hog_candidates *l, ds_hog_candidate c) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 64;
    ds_hog_candidate *p = realloc(l->items, cap * sizeof *p);
    if (!p) return -1;
    l->items = p;
    l->cap = cap;
  }
  l->items[l->n++] = c;
  return 0;
}

/* fhog_to_image for one coordinate: the centre of the feature cell in the
 * level's pixels (cells are padded by (pad - 1) / 2 and the image has a
 * 1-pixel and a 1-cell border), moved by half a cell away from zero. */
static long fhog_to_image(long p, int cell, int pad) {
  long v = (p + 1 - (pad - 1) / 2) * cell + 1;
  return v + (v >= 0 ? cell / 2 : -(cell / 2));
}

/* pyramid_down<6>::point_up applied `levels` times: p * 6 / 5 + 0.3. */
static double point_up6(double v, int levels) {
  for (int i = 0; i < levels; i++)
    v = v * (6 / 5.0) + 0.3;
  return v;
}

int ds_hog_add_window(const ds_hog_detector *d, ds_hog_candidates *out, int r, int c, int level,
                      double s, int k) {
  const int fr = d->filter_rows, fc = d->filter_cols;
  const int det_rows = fr - 2 * d->padding, det_cols = fc - 2 * d->padding;
  /* centered_rect(point(c, r), det_cols, det_rows) in feature space, then
   * fhog_to_image and rect_up to level 0. */
  const long fl = c - det_cols / 2, ft = r - det_rows / 2;
  const long fright = fl + det_cols - 1, fbottom = ft + det_rows - 1;
  ds_hog_candidate cand;
  cand.rect.l = round_half_up(point_up6(fhog_to_image(fl, d->cell_size, fc), level));
  cand.rect.t = round_half_up(point_up6(fhog_to_image(ft, d->cell_size, fr), level));
  cand.rect.r = round_half_up(point_up6(fhog_to_image(fright, d->cell_size, fc), level));
  cand.rect.b = round_half_up(point_up6(fhog_to_image(fbottom, d->cell_size, fr), level));
  cand.score = s;
  cand.weight_index = k;
  cand.order = (long)out->n;
  return push(out, cand);
}

/* Scores every window position of one level with every filter and appends
 * those at or above the filter's threshold + adjust. The full 31 x fr x fc
 * filters (dlib applies an SVD-separable approximation of the same filters),
 * summed in float into a saliency map in the order plane, filter row, filter
 * column: sal[r][c] = sum w[o][i][j] * hog[o][r - fr/2 + i][c - fc/2 + j]. */
static int scan_level(const ds_hog_detector *d, const float *hog, int rows, int cols, int level,
                      double adjust, float *sal, float *scratch, ds_hog_candidates *out) {
  const int fr = d->filter_rows, fc = d->filter_cols;
  const size_t fsize = (size_t)fr * fc;
  /* float_spatially_filter_image_separable's valid area: rows fr / 2 to
   * rows - (fr - 1) / 2 - 1, the same for columns. */
  const int first_row = fr / 2, first_col = fc / 2;
  const int last_row = rows - (fr - 1) / 2, last_col = cols - (fc - 1) / 2;
  const int out_rows = last_row - first_row, out_cols = last_col - first_col;
  if (out_rows <= 0 || out_cols <= 0) return 0;
  for (int k = 0; k < d->num_filters; k++) {
    const float *w = d->weights + (size_t)k * DS_FHOG_PLANES * fsize;
    const double thresh = d->thresholds[k];
    memset(sal, 0, (size_t)out_rows * out_cols * sizeof *sal);
    for (int o = 0; o < DS_FHOG_PLANES; o++) {
      const float *plane = hog + (size_t)o * rows * cols;
      if (d->separable) {
        /* Each rank-1 term: the row filter along every feature row into
         * scratch, then the column filter down scratch into sal. */
        const int first = d->sep_first[k * DS_FHOG_PLANES + o];
        for (int t = 0; t < d->sep_count[k * DS_FHOG_PLANES + o]; t++) {
          const float *col = d->sep + (size_t)(first + t) * (fr + fc), *row = col + fr;
          for (int r = 0; r < rows; r++) {
            const float *f = plane + (size_t)r * cols;
            float *x = scratch + (size_t)r * out_cols;
            for (int c = 0; c < out_cols; c++)
              x[c] = 0;
            for (int j = 0; j < fc; j++)
              for (int c = 0; c < out_cols; c++)
                x[c] += row[j] * f[c + j];
          }
          for (int r = 0; r < out_rows; r++) {
            float *y = sal + (size_t)r * out_cols;
            for (int i = 0; i < fr; i++) {
              const float *x = scratch + (size_t)(r + i) * out_cols;
              for (int c = 0; c < out_cols; c++)
                y[c] += col[i] * x[c];
            }
          }
        }
        continue;
      }
      for (int i = 0; i < fr; i++)
        for (int j = 0; j < fc; j++) {
          const float wv = w[o * fsize + (size_t)i * fc + j];
          if (wv == 0) continue;
          for (int r = 0; r < out_rows; r++) {
            const float *f = plane + (size_t)(r + i) * cols + j;
            float *y = sal + (size_t)r * out_cols;
            for (int c = 0; c < out_cols; c++)
              y[c] += wv * f[c];
          }
        }
    }
    for (int r = first_row; r < last_row; r++)
      for (int c = first_col; c < last_col; c++) {
        const double s = sal[(size_t)(r - first_row) * out_cols + (c - first_col)];
        if (s < thresh + adjust) continue;
        if (ds_hog_add_window(d, out, r, c, level, s - thresh, k)) return -1;
      }
  }
  return 0;
}

static int by_score(const void *a, const void *b) {
  const ds_hog_candidate *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static double area(ds_hog_box a) {
  long w = a.r - a.l + 1, h = a.b - a.t + 1;
  return (w > 0 && h > 0) ? (double)w * (double)h : 0;
}

/* dlib's test_box_overlap: "IoU" divides by the area of the bounding box of
 * both rectangles (rectangle operator+), not of their union. */
static int boxes_overlap(const ds_hog_detector *d, ds_hog_box a, ds_hog_box b) {
  ds_hog_box in = {a.l > b.l ? a.l : b.l, a.t > b.t ? a.t : b.t, a.r < b.r ? a.r : b.r,
                   a.b < b.b ? a.b : b.b};
  const double inner = area(in);
  if (inner == 0) return 0;
  ds_hog_box hull = {a.l < b.l ? a.l : b.l, a.t < b.t ? a.t : b.t, a.r > b.r ? a.r : b.r,
                     a.b > b.b ? a.b : b.b};
  return inner / area(hull) > d->iou_thresh || inner / area(a) > d->covered_thresh ||
         inner / area(b) > d->covered_thresh;
}

ds_status ds_hog_no_memory(ds_error *err, int width, int height) {
  return ds_error_set(err, DS_ERR_NO_MEMORY,
                      "HOG detector: cannot allocate the pyramid of a %dx%d image; free memory or "
                      "use a smaller --upsample",
                      width, height);
}

ds_status ds_hog_check_input(int width, int height, int channels, int upsample, ds_error *err) {
  if (width < 1 || height < 1 || (channels != 1 && channels != 3) || upsample < 0 || upsample > 4 ||
      (long)width * height > (1L << 28) >> (2 * upsample))
    return ds_error_set(err, DS_ERR_INVALID,
                        "HOG detector: cannot run on a %dx%d image with %d channels at upsample "
                        "%d (1 or 3 channels, upsample 0 to 4, at most 2^28 pixels upsampled)",
                        width, height, channels, upsample);
  return DS_OK;
}

long ds_hog_pyramid_levels(const ds_hog_detector *d, int width, int height) {
  /* create_fhog_pyramid: levels until the mapped image rectangle (rect_down,
   * (p - 0.3) * 5 / 6, rounded) is narrower or shorter than the minimum. */
  long levels = 0;
  double rl = 0, rt = 0, rr = width - 1, rb = height - 1;
  for (;;) {
    rl = (double)round_half_up((rl - 0.3) * (5 / 6.0));
    rt = (double)round_half_up((rt - 0.3) * (5 / 6.0));
    rr = (double)round_half_up((rr - 0.3) * (5 / 6.0));
    rb = (double)round_half_up((rb - 0.3) * (5 / 6.0));
    levels++;
    if (!(rr - rl + 1 >= d->min_level_width && rb - rt + 1 >= d->min_level_height &&
          levels < d->max_levels))
      return levels;
  }
}

ds_status ds_hog_suppress(const ds_hog_detector *d, ds_hog_candidates *cands, int upsample,
                          int width, int height, ds_detection **dets, int *count, ds_error *err) {
  *dets = NULL;
  *count = 0;
  if (cands->n == 0) return DS_OK;
  qsort(cands->items, cands->n, sizeof *cands->items, by_score);
  /* Non-max suppression over all filters together (object_detector's own
   * overlaps_any_box ignores weight_index), best first. */
  ds_detection *kept = malloc(cands->n * sizeof *kept);
  ds_hog_box *kept_box = malloc(cands->n * sizeof *kept_box);
  if (!kept || !kept_box) {
    free(kept);
    free(kept_box);
    return ds_hog_no_memory(err, width, height);
  }
  int n = 0;
  for (size_t i = 0; i < cands->n; i++) {
    const ds_hog_candidate *c = &cands->items[i];
    int suppressed = 0;
    for (int j = 0; j < n && !suppressed; j++)
      suppressed = boxes_overlap(d, kept_box[j], c->rect);
    if (suppressed) continue;
    kept_box[n] = c->rect;
    /* Map back through the upsampling: pyramid_down<2>::point_down is
     * p / 2 - (1.25, 0.75), applied `upsample` times, then rounded. */
    double l = (double)c->rect.l, t = (double)c->rect.t, r = (double)c->rect.r,
           b = (double)c->rect.b;
    for (int u = 0; u < upsample; u++) {
      l = l / 2.0 - 1.25;
      r = r / 2.0 - 1.25;
      t = t / 2.0 - 0.75;
      b = b / 2.0 - 0.75;
    }
    kept[n].left = (float)round_half_up(l);
    kept[n].top = (float)round_half_up(t);
    kept[n].right = (float)round_half_up(r);
    kept[n].bottom = (float)round_half_up(b);
    kept[n].score = c->score;
    kept[n].weight_index = c->weight_index;
    n++;
  }
  free(kept_box);
  *dets = kept;
  *count = n;
  return DS_OK;
}

/* The host path: fHOG and filter scoring of each level in C, the pyramid
 * made level by level, buffers kept across levels. */
typedef struct host_level {
  float *hog, *sal;
  size_t hog_cap, sal_cap;
} host_level;

static ds_status score_level_host(host_level *b, const ds_hog_detector *d, const uint8_t *img,
                                  int w, int h, int ch, int level, double adjust,
                                  ds_hog_candidates *out, ds_error *err) {
  int rows, cols;
  ds_fhog_size(w, h, d->cell_size, d->filter_rows, d->filter_cols, &rows, &cols);
  if (rows == 0) return DS_OK;
  const size_t hog_n = (size_t)DS_FHOG_PLANES * rows * cols, sal_n = (size_t)2 * rows * cols;
  if (hog_n > b->hog_cap) {
    free(b->hog);
    b->hog = malloc(hog_n * sizeof *b->hog);
    b->hog_cap = b->hog ? hog_n : 0;
  }
  if (sal_n > b->sal_cap) {
    free(b->sal);
    b->sal = malloc(sal_n * sizeof *b->sal);
    b->sal_cap = b->sal ? sal_n : 0;
  }
  if (!b->hog || !b->sal) return ds_hog_no_memory(err, w, h);
  ds_status st =
      ds_fhog_reference(img, w, h, ch, d->cell_size, d->filter_rows, d->filter_cols, b->hog, err);
  if (st == DS_OK &&
      scan_level(d, b->hog, rows, cols, level, adjust, b->sal, b->sal + (size_t)rows * cols, out))
    st = ds_hog_no_memory(err, w, h);
  return st;
}

/* Replaces the w x h image *img by its resize to nw x nh (width x height:
 * the input, for the error message). */
static ds_status resize_to(uint8_t **img, int *w, int *h, int ch, int nw, int nh, ds_error *err,
                           int width, int height) {
  uint8_t *next = malloc((size_t)nw * nh * ch + 1);
  if (!next) return ds_hog_no_memory(err, width, height);
  ds_hog_resize_bilinear(*img, *w, *h, ch, next, nw, nh);
  free(*img);
  *img = next;
  *w = nw;
  *h = nh;
  return DS_OK;
}

ds_status ds_hog_detect(const ds_hog_detector *d, const uint8_t *pixels, int width, int height,
                        int channels, int upsample, double adjust_threshold, ds_detection **dets,
                        int *count, ds_error *err) {
  *dets = NULL;
  *count = 0;
  ds_status st = ds_hog_check_input(width, height, channels, upsample, err);
  if (st != DS_OK) return st;
  host_level b = {0};
  ds_hog_candidates cands = {0};
  /* Colour runs dlib's rgb_pixel detector; otherwise RGB becomes grey. */
  const int ch = (channels == 3 && d->color) ? 3 : 1;
  uint8_t *img = malloc((size_t)width * height * ch);
  if (!img) return ds_hog_no_memory(err, width, height);
  if (channels == 3 && ch == 1)
    ds_hog_rgb_to_gray(pixels, width, height, img);
  else
    memcpy(img, pixels, (size_t)width * height * ch);
  int w = width, h = height;
  for (int i = 0; i < upsample && st == DS_OK; i++) {
    int uw, uh;
    ds_hog_pyramid_up2_size(w, h, &uw, &uh);
    st = resize_to(&img, &w, &h, ch, uw, uh, err, width, height);
  }
  const long levels = ds_hog_pyramid_levels(d, w, h);
  for (long level = 0; level < levels && st == DS_OK; level++) {
    if (level > 0) {
      int nw, nh;
      ds_hog_pyramid_down6_size(w, h, &nw, &nh);
      st = resize_to(&img, &w, &h, ch, nw, nh, err, width, height);
      if (st != DS_OK) break;
    }
    st = score_level_host(&b, d, img, w, h, ch, (int)level, adjust_threshold, &cands, err);
  }
  if (st == DS_OK) st = ds_hog_suppress(d, &cands, upsample, width, height, dets, count, err);
  free(cands.items);
  free(img);
  free(b.hog);
  free(b.sal);
  return st;
}
