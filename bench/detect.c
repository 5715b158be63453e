/* Face detection speed against dlib on the same frames, in one run.
 *
 *   detect --dlib DIR [--model FILE] [--repeat K (5)] [--device SPEC] [--profile]
 *
 * DIR is what tests/dlib/compare_detect wrote (bench/detect.sh runs it):
 * imgNNN.png, the frames exactly as dlib decoded them, and detections.txt with
 * dlib's boxes and its best-of-K milliseconds per frame. On the same grey
 * frames this times dsengine's C detector (ds_hog_detect) and its device path
 * (ds_hog_detect_cl_ws: fHOG and filter scoring as OpenCL kernels), best of K
 * after a warm-up of WARM_S seconds, checks that the boxes are dlib's (same count, IoU >= 0.95
 * each), and prints milliseconds per frame and the speed ratio to dlib
 * (> 1: faster than dlib). --profile adds, per frame, the device time of
 * each kernel of the device path (event timestamps; the timed runs then
 * carry the events' small cost). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bench/bench_util.h"
#include "engine/detect/hog_detector.h"
#include "engine/detect/hog_scan_cl.h"
#include "engine/media/png.h"
#include "host/profile.h"

enum { MAX_BOXES = 64 };
static const double WARM_S = 0.25; /* seconds of warm-up per frame and path */

typedef struct frame_ref {
  char name[64];
  int w, h, n;
  double ms;
  double box[MAX_BOXES][4];
} frame_ref;

static double iou(const double *a, const ds_detection *d) {
  const double iw = fmin(a[2], d->right) - fmax(a[0], d->left) + 1;
  const double ih = fmin(a[3], d->bottom) - fmax(a[1], d->top) + 1;
  if (iw <= 0 || ih <= 0) return 0;
  const double area_a = (a[2] - a[0] + 1) * (a[3] - a[1] + 1);
  const double area_d = (d->right - d->left + 1) * (d->bottom - d->top + 1);
  return iw * ih / (area_a + area_d - iw * ih);
}

static int same_boxes(const frame_ref *f, const ds_detection *d, int n) {
  if (n != f->n) return 0;
  for (int i = 0; i < f->n; i++) {
    double best = 0;
    for (int k = 0; k < n; k++)
      best = fmax(best, iou(f->box[i], &d[k]));
    if (best < 0.95) return 0;
  }
  return 1;
}

