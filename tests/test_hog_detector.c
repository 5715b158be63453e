/* dlib's HOG face detector in C (engine/detect/hog_model.c, hog_pyramid.c, hog_scan.c, hog_nms.c, fhog.c).
 *
 *   test_hog_detector MODEL|- DLIB_DIR|- [DLIB_DIR...]
 *
 * MODEL is dlib's frontal detector as tests/dlib/export_detector writes it:
 * it must load, and every truncation and many byte corruptions of it must
 * give DS_ERR_CORRUPT, never a crash. DLIB_DIR is what
 * tests/dlib/compare_detect wrote (imgNNN.png, imgNNN.fhog, detections.txt):
 * our fHOG must equal dlib's (|diff| <= 1e-6) and our detector must give the
 * same number of faces, each with IoU >= 0.95 and a score within 1e-3 of
 * dlib's; lines that compare_detect ran with --rgb go through the colour
 * path (ds_hog_detector_set_color). The device detector
 * (ds_hog_detect_cl_ws, on DSENGINE_DEVICE or the default device) must meet
 * the same bounds on every image. With "- -" only the model-free checks
 * run, on a synthetic detector written in dlib's format. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/detect/fhog.h"
#include "engine/detect/hog_detector.h"
#include "engine/detect/hog_scan_cl.h"
#include "engine/media/png.h"

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static int write_file(const char *path, const uint8_t *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(buf, 1, len, f);
  return (fclose(f) == 0 && w == len) ? 0 : -1;
}

/* Loads a damaged copy; it must fail cleanly with DS_ERR_CORRUPT, or load. */
static void load_damaged(const char *tmp, const uint8_t *buf, size_t len, int must_fail) {
  ds_error err = {0};
  ds_hog_detector *d = NULL;
  if (write_file(tmp, buf, len)) {
    CHECK(0, "cannot write %s", tmp);
    return;
  }
  ds_status st = ds_hog_detector_load(tmp, &d, &err);
  if (must_fail) {
    CHECK(st == DS_ERR_CORRUPT && d == NULL, "%zu bytes: %s (%s)", len, ds_status_name(st),
          err.msg);
    if (st == DS_ERR_CORRUPT && len == 100) CHECK_CONTAINS(err.msg, tmp);
  } else {
    CHECK(st == DS_OK || st == DS_ERR_CORRUPT, "damaged file: %s", ds_status_name(st));
  }
  ds_hog_detector_free(d);
  ds_error_clear(&err);
}

static void test_model_file(const char *path) {
  ds_error err = {0};
  ds_hog_detector *d = NULL;
  CHECK_OK(ds_hog_detector_load(path, &d, &err), &err);
  if (d) {
    CHECK(ds_hog_detector_num_filters(d) == 5, "%d filters", ds_hog_detector_num_filters(d));
    /* dlib's build_fhog_filterbank keeps this many rank-1 terms. */
    static const int terms[5] = {61, 58, 54, 66, 66};
    for (int k = 0; k < 5 && k < ds_hog_detector_num_filters(d); k++)
      CHECK(ds_hog_detector_num_separable_terms(d, k) == terms[k], "filter %d: %d terms", k,
            ds_hog_detector_num_separable_terms(d, k));
  }
  ds_hog_detector_free(d);

  size_t len;
  uint8_t *buf = read_file(path, &len);
  CHECK(buf != NULL, "cannot read %s", path);
  if (!buf) return;
  char tmp[] = "/tmp/test_hog_detector_XXXXXX";
  int fd = mkstemp(tmp);
  CHECK(fd >= 0, "mkstemp");
  if (fd < 0) return;
  int truncations = 0;
  for (size_t n = 0; n < len; n += n < 400 ? 1 : 1009, truncations++)
    load_damaged(tmp, buf, n, 1);
  load_damaged(tmp, buf, len - 1, 1);
  uint8_t *copy = malloc(len);
  unsigned seed = 12345;
  for (int i = 0; i < 300; i++) {
    memcpy(copy, buf, len);
    seed = seed * 1103515245u + 12345u;
    size_t at = (seed >> 8) % (i < 150 ? 200 : len);
    seed = seed * 1103515245u + 12345u;
    copy[at] ^= (uint8_t)(1u << ((seed >> 16) % 8));
    load_damaged(tmp, copy, len, 0);
  }
  free(copy);
  free(buf);
  remove(tmp);
  printf("model: %d truncations and 300 bit flips handled\n", truncations);

  CHECK(ds_hog_detector_load("/nonexistent/frontal.svm", &d, &err) == DS_ERR_NOT_FOUND,
        "missing file");
  CHECK_CONTAINS(err.msg, "/nonexistent/frontal.svm");
  ds_error_clear(&err);
}

