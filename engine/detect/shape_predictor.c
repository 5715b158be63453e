/* dlib's shape_predictor (dlib/image_processing/shape_predictor.h, 19.24):
 * file format and inference, reimplemented in C.
 *
 * File (dlib::serialize): int version (1); matrix<float,0,1> initial_shape;
 * vector<vector<regression_tree>> forests, a tree being vector<split_feature
 * {ulong idx1, ulong idx2, float thresh}> then vector<matrix<float,0,1>>
 * leaf_values; vector<vector<ulong>> anchor_idx; vector<vector<vector<float,2>>>
 * deltas, in dlib's serialization (core/dlib_reader.h); a vector is its size
 * then its items.
 *
 * Arithmetic follows dlib so that the sampled pixels are the same ones:
 * shapes, leaf sums and the shape-to-shape transform are float; the Umeyama
 * statistics and the box (unnormalising) transform are double; a sample point
 * rounds to floor(v + 0.5). */
#include "engine/detect/shape_predictor.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dlib_reader.h"

typedef struct sp_split {
  uint32_t idx1, idx2;
  float thresh;
} sp_split;

typedef struct sp_tree {
  size_t first_split, num_splits, first_leaf; /* first_leaf counts floats */
} sp_tree;

typedef struct sp_level {
  size_t first_tree, num_trees, num_pixels;
  uint32_t *anchor; /* num_pixels landmark indices */
  float *delta;     /* num_pixels (dx, dy) offsets in mean-shape space */
} sp_level;

struct ds_shape_predictor {
  size_t num_parts;
  float *initial_shape; /* 2 * num_parts: x0, y0, x1, y1, ... */
  /* Statistics of initial_shape that dlib's find_similarity_transform
   * recomputes on every level; same double arithmetic, computed once. */
  double mean_from[2], sigma_from;
  double *centred_from; /* 2 * num_parts */
  size_t num_levels;
  sp_level *levels;
  sp_tree *trees;
  size_t num_trees, cap_trees;
  sp_split *splits;
  size_t num_splits, cap_splits;
  float *leaves;
  size_t num_leaf_floats, cap_leaf_floats;
};

/* ---- reading dlib's serialization (core/dlib_reader.h) */

typedef ds_dlib_reader reader;

static const char format_name[] = "dlib shape predictor";
static const char remedy[] =
    "reinstall it with apt-get install --reinstall libdlib-data or pass a valid --landmarks PATH";

static int corrupt(reader *r, const char *what) { return ds_dlib_corrupt(r, what); }

static int no_memory(reader *r, const char *what) {
  ds_error_set(r->err, DS_ERR_NO_MEMORY, "%s: cannot allocate the %s; free some memory", r->path,
               what);
  return -1;
}

/* A container size: each of its items takes at least min_item_bytes. */
static int read_count(reader *r, size_t min_item_bytes, size_t *n, const char *what) {
  uint64_t v = 0;
  *n = 0;
  if (ds_dlib_read_uint(r, 8, &v, what)) return -1;
  if (v > r->left / min_item_bytes) return corrupt(r, what);
  *n = (size_t)v;
  return 0;
}

/* A matrix<float,0,1>; rows must be `want` unless want is 0. */
static int read_column(reader *r, size_t want, size_t *rows, const char *what) {
  int64_t nr = 0, nc = 0;
  *rows = 0;
  if (ds_dlib_read_matrix_size(r, &nr, &nc, what)) return -1;
  if (nc != 1 || (want && (uint64_t)nr != want) || (uint64_t)nr > r->left / 4)
    return corrupt(r, what);
  *rows = (size_t)nr;
  return 0;
}

/* Also allocates when need is 0: a tree of no splits or a model of no parts
 * takes `array + 0`, undefined on NULL (fuzz input regress/shape_predictor/
 * zero-splits.dat). */
static int grow(reader *r, void **array, size_t *cap, size_t need, size_t elem, const char *what) {
  if (need <= *cap && *array) return 0;
  size_t n = *cap ? *cap : 64;
  while (n < need)
    n *= 2;
  if (n > SIZE_MAX / elem) return no_memory(r, what);
  void *p = realloc(*array, n * elem);
  if (!p) return no_memory(r, what);
  *array = p;
  *cap = n;
  return 0;
}

