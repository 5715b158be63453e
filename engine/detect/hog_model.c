/* dlib 19.24's frontal face detector file, read into a ds_hog_detector: the
 * format of object_detector<scan_fhog_pyramid<pyramid_down<6>>>
 * (object_detector.h, scan_fhog_pyramid.h, box_overlap_testing.h), and each
 * filter's planes as dlib's separable rank-1 terms (an SVD).
 *
 * File (dlib::serialize): int version (2); the scanner: int version (1), the
 * feature extractor (nothing), its cached feature pyramid (a dlib::array:
 * max_size, size, always empty when saved), cell_size, padding, window
 * width and height, max pyramid levels, min level width and height (all
 * integers), the nuclear-norm strength (double), the number of dimensions
 * (long: window cells x 31); the overlap tester: IoU and covered thresholds
 * (doubles); the number of filters; each filter as a matrix<double,0,1> of
 * dims + 1 values, the last being its threshold. Version 1 has one filter and
 * puts the overlap tester after it; integers, doubles and matrices as
 * core/dlib_reader.h reads them. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dlib_reader.h"
#include "engine/detect/fhog.h"
#include "engine/detect/hog_detector.h"
#include "engine/detect/hog_detector_internal.h"

/* ---- reading dlib's serialization (core/dlib_reader.h) */

typedef ds_dlib_reader reader;

static int corrupt(reader *r, const char *what) { return ds_dlib_corrupt(r, what); }

static int read_int(reader *r, int64_t *v, const char *what) {
  return ds_dlib_read_int(r, 8, v, what);
}

/* A non-negative integer no larger than max. */
static int read_count(reader *r, int64_t max, int64_t *v, const char *what) {
  if (read_int(r, v, what)) return -1;
  if (*v < 0 || *v > max) return corrupt(r, what);
  return 0;
}

static int read_double(reader *r, double *d, const char *what) {
  return ds_dlib_read_double(r, d, what);
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
  if (ds_dlib_read_matrix_size(r, &nr, &nc, "filter size")) return -1;
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
  reader r = ds_dlib_reader_make(buf, len, path, "dlib HOG detector",
                                 "re-export it with tests/dlib/export_detector or pass a valid "
                                 "detector file",
                                 err);
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