/* Checks that need no model: sizes and the degenerate images dlib allows. */
static void test_basics(void) {
  int rows, cols, w, h;
  ds_fhog_size(19, 19, 8, 10, 10, &rows, &cols); /* 2 cells, none interior */
  CHECK(rows == 0 && cols == 0, "19x19 gives %dx%d", rows, cols);
  ds_fhog_size(20, 20, 8, 10, 10, &rows, &cols); /* 3 cells (rounded), 1 interior */
  CHECK(rows == 10 && cols == 10, "20x20 gives %dx%d", rows, cols);
  ds_fhog_size(24, 24, 8, 10, 10, &rows, &cols);
  CHECK(rows == 10 && cols == 10, "24x24 gives %dx%d", rows, cols);
  ds_fhog_size(100, 60, 8, 1, 1, &rows, &cols);
  CHECK(rows == 6 && cols == 11, "100x60 gives %dx%d", rows, cols);
  ds_hog_pyramid_down6_size(500, 375, &w, &h);
  CHECK(w == 416 && h == 312, "pyramid_down<6> of 500x375: %dx%d", w, h);
  ds_hog_pyramid_up2_size(500, 375, &w, &h);
  CHECK(w == 1002 && h == 751, "pyramid_up of 500x375: %dx%d", w, h);

  /* A flat image has no gradient: all features 0; a guard value after. */
  uint8_t flat[40 * 40];
  memset(flat, 77, sizeof flat);
  ds_fhog_size(40, 40, 8, 10, 10, &rows, &cols);
  size_t n = (size_t)DS_FHOG_PLANES * rows * cols;
  float *hog = malloc((n + 1) * sizeof *hog);
  hog[n] = 12345.0f;
  ds_error err = {0};
  CHECK_OK(ds_fhog_reference(flat, 40, 40, 1, 8, 10, 10, hog, &err), &err);
  float m = 0;
  for (size_t i = 0; i < n; i++)
    m = fmaxf(m, fabsf(hog[i]));
  CHECK(m == 0 && hog[n] == 12345.0f, "flat image: max %g, guard %g", m, hog[n]);
  free(hog);
  CHECK(ds_fhog_reference(flat, 40, 40, 2, 8, 10, 10, NULL, &err) == DS_ERR_INVALID, "2 channels");
  ds_error_clear(&err);

  /* Resizing to the same size is the identity. */
  uint8_t ramp[13 * 7], out[13 * 7];
  for (int i = 0; i < 13 * 7; i++)
    ramp[i] = (uint8_t)(i * 37);
  ds_hog_resize_bilinear(ramp, 13, 7, 1, out, 13, 7);
  CHECK(memcmp(ramp, out, sizeof ramp) == 0, "identity resize");
}

/* ---- a synthetic detector file in dlib's format, for runs without dlib */

static size_t put_int(uint8_t *p, int64_t v) {
  uint64_t mag = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
  size_t n = 0;
  do {
    p[1 + n++] = (uint8_t)(mag & 0xFF);
    mag >>= 8;
  } while (mag);
  p[0] = (uint8_t)(n | (v < 0 ? 0x80 : 0));
  return n + 1;
}

static size_t put_double(uint8_t *p, double v) {
  int e;
  double m = frexp(v, &e);
  size_t n = put_int(p, (int64_t)ldexp(m, 53));
  return n + put_int(p + n, e - 53);
}

/* A 16 x 16 px window (2 x 2 cells) that weighs only the 4 texture features
 * (gradient energy) by 1, threshold 0.5. Returns the file size. */
static size_t synthetic_model(uint8_t *buf) {
  size_t n = 0;
  n += put_int(buf + n, 2); /* object_detector version */
  n += put_int(buf + n, 1); /* scanner version */
  n += put_int(buf + n, 0); /* cached feature pyramid: max_size, size */
  n += put_int(buf + n, 0);
  static const int64_t settings[] = {8, 0, 16, 16, 1000, 24, 24};
  for (int i = 0; i < 7; i++)
    n += put_int(buf + n, settings[i]);
  n += put_double(buf + n, 0.0);     /* nuclear norm strength */
  n += put_int(buf + n, 2 * 2 * 31); /* dimensions */
  n += put_double(buf + n, 0.33);
  n += put_double(buf + n, 0.79);
  n += put_int(buf + n, 1); /* filters */
  n += put_int(buf + n, -(2 * 2 * 31 + 1));
  n += put_int(buf + n, -1);
  for (int i = 0; i < 2 * 2 * 31; i++)
    n += put_double(buf + n, i / 4 >= 27 ? 1.0 : 0.0);
  n += put_double(buf + n, 0.5);
  return n;
}