static int read_tree(reader *r, ds_shape_predictor *sp) {
  const size_t dim = 2 * sp->num_parts;
  size_t num_splits, num_leaves;
  if (read_count(r, 8, &num_splits, "split count")) return -1;
  if (grow(r, (void **)&sp->splits, &sp->cap_splits, sp->num_splits + num_splits,
           sizeof *sp->splits, "tree splits"))
    return -1;
  sp_split *s = sp->splits + sp->num_splits;
  for (size_t i = 0; i < num_splits; i++) {
    uint64_t a, b;
    if (ds_dlib_read_uint(r, 8, &a, "split index") || ds_dlib_read_uint(r, 8, &b, "split index") ||
        ds_dlib_read_float(r, &s[i].thresh, "split threshold"))
      return -1;
    if (a > UINT32_MAX || b > UINT32_MAX) return corrupt(r, "split index");
    s[i].idx1 = (uint32_t)a;
    s[i].idx2 = (uint32_t)b;
  }
  /* Walking the tree ends at leaf (node - num_splits) <= num_splits, so
   * exactly num_splits + 1 leaves make every walk land inside. */
  if (read_count(r, 4 + 4 * dim, &num_leaves, "leaf count")) return -1;
  if (num_leaves != num_splits + 1) return corrupt(r, "leaf count (splits + 1 expected)");
  if (grow(r, (void **)&sp->leaves, &sp->cap_leaf_floats, sp->num_leaf_floats + num_leaves * dim,
           sizeof *sp->leaves, "tree leaves"))
    return -1;
  float *leaf = sp->leaves + sp->num_leaf_floats;
  for (size_t i = 0; i < num_leaves; i++) {
    size_t rows;
    if (read_column(r, dim, &rows, "leaf vector")) return -1;
    for (size_t k = 0; k < dim; k++)
      if (ds_dlib_read_float(r, &leaf[i * dim + k], "leaf value")) return -1;
  }
  if (grow(r, (void **)&sp->trees, &sp->cap_trees, sp->num_trees + 1, sizeof *sp->trees, "trees"))
    return -1;
  sp->trees[sp->num_trees++] = (sp_tree){sp->num_splits, num_splits, sp->num_leaf_floats};
  sp->num_splits += num_splits;
  sp->num_leaf_floats += num_leaves * dim;
  return 0;
}

static void reference_statistics(ds_shape_predictor *sp) {
  const size_t n = sp->num_parts;
  const float *s = sp->initial_shape;
  double mx = 0, my = 0, sigma = 0;
  for (size_t i = 0; i < n; i++) {
    mx += s[2 * i];
    my += s[2 * i + 1];
  }
  mx /= (double)n;
  my /= (double)n;
  for (size_t i = 0; i < n; i++) {
    double dx = s[2 * i] - mx, dy = s[2 * i + 1] - my;
    sp->centred_from[2 * i] = dx;
    sp->centred_from[2 * i + 1] = dy;
    sigma += dx * dx + dy * dy;
  }
  sp->mean_from[0] = mx;
  sp->mean_from[1] = my;
  sp->sigma_from = sigma / (double)n;
}

static int parse(reader *r, ds_shape_predictor *sp) {
  int64_t version;
  if (ds_dlib_read_int(r, 4, &version, "version")) return -1;
  if (version != 1) return corrupt(r, "version (1 expected)");
  size_t dim;
  if (read_column(r, 0, &dim, "initial shape")) return -1;
  if (dim == 0 || dim % 2) return corrupt(r, "initial shape (an even size expected)");
  sp->num_parts = dim / 2;
  sp->initial_shape = malloc(dim * sizeof *sp->initial_shape);
  sp->centred_from = malloc(dim * sizeof *sp->centred_from);
  if (!sp->initial_shape || !sp->centred_from) return no_memory(r, "initial shape");
  for (size_t i = 0; i < dim; i++)
    if (ds_dlib_read_float(r, &sp->initial_shape[i], "initial shape")) return -1;
  reference_statistics(sp);

  if (read_count(r, 2, &sp->num_levels, "cascade depth")) return -1;
  sp->levels = calloc(sp->num_levels ? sp->num_levels : 1, sizeof *sp->levels);
  if (!sp->levels) return no_memory(r, "cascade levels");
  for (size_t l = 0; l < sp->num_levels; l++) {
    size_t num_trees;
    if (read_count(r, 4, &num_trees, "tree count")) return -1;
    sp->levels[l].first_tree = sp->num_trees;
    sp->levels[l].num_trees = num_trees;
    for (size_t t = 0; t < num_trees; t++)
      if (read_tree(r, sp)) return -1;
  }

  size_t n;
  if (read_count(r, 2, &n, "anchor list count")) return -1;
  if (n != sp->num_levels) return corrupt(r, "anchor list count (one per level expected)");
  for (size_t l = 0; l < n; l++) {
    sp_level *lv = &sp->levels[l];
    if (read_count(r, 2, &lv->num_pixels, "anchor count")) return -1;
    lv->anchor = malloc((lv->num_pixels ? lv->num_pixels : 1) * sizeof *lv->anchor);
    if (!lv->anchor) return no_memory(r, "feature anchors");
    for (size_t i = 0; i < lv->num_pixels; i++) {
      uint64_t a;
      if (ds_dlib_read_uint(r, 8, &a, "anchor index")) return -1;
      if (a >= sp->num_parts) return corrupt(r, "anchor index (past the last landmark)");
      lv->anchor[i] = (uint32_t)a;
    }
  }
  if (read_count(r, 2, &n, "delta list count")) return -1;
  if (n != sp->num_levels) return corrupt(r, "delta list count (one per level expected)");
  for (size_t l = 0; l < n; l++) {
    sp_level *lv = &sp->levels[l];
    size_t num;
    if (read_count(r, 8, &num, "delta count")) return -1;
    if (num != lv->num_pixels) return corrupt(r, "delta count (one per anchor expected)");
    lv->delta = malloc((num ? 2 * num : 1) * sizeof *lv->delta);
    if (!lv->delta) return no_memory(r, "feature offsets");
    for (size_t i = 0; i < 2 * num; i++)
      if (ds_dlib_read_float(r, &lv->delta[i], "feature offset")) return -1;
  }

  /* dlib requires, without checking, that every split reads a pixel of its
   * own level; a file that breaks this would read out of bounds. */
  for (size_t l = 0; l < sp->num_levels; l++) {
    const sp_level *lv = &sp->levels[l];
    for (size_t t = lv->first_tree; t < lv->first_tree + lv->num_trees; t++) {
      const sp_split *s = sp->splits + sp->trees[t].first_split;
      for (size_t i = 0; i < sp->trees[t].num_splits; i++)
        if (s[i].idx1 >= lv->num_pixels || s[i].idx2 >= lv->num_pixels)
          return corrupt(r, "split index (past the level's feature pixels)");
    }
  }
  return 0;
}

