/* Helpers shared by the fuzz harnesses: most parsers read a path, so the
 * input goes to a scratch file first. The scratch lives in /dev/shm when it
 * exists (no disk traffic at thousands of runs a second), named by process
 * id so that parallel fuzzers do not collide. */
#ifndef DS_TESTS_FUZZ_UTIL_H
#define DS_TESTS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A scratch folder for this process, created once: "<shm or tmp>/dsfuzz-<tag>-<pid>". */
static inline const char *fuzz_scratch_dir(const char *tag) {
  static char dir[256];
  if (!dir[0]) {
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/dsfuzz-%s-%ld", base, tag, (long)getpid());
    if (mkdir(dir, 0700) != 0 && stat(dir, &st) != 0) abort();
  }
  return dir;
}

/* Writes data to path (replacing it); aborts when it cannot, since a harness
 * that silently tests nothing is worse than one that stops. */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    fprintf(stderr, "fuzz: cannot write %s\n", path);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
