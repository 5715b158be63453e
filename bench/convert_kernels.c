/* bench/convert_kernels: the convert stage's per-face kernels (engine/convert/mask.h,
 * color.h) on one face-sized ROI, as milliseconds per face and as modelled
 * memory traffic over the device's measured copy bandwidth (bench/peak.c).
 * See bench/README.md.
 *
 * Bytes per ROI pixel, each pass counted once as it streams its buffers
 * (re-reads that hit the cache are not counted):
 *   mask build 4 (write); learned adds 4 (the model's mask, each tap
 *   cached after its first read); each of erode and blur: row sums 8 + the pass 8
 *   colour statistics 28 (face 12, frame 12, mask 4); adjustment 24 (face
 *   read and written); hist adds nothing per pixel (the map is 3 KiB) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bench/bench_util.h"
#include "engine/bench/peak.h"
#include "engine/convert/color.h"
#include "engine/convert/mask.h"
#include "host/buffer.h"

enum { MAX_REPS = 1000 };

typedef struct bench_ctx {
  ds_runtime *rt;
  int w, h;
  cl_mem face, frame, mask, tmp, plane; /* plane: a 128 x 128 learned mask */
  ds_color_workspace ws;
  float landmarks[68][2], mat[6];
} bench_ctx;

typedef struct op {
  const char *name;
  int is_mask; /* 1 ds_mask_build, 2 ds_mask_build_learned */
  ds_mask_kind mask_kind;
  int erode, blur;
  ds_color_kind color_kind;
} op;

static double op_bytes_per_pixel(const op *o) {
  if (o->is_mask)
    return (o->is_mask == 2 ? 8.0 : 4.0) + (o->erode ? 16.0 : 0.0) + (o->blur > 1 ? 16.0 : 0.0);
  return 28.0 + 24.0;
}

static ds_status run_op(bench_ctx *c, const op *o, ds_error *err) {
  ds_status st;
  if (o->is_mask == 2)
    st = ds_mask_build_learned(c->rt, (const float(*)[2])c->landmarks, c->mat, 128, c->plane, 0, 0,
                               0, c->w, c->h, o->erode, o->blur, c->tmp, c->mask, err);
  else if (o->is_mask)
    st = ds_mask_build(c->rt, o->mask_kind, (const float(*)[2])c->landmarks, c->mat, 128, 0, 0,
                       c->w, c->h, o->erode, o->blur, c->tmp, c->mask, err);
  else
    st = ds_color_match_ws(c->rt, &c->ws, o->color_kind, c->face, c->frame, c->mask, c->w, c->h,
                           err);
  if (st == DS_OK) st = ds_runtime_finish(c->rt, err);
  return st;
}

/* A face filling most of the ROI: landmarks on an ellipse, the model square
 * around it, random colours, and a mask from the hull. */
static ds_status setup(bench_ctx *c, ds_error *err) {
  const size_t n = (size_t)c->w * c->h;
  for (int i = 0; i < 68; i++) {
    const double a = 6.283185307 * i / 68;
    c->landmarks[i][0] = (float)(c->w * (0.5 + 0.35 * cos(a)));
    c->landmarks[i][1] = (float)(c->h * (0.5 + 0.4 * sin(a)));
  }
  const float s = 128.0f / (0.9f * (float)(c->w > c->h ? c->w : c->h));
  const float mat[6] = {s, 0, 64 - s * 0.5f * c->w, 0, s, 64 - s * 0.5f * c->h};
  memcpy(c->mat, mat, sizeof mat);
  float *img = malloc(n * 3 * sizeof *img);
  if (!img)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "bench: no memory for a %dx%d ROI", c->w, c->h);
  unsigned r = 1;
  ds_status st = DS_OK;
  cl_mem *bufs[2] = {&c->face, &c->frame};
  for (int b = 0; b < 2 && st == DS_OK; b++) {
    for (size_t i = 0; i < n * 3; i++) {
      r = r * 1664525u + 1013904223u;
      img[i] = (float)(r >> 24);
    }
    st = ds_buffer_create(c->rt, n * 3 * sizeof *img, CL_MEM_READ_WRITE, "bench image", bufs[b],
                          err);
    if (st == DS_OK) st = ds_buffer_write(c->rt, *bufs[b], 0, n * 3 * sizeof *img, img, err);
  }
  free(img);
  if (st == DS_OK)
    st = ds_buffer_create(c->rt, n * sizeof(float), CL_MEM_READ_WRITE, "bench mask", &c->mask, err);
  if (st == DS_OK)
    st = ds_buffer_create(c->rt, n * sizeof(float), CL_MEM_READ_WRITE, "bench scratch", &c->tmp,
                          err);
  /* the learned mask: on in an ellipse over the face's top half, as a
   * model draws the brows and forehead */
  float *plane = malloc(128 * 128 * sizeof *plane);
  if (!plane && st == DS_OK) st = ds_error_set(err, DS_ERR_NO_MEMORY, "bench: no memory");
  for (int i = 0; plane && i < 128 * 128; i++) {
    const float dx = (float)(i % 128) - 64, dy = (float)(i / 128) - 48;
    plane[i] = dx * dx + 2 * dy * dy < 55 * 55 ? 0.9f : 0.1f;
  }
  if (st == DS_OK)
    st = ds_buffer_create(c->rt, 128 * 128 * sizeof(float), CL_MEM_READ_WRITE, "bench plane",
                          &c->plane, err);
  if (st == DS_OK) st = ds_buffer_write(c->rt, c->plane, 0, 128 * 128 * sizeof(float), plane, err);
  free(plane);
  if (st == DS_OK)
    st = ds_mask_build(c->rt, DS_MASK_HULL, (const float(*)[2])c->landmarks, c->mat, 128, 0, 0,
                       c->w, c->h, 0, 0, c->tmp, c->mask, err);
  return st;
}

