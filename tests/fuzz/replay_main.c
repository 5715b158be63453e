/* Replays fuzz inputs without libFuzzer: calls LLVMFuzzerTestOneInput on
 * every file of each folder (or on each file) given, in name order. ctest
 * uses it to run the corpora and the regression inputs on every build, with
 * the normal compiler; a crash or sanitizer report fails the test. Files
 * whose names start with '.' are skipped (.keep holds an empty folder in
 * git). An input that takes the process past 1 GiB of resident memory
 * fails too, as libFuzzer's -rss_limit_mb would (a parser must refuse what
 * it cannot hold, not allocate it). Usage: fuzz_replay_<name> PATH...  */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fuzz_util.h"

enum { RSS_LIMIT_KB = 1 << 20 };

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: cannot open\n", path);
    return 1;
  }
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (!buf) abort();
    len += fread(buf + len, 1, cap - len, f);
    if (len < cap) break;
    buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, len);
  free(buf);
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_maxrss > RSS_LIMIT_KB) {
    fprintf(stderr, "%s: peak resident memory %ld MiB, over the %d MiB limit\n", path,
            ru.ru_maxrss >> 10, RSS_LIMIT_KB >> 10);
    return 1;
  }
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  int files = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "%s: no such file or folder\n", argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (run_file(argv[i])) return 1;
      files++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) return 1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
      if (e->d_name[0] == '.') continue;
      if (n == cap) names = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
      if (!names || !(names[n++] = strdup(e->d_name))) abort();
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, by_name);
    for (size_t k = 0; k < n; k++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], names[k]);
      if (run_file(path)) return 1; /* the memory high-water mark stays up */
      files++;
      free(names[k]);
    }
    free(names);
  }
  printf("replayed %d inputs\n", files);
  return 0;
}
