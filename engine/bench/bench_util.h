/* Timing helpers shared by the benchmarks: a monotonic clock, the best and
 * median of repeated samples, and a quiet-machine check.
 *
 * The machine the project shares has 2 noisy cores (CONTRIBUTING.md): any
 * other busy process halves a result. So every benchmark waits a little for
 * the CPUs to go quiet, prints the load it ran under, repeats each
 * measurement and reports the best (the least disturbed) run. */
#ifndef DS_ENGINE_BENCH_UTIL_H
#define DS_ENGINE_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double ds_bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void ds_bench_sleep(double seconds) {
  struct timespec ts;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  nanosleep(&ts, NULL);
}

static inline int ds_bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct ds_bench_stats {
  double best, median, mean; /* seconds */
  int n;
} ds_bench_stats;

/* Sorts t in place. */
static inline ds_bench_stats ds_bench_stats_of(double *t, int n) {
  ds_bench_stats s = {0, 0, 0, n};
  if (n <= 0) return s;
  qsort(t, (size_t)n, sizeof *t, ds_bench_cmp_double);
  s.best = t[0];
  s.median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
  for (int i = 0; i < n; i++)
    s.mean += t[i];
  s.mean /= n;
  return s;
}

/* The 1, 5 and 15 minute load averages; 0 when /proc/loadavg is unreadable. */
static inline int ds_bench_loadavg(double load[3]) {
  load[0] = load[1] = load[2] = 0;
  FILE *f = fopen("/proc/loadavg", "r");
  if (!f) return 0;
  int ok = fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) == 3;
  fclose(f);
  return ok;
}

/* Busy and total jiffies of all CPUs together (the first line of /proc/stat). */
static inline int ds_bench_cpu_jiffies(unsigned long long *busy, unsigned long long *total) {
  unsigned long long v[8] = {0};
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return 0;
  int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (got < 4) return 0;
  *total = 0;
  for (int i = 0; i < 8; i++)
    *total += v[i];
  *busy = *total - v[3] - v[4]; /* idle and iowait */
  return 1;
}

/* Fraction of all CPUs busy over the next `seconds`; -1 when unknown. The
 * load average lags by a minute, so the quiet check samples this instead. */
static inline double ds_bench_cpu_busy(double seconds) {
  unsigned long long b0, t0, b1, t1;
  if (!ds_bench_cpu_jiffies(&b0, &t0)) return -1;
  ds_bench_sleep(seconds);
  if (!ds_bench_cpu_jiffies(&b1, &t1) || t1 <= t0) return -1;
  return (double)(b1 - b0) / (double)(t1 - t0);
}

typedef struct ds_bench_quiet {
  double load[3];
  double busy;   /* fraction of all CPUs busy in the last sample, -1 unknown */
  double waited; /* seconds spent waiting */
  int quiet;     /* busy fell below the threshold */
} ds_bench_quiet;

/* Waits up to max_wait seconds for the CPUs to be less than `threshold`
 * busy (0.2 = 20 % of all cores), then reads the load average. Never fails:
 * a machine that stays busy is reported, not refused. */
static inline ds_bench_quiet ds_bench_quiet_wait(double max_wait, double threshold) {
  ds_bench_quiet q;
  memset(&q, 0, sizeof q);
  const double start = ds_bench_now();
  for (;;) {
    q.busy = ds_bench_cpu_busy(0.25);
    q.waited = ds_bench_now() - start;
    if (q.busy < 0 || q.busy < threshold) {
      q.quiet = q.busy >= 0;
      break;
    }
    if (q.waited >= max_wait) break;
  }
  ds_bench_loadavg(q.load);
  return q;
}

static inline void ds_bench_quiet_print(FILE *out, const char *what, const ds_bench_quiet *q) {
  fprintf(out, "%s: load average %.2f %.2f %.2f, CPUs %s%.0f %% busy%s", what, q->load[0],
          q->load[1], q->load[2], q->busy < 0 ? "? " : "", q->busy < 0 ? 0.0 : 100.0 * q->busy,
          q->quiet ? "" : " (NOT quiet: expect lower numbers)");
  if (q->waited >= 0.5) fprintf(out, " after waiting %.1f s", q->waited);
  fputc('\n', out);
}

#endif