static int usage(const char *why) {
  fprintf(stderr,
          "convert_kernels: error: %s\n"
          "usage: convert_kernels [--size W[xH] (256)] [--reps N (20)] [--device SPEC]\n"
          "                       [--copy-gbs GB/S (skip measuring)] [--quiet-wait S (10)]\n",
          why);
  return 2;
}

int main(int argc, char **argv) {
  int w = 256, h = 256, reps = 20;
  double copy_gbs = 0, quiet_wait = 10;
  const char *spec = getenv("DSENGINE_DEVICE"), *origin = "DSENGINE_DEVICE";
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) return usage("an option lacks its value");
    if (!strcmp(a, "--size")) {
      if (sscanf(v, "%dx%d", &w, &h) == 1) h = w;
    } else if (!strcmp(a, "--reps"))
      reps = atoi(v);
    else if (!strcmp(a, "--device"))
      spec = v, origin = "--device";
    else if (!strcmp(a, "--copy-gbs"))
      copy_gbs = atof(v);
    else if (!strcmp(a, "--quiet-wait"))
      quiet_wait = atof(v);
    else
      return usage("unknown option");
  }
  if (w < 1 || h < 1 || w > 8192 || h > 8192) return usage("--size takes 1..8192 per side");
  if (reps < 1 || reps > MAX_REPS) return usage("--reps must be 1..1000");

  ds_error err = {0};
  bench_ctx c = {.w = w, .h = h};
  if (ds_runtime_open(&c.rt, spec, origin, 0, &err) != DS_OK) {
    fprintf(stderr, "convert_kernels: error: %s\n", err.msg);
    ds_error_clear(&err);
    return 2;
  }
  printf("device: %s (%s), %u compute units\n", c.rt->device.name, c.rt->device.platform_name,
         c.rt->device.compute_units);
  ds_bench_quiet q = ds_bench_quiet_wait(quiet_wait, 0.2);
  ds_bench_quiet_print(stdout, "machine", &q);
  ds_status st = DS_OK;
  if (copy_gbs > 0) {
    printf("copy: %.1f GB/s as given by --copy-gbs (not measured)\n", copy_gbs);
  } else {
    ds_bench_peak pk;
    st = ds_bench_peak_measure(c.rt, 5, 0.05, &pk, &err);
    if (st == DS_OK) ds_bench_peak_print(stdout, &pk), copy_gbs = pk.copy_gbs;
  }
  if (st == DS_OK) st = setup(&c, &err);

  static const op ops[] = {
      {"mask hull-rect", 1, DS_MASK_HULL_RECT, 0, 0, DS_COLOR_NONE},
      {"mask hull-rect e9 b15", 1, DS_MASK_HULL_RECT, 9, 15, DS_COLOR_NONE},
      {"mask hull e-25 b31", 1, DS_MASK_HULL, -25, 31, DS_COLOR_NONE},
      {"mask learned", 2, DS_MASK_LEARNED, 0, 0, DS_COLOR_NONE},
      {"mask learned e9 b15", 2, DS_MASK_LEARNED, 9, 15, DS_COLOR_NONE},
      {"color avg", 0, DS_MASK_HULL, 0, 0, DS_COLOR_AVG},
      {"color reinhard", 0, DS_MASK_HULL, 0, 0, DS_COLOR_REINHARD},
      {"color hist", 0, DS_MASK_HULL, 0, 0, DS_COLOR_HIST},
  };
  if (st == DS_OK)
    printf("ROI %dx%d, best (median) of %d runs, each drained with clFinish\n"
           "%-24s %10s %10s %9s %7s\n",
           w, h, reps, "op", "best ms", "median ms", "GB/s", "%copy");
  double times[MAX_REPS];
  for (size_t i = 0; i < sizeof ops / sizeof ops[0] && st == DS_OK; i++) {
    st = run_op(&c, &ops[i], &err); /* warm-up: kernel builds */
    for (int r = 0; r < reps && st == DS_OK; r++) {
      const double t0 = ds_bench_now();
      st = run_op(&c, &ops[i], &err);
      times[r] = ds_bench_now() - t0;
    }
    if (st != DS_OK) break;
    const ds_bench_stats s = ds_bench_stats_of(times, reps);
    const double gbs = op_bytes_per_pixel(&ops[i]) * w * h / s.best * 1e-9;
    printf("%-24s %10.3f %10.3f %9.2f %7.1f\n", ops[i].name, s.best * 1e3, s.median * 1e3, gbs,
           copy_gbs > 0 ? 100.0 * gbs / copy_gbs : 0.0);
  }
  if (st != DS_OK) {
    fprintf(stderr, "convert_kernels: error: %s\n", err.msg);
    if (err.detail) fprintf(stderr, "%s\n", err.detail);
  }
  ds_color_workspace_release(&c.ws);
  ds_buffer_release(&c.face);
  ds_buffer_release(&c.frame);
  ds_buffer_release(&c.mask);
  ds_buffer_release(&c.tmp);
  ds_buffer_release(&c.plane);
  ds_error_clear(&err);
  ds_runtime_destroy(c.rt);
  return st == DS_OK ? 0 : 1;
}