static void test_synthetic_model(void) {
  uint8_t buf[4096];
  size_t len = synthetic_model(buf);
  char tmp[] = "/tmp/test_hog_synthetic_XXXXXX";
  int fd = mkstemp(tmp);
  CHECK(fd >= 0, "mkstemp");
  if (fd < 0) return;
  CHECK(write_file(tmp, buf, len) == 0, "cannot write %s", tmp);
  ds_error err = {0};
  ds_hog_detector *d = NULL;
  CHECK_OK(ds_hog_detector_load(tmp, &d, &err), &err);
  for (size_t n = 0; n < len; n++)
    load_damaged(tmp, buf, n, 1);
  remove(tmp);
  if (!d) return;
  CHECK(ds_hog_detector_num_filters(d) == 1, "%d filters", ds_hog_detector_num_filters(d));

  /* A bright square on black: windows on its edges fire, NMS keeps few. */
  enum { W = 97, H = 81 };
  uint8_t img[W * H];
  memset(img, 0, sizeof img);
  for (int y = 30; y < 54; y++)
    for (int x = 40; x < 64; x++)
      img[y * W + x] = 200;
  ds_detection *dets = NULL;
  int count = 0;
  CHECK_OK(ds_hog_detect(d, img, W, H, 1, 0, 0, &dets, &count, &err), &err);
  CHECK(count >= 1, "square: %d detections", count);
  /* The best box touches the square (give or take a cell, as votes are
   * spread bilinearly); scores are non-increasing. */
  if (count >= 1)
    CHECK(dets[0].right >= 32 && dets[0].left <= 71 && dets[0].bottom >= 22 && dets[0].top <= 61,
          "best box %g %g %g %g misses the square", dets[0].left, dets[0].top, dets[0].right,
          dets[0].bottom);
  for (int i = 1; i < count; i++)
    CHECK(dets[i].score >= 0 && dets[i].score <= dets[i - 1].score, "scores not decreasing");
  free(dets);
  /* Separable and full filters give the same best score. */
  ds_detection *a = NULL, *b = NULL;
  int na = 0, nb = 0;
  ds_hog_detector_set_separable(d, 0);
  CHECK_OK(ds_hog_detect(d, img, W, H, 1, 1, 0, &a, &na, &err), &err);
  ds_hog_detector_set_separable(d, 1);
  CHECK_OK(ds_hog_detect(d, img, W, H, 1, 1, 0, &b, &nb, &err), &err);
  CHECK(na >= 1 && nb >= 1 && fabs(a[0].score - b[0].score) < 1e-4,
        "upsample 1: full %d boxes, separable %d, best scores %g %g", na, nb, na ? a[0].score : 0,
        nb ? b[0].score : 0);
  free(a);
  free(b);
  /* Grey and its RGB expansion have the same features (all channels tie). */
  static uint8_t rgb[W * H * 3];
  for (int i = 0; i < W * H; i++)
    rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = img[i];
  int rows, cols;
  ds_fhog_size(W, H, 8, 1, 1, &rows, &cols);
  size_t nf = (size_t)DS_FHOG_PLANES * rows * cols;
  float *fg = malloc(nf * sizeof *fg), *fc = malloc(nf * sizeof *fc);
  CHECK_OK(ds_fhog_reference(img, W, H, 1, 8, 1, 1, fg, &err), &err);
  CHECK_OK(ds_fhog_reference(rgb, W, H, 3, 8, 1, 1, fc, &err), &err);
  CHECK(memcmp(fg, fc, nf * sizeof *fg) == 0, "grey and RGB-expanded features differ");
  free(fg);
  free(fc);

  memset(img, 90, sizeof img); /* no gradient: every score is -0.5 */
  CHECK_OK(ds_hog_detect(d, img, W, H, 1, 0, 0, &dets, &count, &err), &err);
  CHECK(count == 0 && dets == NULL, "flat image: %d detections", count);
  CHECK_OK(ds_hog_detect(d, img, 1, 1, 1, 2, 0, &dets, &count, &err), &err);
  CHECK(count == 0, "1x1 image: %d detections", count);
  CHECK(ds_hog_detect(d, img, 0, 5, 1, 0, 0, &dets, &count, &err) == DS_ERR_INVALID, "0 width");
  CHECK(ds_hog_detect(d, img, 5, 5, 2, 0, 0, &dets, &count, &err) == DS_ERR_INVALID, "2 channels");
  CHECK(ds_hog_detect(d, img, 5, 5, 1, 5, 0, &dets, &count, &err) == DS_ERR_INVALID, "upsample 5");
  ds_error_clear(&err);
  ds_hog_detector_free(d);
}