ds_status ds_shape_predictor_load(const char *path, ds_shape_predictor **out, ds_error *err) {
  *out = NULL;
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    if (errno == ENOENT)
      return ds_error_set(err, DS_ERR_NOT_FOUND,
                          "%s: no such file; install it with apt-get install libdlib-data or "
                          "pass --landmarks PATH",
                          path);
    return ds_error_set(err, DS_ERR_IO, "%s: cannot open: %s; check its permissions", path,
                        strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return ds_error_set(err, DS_ERR_IO, "%s: not a regular file; pass the .dat model file", path);
  }
  size_t size = (size_t)st.st_size;
  reader r = ds_dlib_reader_make(NULL, size, path, format_name, remedy, err);
  if (size == 0) {
    close(fd);
    static const uint8_t none[1];
    r.base = r.p = none;
    corrupt(&r, "an empty file");
    return err ? err->code : DS_ERR_CORRUPT;
  }
  void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED)
    return ds_error_set(err, DS_ERR_IO, "%s: cannot map %zu bytes: %s", path, size,
                        strerror(errno));
  r.base = r.p = map;

  ds_shape_predictor *sp = calloc(1, sizeof *sp);
  int failed = sp ? parse(&r, sp) : no_memory(&r, "shape predictor");
  munmap(map, size);
  if (failed) {
    ds_shape_predictor_free(sp);
    return err ? err->code : DS_ERR_CORRUPT;
  }
  *out = sp;
  return DS_OK;
}

void ds_shape_predictor_free(ds_shape_predictor *sp) {
  if (!sp) return;
  for (size_t l = 0; sp->levels && l < sp->num_levels; l++) {
    free(sp->levels[l].anchor);
    free(sp->levels[l].delta);
  }
  free(sp->levels);
  free(sp->initial_shape);
  free(sp->centred_from);
  free(sp->trees);
  free(sp->splits);
  free(sp->leaves);
  free(sp);
}

int ds_shape_predictor_num_parts(const ds_shape_predictor *sp) { return (int)sp->num_parts; }
int ds_shape_predictor_num_levels(const ds_shape_predictor *sp) { return (int)sp->num_levels; }
int ds_shape_predictor_num_trees(const ds_shape_predictor *sp, int level) {
  return level >= 0 && (size_t)level < sp->num_levels ? (int)sp->levels[level].num_trees : 0;
}

/* ---- inference ---- */

/* The linear part of the least-squares similarity transform (Umeyama 1991,
 * eqs. 34-43) taking the initial shape to the current one, as dlib's
 * find_similarity_transform computes it, rounded to float as dlib's
 * extract_feature_pixel_values does. In 2-D the SVD of the covariance
 * reduces to c*R = [p -q; q p] / sigma_from with p = cov00 + cov11 and
 * q = cov10 - cov01; the sign fix for det(cov) < 0 gives the same. */
