/* bench/loss_kernels: each loss term (engine/nn/loss_set.h) forward and
 * backward on one batch of the model's 64 x 64 x 3 output, as milliseconds per
 * batch and against the device's measured ceilings (engine/bench/peak.h):
 * modelled memory traffic over the copy bandwidth for the elementwise terms,
 * modelled FLOPs over the FMA peak for the windowed ones.
 *
 *   loss_kernels [--batch N] [--reps R] [--device SPEC]
 *
 * Modelled work per element (positions ~ elements at 64 px):
 *   mae, mse: 12 bytes (y, t read, dy written)
 *   ssim: the separable window, 11 taps across then 11 down: forward 5
 *     moments (13 FLOPs a tap across with the squares, 10 down), backward 3
 *     maps (6 a tap, both ways): 385 FLOPs per element
 *   ms_ssim: ssim's work at each scale (1 + 1/4 + 1/16 at 64 px)
 *   gmsd: two 3 x 3 Prewitt pairs forward, 9 taps x 2 back, ~80 FLOPs */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bench/bench_util.h"
#include "engine/bench/peak.h"
#include "engine/nn/loss.h"
#include "engine/nn/loss_set.h"
#include "engine/nn/ssim.h"
#include "host/buffer.h"

static ds_status run(ds_runtime *rt, const ds_loss_term *terms, int count, unsigned n, cl_mem dy,
                     cl_mem y, cl_mem t, cl_mem maps, cl_mem part, cl_mem out, ds_error *err) {
  ds_status st = ds_loss_set_forward_backward(rt, terms, count, dy, y, t, n, 64, 64, 3, maps, part,
                                              out, 0, err);
  if (st == DS_OK) st = ds_runtime_finish(rt, err);
  return st;
}

int main(int argc, char **argv) {
  unsigned n = 16;
  int reps = 10;
  const char *spec = getenv("DSENGINE_DEVICE");
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
      n = (unsigned)atoi(argv[++i]);
    else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
      spec = argv[++i];
    else {
      fprintf(stderr, "usage: loss_kernels [--batch N] [--reps R] [--device SPEC]\n");
      return 2;
    }
  }
  if (n < 1 || reps < 1 || reps > 1000) {
    fprintf(stderr, "loss_kernels: error: --batch >= 1 and --reps 1..1000\n");
    return 2;
  }
  ds_error err = {0};
  ds_runtime *rt = NULL;
  if (ds_runtime_open(&rt, spec, "--device", 0, &err) != DS_OK) {
    fprintf(stderr, "loss_kernels: error: %s\n", err.msg);
    return 2;
  }
  printf("device: %s, batch %u of 64x64x3\n", rt->device.name, n);
  double load[3];
  if (ds_bench_loadavg(load)) printf("load average %.2f %.2f %.2f\n", load[0], load[1], load[2]);
  ds_bench_peak pk;
  ds_status st = ds_bench_peak_measure(rt, 5, 0.05, &pk, &err);
  if (st == DS_OK) ds_bench_peak_print(stdout, &pk);
  static const struct {
    const char *name;
    ds_loss_term terms[2];
    int count;
    double flops, bytes; /* per element */
  } ops[] = {
      {"mae", {{DS_LOSS_KIND_MAE, 1}}, 1, 0, 12},
      {"mse", {{DS_LOSS_KIND_MSE, 1}}, 1, 0, 12},
      {"ssim", {{DS_LOSS_KIND_SSIM, 1}}, 1, 385, 0},
      {"ms_ssim", {{DS_LOSS_KIND_MS_SSIM, 1}}, 1, 385 * 1.3125, 0},
      {"gmsd", {{DS_LOSS_KIND_GMSD, 1}}, 1, 80, 0},
      {"ssim + mse", {{DS_LOSS_KIND_SSIM, 1}, {DS_LOSS_KIND_MSE, 1}}, 2, 385, 12},
  };
  const size_t N = (size_t)n * 64 * 64 * 3;
  ds_loss_term all[4] = {{DS_LOSS_KIND_SSIM, 1}, {DS_LOSS_KIND_MS_SSIM, 1}, {DS_LOSS_KIND_GMSD, 1}};
  const size_t mf = ds_loss_set_maps_floats(all, 3, n, 64, 64, 3);
  float *host = malloc(N * sizeof *host);
  for (size_t i = 0; i < N; i++)
    host[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
  cl_mem y = NULL, t = NULL, dy = NULL, maps = NULL, part = NULL, out = NULL;
  if (st == DS_OK) st = ds_buffer_create(rt, N * 4, CL_MEM_READ_WRITE, "y", &y, &err);
  if (st == DS_OK) st = ds_buffer_create(rt, N * 4, CL_MEM_READ_WRITE, "t", &t, &err);
  if (st == DS_OK) st = ds_buffer_create(rt, N * 4, CL_MEM_READ_WRITE, "dy", &dy, &err);
  if (st == DS_OK) st = ds_buffer_create(rt, mf * 4, CL_MEM_READ_WRITE, "maps", &maps, &err);
  if (st == DS_OK)
    st = ds_buffer_create(rt, ds_loss_set_partials_floats(4) * 4, CL_MEM_READ_WRITE, "partials",
                          &part, &err);
  if (st == DS_OK) st = ds_buffer_create(rt, 4, CL_MEM_READ_WRITE, "out", &out, &err);
  if (st == DS_OK) st = ds_buffer_write(rt, y, 0, N * 4, host, &err);
  for (size_t i = 0; i < N; i++)
    host[i] = 1.0f - host[i];
  if (st == DS_OK) st = ds_buffer_write(rt, t, 0, N * 4, host, &err);
  if (st == DS_OK)
    printf("best (median) of %d runs, each drained with clFinish\n%-12s %9s %10s %9s %7s %9s %7s\n",
           reps, "term", "best ms", "median ms", "GB/s", "%copy", "GFLOP/s", "%peak");
  for (size_t o = 0; st == DS_OK && o < sizeof ops / sizeof *ops; o++) {
    double times[1000];
    st = run(rt, ops[o].terms, ops[o].count, n, dy, y, t, maps, part, out, &err); /* warm-up */
    for (int r = 0; st == DS_OK && r < reps; r++) {
      const double t0 = ds_bench_now();
      st = run(rt, ops[o].terms, ops[o].count, n, dy, y, t, maps, part, out, &err);
      times[r] = ds_bench_now() - t0;
    }
    if (st != DS_OK) break;
    ds_bench_stats s = ds_bench_stats_of(times, reps);
    const double gbs = ops[o].bytes * N / s.best / 1e9, gf = ops[o].flops * N / s.best / 1e9;
    printf("%-12s %9.2f %10.2f %9.1f %6.0f%% %9.1f %6.0f%%\n", ops[o].name, 1e3 * s.best,
           1e3 * s.median, gbs, 100 * gbs / pk.copy_gbs, gf, 100 * gf / pk.gflops);
  }
  int rc = 0;
  if (st != DS_OK) {
    fprintf(stderr, "loss_kernels: error: %s\n", err.msg);
    rc = 1;
  }
  ds_buffer_release(&y), ds_buffer_release(&t), ds_buffer_release(&dy);
  ds_buffer_release(&maps), ds_buffer_release(&part), ds_buffer_release(&out);
  free(host);
  ds_runtime_destroy(rt);
  return rc;
}