static float *read_fhog(const char *path, int *rows, int *cols) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  int32_t hdr[2];
  float *v = NULL;
  if (fread(hdr, 4, 2, f) == 2 && hdr[0] >= 0 && hdr[1] >= 0 && hdr[0] < 1 << 14 &&
      hdr[1] < 1 << 14) {
    size_t n = (size_t)DS_FHOG_PLANES * hdr[0] * hdr[1];
    v = malloc((n + 1) * sizeof *v);
    if (v && fread(v, 4, n, f) != n) {
      free(v);
      v = NULL;
    }
    *rows = hdr[0];
    *cols = hdr[1];
  }
  fclose(f);
  return v;
}

static double iou(const ds_detection *a, const double b[4]) {
  double l = fmax(a->left, b[0]), t = fmax(a->top, b[1]);
  double r = fmin(a->right, b[2]), bo = fmin(a->bottom, b[3]);
  double inter = (r >= l && bo >= t) ? (r - l + 1) * (bo - t + 1) : 0;
  double aa = (a->right - a->left + 1) * (a->bottom - a->top + 1);
  double ab = (b[2] - b[0] + 1) * (b[3] - b[1] + 1);
  return inter / (aa + ab - inter);
}

typedef struct dlib_worst {
  int faces;
  double iou, score;
} dlib_worst;

/* dets against dlib's n boxes listed in p ("l t r b score filter" each):
 * the same number, each dlib box matched with IoU >= 0.95 and a score
 * within 1e-3. */
static void match_dlib(const char *name, const char *path_kind, int up, const ds_detection *dets,
                       int count, const char *p, int n, dlib_worst *w) {
  CHECK(count == n, "%s (%s, upsample %d): %d faces, dlib %d", name, path_kind, up, count, n);
  for (int i = 0; i < n; i++) {
    double b[4], score;
    int wi, k;
    if (sscanf(p, "%lf %lf %lf %lf %lf %d%n", &b[0], &b[1], &b[2], &b[3], &score, &wi, &k) != 6)
      break;
    p += k;
    int best = -1;
    double best_iou = 0;
    for (int j = 0; j < count; j++)
      if (iou(&dets[j], b) > best_iou) {
        best_iou = iou(&dets[j], b);
        best = j;
      }
    w->faces++;
    CHECK(best_iou >= 0.95, "%s (%s): dlib box %g %g %g %g: best IoU %g", name, path_kind, b[0],
          b[1], b[2], b[3], best_iou);
    w->iou = fmin(w->iou, best_iou);
    if (best >= 0) {
      double ds = fabs(dets[best].score - score);
      CHECK(ds <= 1e-3, "%s (%s): score %.6f, dlib %.6f", name, path_kind, dets[best].score, score);
      w->score = fmax(w->score, ds);
    }
  }
}

