/* Fuzzes the tuning file reader (host/tune_cache.h) on whole files. Every
 * entry it accepts must be well formed (a key and a value, each non-empty,
 * within its size, printable, the key without '=' or a leading space),
 * and the file written back from what was read must read back as the same
 * entries in the same order. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "host/tune_cache.h"

static void fake_runtime(ds_runtime *rt) {
  memset(rt, 0, sizeof *rt);
  snprintf(rt->cache_dir, sizeof rt->cache_dir, "%s", fuzz_scratch_dir("tune"));
  snprintf(rt->device.name, sizeof rt->device.name, "fuzz device");
  snprintf(rt->device.driver_version, sizeof rt->device.driver_version, "1.0");
  rt->tune = 1;
}

static void check_entries(const ds_runtime *rt) {
  for (int i = 0; i < rt->tune_count; i++) {
    const ds_tune_entry *e = &rt->tune_entries[i];
    size_t k = strnlen(e->key, DS_TUNE_KEY_MAX), v = strnlen(e->value, DS_TUNE_VALUE_MAX);
    if (k == 0 || k >= DS_TUNE_KEY_MAX || v == 0 || v >= DS_TUNE_VALUE_MAX) abort();
    if (strstr(e->key, " = ") || strpbrk(e->key, "\n\r") || strpbrk(e->value, "\n\r")) abort();
    if (e->key[0] == '#' || e->key[0] == ' ' || strchr(e->key, '=')) abort();
    for (int j = 0; j < i; j++)
      if (!strcmp(rt->tune_entries[j].key, e->key)) abort(); /* one entry per key */
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ds_runtime rt, back;
  fake_runtime(&rt);
  char path[DS_PATH_MAX + 64];
  ds_tune_path(&rt, path, sizeof path);
  fuzz_write_file(path, data, size);
  ds_tune_get(&rt, "gemm 1x1x1"); /* loads the file */
  check_entries(&rt);

  /* write what was read (a put rewrites the whole file), then read it again */
  if (rt.tune_count > 0) {
    ds_tune_entry first = rt.tune_entries[0];
    int written = 0;
    ds_tune_put(&rt, first.key, first.value, &written);
    if (!written) abort();
    fake_runtime(&back);
    ds_tune_get(&back, first.key);
    if (back.tune_count != rt.tune_count) abort();
    for (int i = 0; i < rt.tune_count; i++)
      if (strcmp(back.tune_entries[i].key, rt.tune_entries[i].key) ||
          strcmp(back.tune_entries[i].value, rt.tune_entries[i].value))
        abort();
    ds_tune_release(&back);
  }
  ds_tune_release(&rt);
  return 0;
}
