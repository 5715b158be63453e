/* bench/peak: prints the device's measured FMA peak and copy bandwidth, the
 * ceilings other benchmarks report their ratios against.
 *
 *   build/bench/peak [--device SPEC] [--reps N] [--seconds S] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "bench/peak.h"

static int usage(const char *why) {
  fprintf(stderr,
          "peak: error: %s\nusage: peak [--device SPEC] [--reps N (5)] [--seconds S per launch "
          "(0.05)] [--quiet-wait S (10)]\n",
          why);
  return 2;
}

int main(int argc, char **argv) {
  const char *spec = getenv("DSENGINE_DEVICE"), *origin = "DSENGINE_DEVICE";
  int reps = 5;
  double seconds = 0.05, quiet_wait = 10;
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--device") && v)
      spec = v, origin = "--device", i++;
    else if (!strcmp(argv[i], "--reps") && v)
      reps = atoi(v), i++;
    else if (!strcmp(argv[i], "--seconds") && v)
      seconds = atof(v), i++;
    else if (!strcmp(argv[i], "--quiet-wait") && v)
      quiet_wait = atof(v), i++;
    else
      return usage("unknown option or missing value");
  }
  if (reps < 1 || seconds <= 0) return usage("--reps and --seconds must be positive");

  ds_error err = {0};
  ds_runtime *rt = NULL;
  if (ds_runtime_open(&rt, spec, origin, 0, &err) != DS_OK) {
    fprintf(stderr, "peak: error: %s\n", err.msg);
    ds_error_clear(&err);
    return 2;
  }
  printf("device: %s (%s), %u compute units\n", rt->device.name, rt->device.platform_name,
         rt->device.compute_units);
  bench_quiet q = bench_quiet_wait(quiet_wait, 0.2);
  bench_quiet_print(stdout, "before", &q);
  bench_peak p;
  ds_status st = bench_peak_measure(rt, reps, seconds, &p, &err);
  if (st == DS_OK) {
    bench_peak_print(stdout, &p);
    q.busy = bench_cpu_busy(0.25);
    bench_loadavg(q.load);
    q.quiet = q.busy >= 0 && q.busy < 0.2;
    q.waited = 0;
    bench_quiet_print(stdout, "after", &q);
  } else {
    fprintf(stderr, "peak: error: %s\n", err.msg);
    if (err.detail) fprintf(stderr, "%s\n", err.detail);
  }
  ds_error_clear(&err);
  ds_runtime_destroy(rt);
  return st == DS_OK ? 0 : 1;
}