static void test_against_dlib(ds_hog_detector *d, ds_runtime *rt, const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/detections.txt", dir);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL, "cannot read %s", path);
  if (!f) return;
  static char line[1 << 16];
  int images = 0, fhogs = 0;
  double worst_fhog = 0, worst_full = 0;
  dlib_worst host = {0, 1, 0}, device = {0, 1, 0};
  ds_hog_cl_workspace ws;
  memset(&ws, 0, sizeof ws);
  while (fgets(line, sizeof line, f)) {
    char name[256], mode[8];
    int w, h, up, n, used;
    double thr, ms;
    if (sscanf(line, "%255s %7s %d %d %d %lf %d %lf%n", name, mode, &w, &h, &up, &thr, &n, &ms,
               &used) != 8)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ds_image img = {0};
    ds_error err = {0};
    CHECK_OK(ds_png_read_rgb(path, &img, &err), &err);
    if (!img.data) continue;
    images++;
    const int rgb = strcmp(mode, "rgb") == 0;
    uint8_t *gray = malloc((size_t)w * h);
    ds_hog_rgb_to_gray(img.data, w, h, gray);

    snprintf(path + strlen(path) - 4, 6, ".fhog");
    int rows, cols;
    float *ref = read_fhog(path, &rows, &cols);
    if (ref) {
      int r2, c2;
      ds_fhog_size(w, h, 8, 10, 10, &r2, &c2);
      CHECK(r2 == rows && c2 == cols, "%s: fhog %dx%d, dlib %dx%d", name, r2, c2, rows, cols);
      if (r2 == rows && c2 == cols) {
        size_t cnt = (size_t)DS_FHOG_PLANES * rows * cols;
        float *hog = malloc((cnt + 1) * sizeof *hog);
        CHECK_OK(ds_fhog_reference(rgb ? img.data : gray, w, h, rgb ? 3 : 1, 8, 10, 10, hog, &err),
                 &err);
        double m = 0;
        for (size_t i = 0; i < cnt; i++)
          m = fmax(m, fabs((double)hog[i] - ref[i]));
        CHECK(m <= 1e-6, "%s: fhog differs from dlib's by %g", name, m);
        worst_fhog = fmax(worst_fhog, m);
        fhogs++;
        free(hog);
      }
      free(ref);
    }

    ds_detection *dets = NULL;
    int count = 0;
    const uint8_t *pix = rgb ? img.data : gray;
    const int ch = rgb ? 3 : 1;
    ds_hog_detector_set_color(d, rgb);
    CHECK_OK(ds_hog_detect(d, pix, w, h, ch, up, thr, &dets, &count, &err), &err);
    match_dlib(name, "C", up, dets, count, line + used, n, &host);
    if (rt) {
      ds_detection *dd = NULL;
      int dcount = 0;
      CHECK_OK(ds_hog_detect_cl_ws(rt, &ws, d, pix, w, h, ch, up, thr, &dd, &dcount, &err), &err);
      match_dlib(name, "device", up, dd, dcount, line + used, n, &device);
      free(dd);
    }
    /* The full filters must give the same boxes. */
    ds_detection *full = NULL;
    int full_count = 0;
    ds_hog_detector_set_separable(d, 0);
    CHECK_OK(ds_hog_detect(d, pix, w, h, ch, up, thr, &full, &full_count, &err), &err);
    ds_hog_detector_set_separable(d, 1);
    CHECK(full_count == count, "%s: full filters %d faces, separable %d", name, full_count, count);
    for (int i = 0; i < count && i < full_count; i++) {
      CHECK(full[i].left == dets[i].left && full[i].top == dets[i].top &&
                full[i].right == dets[i].right && full[i].bottom == dets[i].bottom,
            "%s: full and separable boxes differ", name);
      worst_full = fmax(worst_full, fabs(full[i].score - dets[i].score));
    }
    free(full);
    free(dets);
    ds_hog_detector_set_color(d, 0);
    free(gray);
    ds_image_free(&img);
  }
  fclose(f);
  ds_hog_cl_workspace_release(&ws);
  CHECK(images > 0, "no images listed in %s/detections.txt", dir);
  printf("dlib: %d images, %d fhog maps (max |diff| %g), %d faces; C: min IoU %.4f, max |score "
         "diff| %.2e (full vs separable filters %.2e)",
         images, fhogs, worst_fhog, host.faces, host.iou, host.score, worst_full);
  if (rt) printf("; device: min IoU %.4f, max |score diff| %.2e", device.iou, device.score);
  printf("\n");
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL|- DLIB_DIR|- [DLIB_DIR...]\n", argv[0]);
    return 2;
  }
  test_basics();
  test_synthetic_model();
  if (strcmp(argv[1], "-") != 0) {
    test_model_file(argv[1]);
    ds_error err = {0};
    ds_runtime *rt = NULL;
    CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
    for (int i = 2; i < argc; i++) {
      if (strcmp(argv[i], "-") == 0) continue;
      ds_hog_detector *d = NULL;
      CHECK_OK(ds_hog_detector_load(argv[1], &d, &err), &err);
      if (d) test_against_dlib(d, rt, argv[i]);
      ds_hog_detector_free(d);
    }
    ds_runtime_destroy(rt);
  }
  return check_summary("hog_detector");
}
