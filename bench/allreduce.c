/* The gradient all-reduce of data-parallel training (engine/train/parallel.h)
 * between MPI ranks, at the sizes of one identity step of a model (encoder +
 * one decoder, float32), in the trainer's 25 MB buckets: time, algorithm
 * bandwidth S/t and bus bandwidth 2(p-1)/p S/t (what a ring moves per rank),
 * and the host cost of summing two local replicas' gradients.
 * --blocking: plain MPI_Allreduce per bucket instead, for comparison.
 * usage: mpirun -np 2 allreduce [--reps N] [--blocking] CONFIG... */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/dist/comm.h"
#include "engine/model/model.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  ds_error err = {0};
  ds_comm *comm;
  if (ds_comm_create(&comm, &argc, &argv, &err) != DS_OK) {
    fprintf(stderr, "allreduce: %s\n", err.msg);
    return 1;
  }
  const int rank = ds_comm_rank(comm), p = ds_comm_size(comm);
  int reps = 5, first = 1, blocking = 0;
  for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++)
    if (strcmp(argv[first], "--reps") == 0 && first + 1 < argc)
      reps = atoi(argv[++first]);
    else if (strcmp(argv[first], "--blocking") == 0)
      blocking = 1;
  if (reps < 1) reps = 1;
  if (rank == 0)
    printf("%s%s\n%-10s %12s %10s %10s %12s %12s %14s\n", ds_comm_describe(comm),
           blocking ? ", blocking MPI_Allreduce" : ", MPI_Iallreduce as the trainer", "model",
           "gradient MB", "buckets", "best ms", "median ms", "algo GB/s", "bus GB/s, sum2");

  const size_t bucket = (size_t)25e6 / 4;
  for (int a = first; a < argc; a++) {
    ds_model_config cfg;
    if (ds_model_config_load(argv[a], &cfg, &err) != DS_OK) {
      fprintf(stderr, "allreduce: %s\n", err.msg);
      return 1;
    }
    ds_model m;
    ds_model_build(&m, &cfg);
    const size_t n = m.enc_param_end + (m.dec_param_end[0] - m.dec_param_begin[0]);
    float *g = malloc(n * sizeof *g), *h = malloc(n * sizeof *h), *s = malloc(n * sizeof *s);
    double *t = calloc((size_t)reps, sizeof *t);
    for (size_t i = 0; i < n; i++)
      g[i] = h[i] = (float)(i % 1000) * 1e-6f;
    int buckets = 0;
    for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
      ds_comm_max_int(comm, &buckets, &err);
      const double t0 = now_s();
      buckets = 0;
      for (size_t e = n; e > 0; buckets++) {
        const size_t b = e > bucket ? e - bucket : 0;
        if (blocking) {
          if (MPI_Allreduce(MPI_IN_PLACE, g + b, (int)(e - b), MPI_FLOAT, MPI_SUM,
                            MPI_COMM_WORLD) != MPI_SUCCESS)
            return 1;
        } else if (ds_comm_sum_f32(comm, g + b, e - b, &err) != DS_OK) {
          fprintf(stderr, "allreduce: %s\n", err.msg);
          return 1;
        }
        e = b;
      }
      if (r >= 0) t[r] = now_s() - t0;
    }
    /* the trainer's local sum of two replicas, share-weighted */
    const double s0 = now_s();
    for (size_t i = 0; i < n; i++)
      s[i] = 0.5f * g[i];
    for (size_t i = 0; i < n; i++)
      s[i] += 0.5f * h[i];
    const double sum2 = now_s() - s0;
    qsort(t, (size_t)reps, sizeof *t, by_value);
    const double bytes = 4.0 * (double)n;
    if (rank == 0)
      printf("%-10s %12.1f %10d %10.1f %12.1f %12.2f %12.2f, %.1f ms\n", cfg.name, bytes / 1e6,
             buckets, t[0] * 1e3, t[reps / 2] * 1e3, bytes / t[0] / 1e9,
             2.0 * (p - 1) / p * bytes / t[0] / 1e9, sum2 * 1e3);
    free(g), free(h), free(s), free(t);
  }
  ds_comm_destroy(comm, 1);
  return 0;
}
