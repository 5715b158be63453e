/* Fuzzes the binary program cache reader (host/program_cache.h) on whole
 * files: a file either loads as a program binary or is refused as corrupt
 * (never another outcome, never a crash); a binary that loads is stored
 * again and must load back byte for byte. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "host/program_cache.h"

/* the key the seed corpus was written with (tests/fuzz/make_cache_corpus.py) */
static const char key[] = "fuzz|device|driver|-cl-std=CL1.2|0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *dir = fuzz_scratch_dir("progcache");
  char path[1280];
  ds_program_cache_path(dir, key, path, sizeof path);
  fuzz_write_file(path, data, size);
  unsigned char *bin = NULL;
  size_t len = 0;
  ds_error err = {0};
  ds_status st = ds_program_cache_load(dir, key, &bin, &len, &err);
  if (st != DS_OK && st != DS_ERR_CORRUPT) abort();
  if (st == DS_OK) {
    if (!bin) abort();
    if (ds_program_cache_store(dir, key, bin, len, &err) != DS_OK) abort();
    unsigned char *again = NULL;
    size_t len2 = 0;
    if (ds_program_cache_load(dir, key, &again, &len2, &err) != DS_OK) abort();
    if (len2 != len || memcmp(again, bin, len) != 0) abort();
    free(again);
  } else if (bin || len) {
    abort(); /* a refused file hands out nothing */
  }
  free(bin);
  ds_error_clear(&err);
  return 0;
}