static void similarity_to_current(const ds_shape_predictor *sp, const float *cur, float m[4]) {
  const size_t n = sp->num_parts;
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; i++) {
    mx += cur[2 * i];
    my += cur[2 * i + 1];
  }
  mx /= (double)n;
  my /= (double)n;
  double c00 = 0, c01 = 0, c10 = 0, c11 = 0;
  for (size_t i = 0; i < n; i++) {
    double tx = cur[2 * i] - mx, ty = cur[2 * i + 1] - my;
    double fx = sp->centred_from[2 * i], fy = sp->centred_from[2 * i + 1];
    c00 += tx * fx;
    c01 += tx * fy;
    c10 += ty * fx;
    c11 += ty * fy;
  }
  c00 /= (double)n;
  c01 /= (double)n;
  c10 /= (double)n;
  c11 /= (double)n;
  double p = c00 + c11, q = c10 - c01;
  double scale = sp->sigma_from != 0 ? sp->sigma_from : hypot(p, q);
  if (scale == 0) { /* all points coincide: dlib's SVD gives the identity */
    p = 1;
    q = 0;
    scale = 1;
  }
  m[0] = (float)(p / scale);
  m[1] = (float)(-q / scale);
  m[2] = (float)(q / scale);
  m[3] = (float)(p / scale);
}

static float pixel_intensity(const uint8_t *img, int width, int channels, long x, long y) {
  const uint8_t *px = img + ((size_t)y * (size_t)width + (size_t)x) * (size_t)channels;
  if (channels == 1) return px[0];
  /* dlib's assign_pixel(unsigned char, rgb_pixel): integer mean, truncated */
  return (float)(((unsigned)px[0] + px[1] + px[2]) / 3);
}

ds_status ds_shape_predictor_run(const ds_shape_predictor *sp, const uint8_t *gray_or_rgb,
                                 int width, int height, int channels, const float box[4],
                                 float xy[][2], ds_error *err) {
  if (width <= 0 || height <= 0 || (channels != 1 && channels != 3 && channels != 4))
    return ds_error_set(err, DS_ERR_INVALID,
                        "landmarks: image %dx%dx%d: need a positive size and 1, 3 or 4 channels",
                        width, height, channels);
  for (int i = 0; i < 4; i++)
    if (!isfinite(box[i]))
      return ds_error_set(err, DS_ERR_INVALID, "landmarks: face box has a non-finite coordinate");
  const size_t dim = 2 * sp->num_parts;
  float *cur = malloc(dim * sizeof *cur);
  size_t max_pixels = 1;
  for (size_t l = 0; l < sp->num_levels; l++)
    if (sp->levels[l].num_pixels > max_pixels) max_pixels = sp->levels[l].num_pixels;
  float *feat = malloc(max_pixels * sizeof *feat);
  if (!cur || !feat) {
    free(cur);
    free(feat);
    return ds_error_set(err, DS_ERR_NO_MEMORY, "landmarks: cannot allocate %zu feature values",
                        max_pixels);
  }
  memcpy(cur, sp->initial_shape, dim * sizeof *cur);

  /* dlib's unnormalizing_tform: (0,0) -> top-left, (1,1) -> bottom-right. */
  const double left = box[0], top = box[1];
  const double sx = (double)box[2] - left, sy = (double)box[3] - top;

  for (size_t l = 0; l < sp->num_levels; l++) {
    const sp_level *lv = &sp->levels[l];
    float m[4];
    similarity_to_current(sp, cur, m);
    for (size_t i = 0; i < lv->num_pixels; i++) {
      const float dx = lv->delta[2 * i], dy = lv->delta[2 * i + 1];
      const uint32_t a = lv->anchor[i];
      const float px = (m[0] * dx + m[1] * dy) + cur[2 * a];
      const float py = (m[2] * dx + m[3] * dy) + cur[2 * a + 1];
      const double fx = floor(sx * px + left + 0.5), fy = floor(sy * py + top + 0.5);
      if (fx >= 0 && fx <= width - 1 && fy >= 0 && fy <= height - 1)
        feat[i] = pixel_intensity(gray_or_rgb, width, channels, (long)fx, (long)fy);
      else
        feat[i] = 0;
    }
    for (size_t t = lv->first_tree; t < lv->first_tree + lv->num_trees; t++) {
      const sp_tree *tree = &sp->trees[t];
      const sp_split *s = sp->splits + tree->first_split;
      size_t node = 0;
      while (node < tree->num_splits)
        node =
            feat[s[node].idx1] - feat[s[node].idx2] > s[node].thresh ? 2 * node + 1 : 2 * node + 2;
      const float *leaf = sp->leaves + tree->first_leaf + (node - tree->num_splits) * dim;
      for (size_t k = 0; k < dim; k++)
        cur[k] += leaf[k];
    }
  }
  for (size_t i = 0; i < sp->num_parts; i++) {
    xy[i][0] = (float)(sx * cur[2 * i] + left);
    xy[i][1] = (float)(sy * cur[2 * i + 1] + top);
  }
  free(cur);
  free(feat);
  return DS_OK;
}