static int read_line(FILE *in, frame_ref *f) {
  char kind[16];
  int up;
  double thr;
  if (fscanf(in, "%63s %15s %d %d %d %lf %d %lf", f->name, kind, &f->w, &f->h, &up, &thr, &f->n,
             &f->ms) != 8)
    return 0;
  if (f->n > MAX_BOXES) f->n = MAX_BOXES;
  for (int i = 0; i < f->n; i++) {
    double score, weight;
    if (fscanf(in, "%lf %lf %lf %lf %lf %lf", &f->box[i][0], &f->box[i][1], &f->box[i][2],
               &f->box[i][3], &score, &weight) != 6)
      return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  const char *dir = NULL, *model = DS_DEFAULT_DETECTOR, *device = NULL;
  int repeat = 5, profile = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--dlib") && i + 1 < argc)
      dir = argv[++i];
    else if (!strcmp(argv[i], "--model") && i + 1 < argc)
      model = argv[++i];
    else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
      repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--device") && i + 1 < argc)
      device = argv[++i];
    else if (!strcmp(argv[i], "--profile"))
      profile = 1;
    else {
      fprintf(stderr,
              "usage: detect --dlib DIR [--model FILE] [--repeat K] [--device SPEC] [--profile]\n");
      return 2;
    }
  }
  if (!dir || repeat < 1) {
    fprintf(stderr, "detect: --dlib DIR (from tests/dlib/compare_detect) is required\n");
    return 2;
  }
  char path[1200];
  snprintf(path, sizeof path, "%s/detections.txt", dir);
  FILE *in = fopen(path, "r");
  ds_error err = {0};
  ds_hog_detector *det = NULL;
  ds_runtime *rt = NULL;
  if (!in) {
    fprintf(stderr, "detect: cannot read %s\n", path);
    return 1;
  }
  if (ds_hog_detector_load(model, &det, &err) != DS_OK ||
      ds_runtime_open(&rt, device, "--device", profile ? DS_RUNTIME_PROFILING : 0, &err) != DS_OK) {
    fprintf(stderr, "detect: %s\n", err.msg);
    return 1;
  }
  ds_hog_cl_workspace ws;
  memset(&ws, 0, sizeof ws);
  printf("detect: %s, device %s, best of %d\n", model, rt->device.name, repeat);
  const ds_bench_quiet q = ds_bench_quiet_wait(10, 0.2);
  ds_bench_quiet_print(stdout, "machine", &q);
  printf("%-10s %11s %9s %9s %11s %9s %9s %s\n", "frame", "size", "dlib ms", "C ms", "device ms",
         "dlib/C", "dlib/dev", "boxes");
  frame_ref f;
  int rc = 0;
  while (read_line(in, &f)) {
    snprintf(path, sizeof path, "%s/%s", dir, f.name);
    ds_image img = {0};
    if (ds_png_read_rgb(path, &img, &err) != DS_OK) {
      fprintf(stderr, "detect: %s\n", err.msg);
      rc = 1;
      break;
    }
    uint8_t *grey = malloc((size_t)img.width * img.height);
    ds_hog_rgb_to_gray(img.data, img.width, img.height, grey);
    double best[2] = {INFINITY, INFINITY};
    int ok[2] = {1, 1};
    for (int path_kind = 0; path_kind < 2; path_kind++) {
      /* k = 0 warms up, repeated for WARM_S: kernel builds, buffers, and
       * PoCL's worker threads back at speed after the single-threaded runs
       * before (the first ~25 ms of device runs after them take up to 1.8x
       * as long as the rest of a stream of frames). */
      const double warm_until = ds_bench_now() + WARM_S;
      for (int k = 0; k <= repeat; k++) {
        ds_detection *d = NULL;
        int n = 0;
        const double t0 = ds_bench_now();
        ds_status st = path_kind == 0 ? ds_hog_detect(det, grey, img.width, img.height, 1, 0, 0.0,
                                                      &d, &n, &err)
                                      : ds_hog_detect_cl_ws(rt, &ws, det, grey, img.width,
                                                            img.height, 1, 0, 0.0, &d, &n, &err);
        const double ms = (ds_bench_now() - t0) * 1e3;
        if (st != DS_OK) {
          fprintf(stderr, "detect: %s\n", err.msg);
          ds_error_clear(&err);
          ok[path_kind] = 0;
        } else {
          if (!same_boxes(&f, d, n)) ok[path_kind] = 0;
          if (k > 0 && ms < best[path_kind]) best[path_kind] = ms;
        }
        free(d);
        if (path_kind == 1 && k == 0) ds_profile_clear(rt); /* not the warm-up */
        if (k == 0 && ds_bench_now() < warm_until) k = -1;
      }
    }
    ds_kernel_time *kt = NULL;
    int nkt = 0;
    if (profile && ds_profile_take(rt, &kt, &nkt, &err) != DS_OK) {
      fprintf(stderr, "detect: %s\n", err.msg);
      ds_error_clear(&err);
    }
    char size[32];
    snprintf(size, sizeof size, "%dx%d", img.width, img.height);
    printf("%-10s %11s %9.1f %9.1f %11.1f %8.2fx %8.2fx %s\n", f.name, size, f.ms, best[0], best[1],
           f.ms / best[0], f.ms / best[1],
           ok[0] && ok[1] ? "identical to dlib's"
           : ok[0]        ? "device differs"
                          : "C differs");
    double kernel_ms = 0;
    for (int i = 0; i < nkt; i++)
      kernel_ms += kt[i].ms / repeat;
    if (nkt) printf("  kernels %.1f ms/frame:", kernel_ms);
    for (int i = 0; i < nkt; i++)
      printf(" %s %.2f (%ld)%s", kt[i].name, kt[i].ms / repeat, kt[i].launches / repeat,
             i + 1 < nkt ? "," : "\n");
    free(kt);
    if (!ok[0] || !ok[1]) rc = 1;
    free(grey);
    ds_image_free(&img);
  }
  fclose(in);
  ds_hog_cl_workspace_release(&ws);
  ds_runtime_destroy(rt);
  ds_hog_detector_free(det);
  return rc;
}
