/* Fuzzes checkpoint loading (engine/model/checkpoint.h) through a fuzzed
 * model.json. The folder also holds a small valid checkpoint's tensor files
 * (weights-1.bin, optimizer-1.bin, written once), so a model.json that names
 * them with the right CRCs reaches the tensor checks, the backup logic and
 * the returned texts. */
#include <stdio.h>
#include <string.h>

#include "engine/model/checkpoint.h"
#include "fuzz_util.h"

static void make_checkpoint(const char *dir) {
  ds_tensor_set w = {0}, o = {0};
  ds_error err = {0};
  const int64_t shape_a[2] = {3, 5}, shape_b[1] = {7};
  if (ds_tensor_set_add(&w, "enc.w", 2, shape_a, &err) ||
      ds_tensor_set_add(&w, "enc.b", 1, shape_b, &err) ||
      ds_tensor_set_add(&o, "adam.m", 1, shape_b, &err) ||
      ds_checkpoint_save(dir, 1, "{\"name\":\"fuzz\"}", "{\"step\":1}", &w, &o, &err) != DS_OK) {
    fprintf(stderr, "fuzz_checkpoint: %s\n", err.msg);
    __builtin_trap();
  }
  ds_tensor_set_free(&w);
  ds_tensor_set_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char dir[300], json[320];
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "%s/model", fuzz_scratch_dir("checkpoint"));
    make_checkpoint(dir);
    snprintf(json, sizeof json, "%s/model.json", dir);
  }
  fuzz_write_file(json, data, size);
  ds_checkpoint ck = {0};
  ds_error err = {0};
  if (ds_checkpoint_load(dir, &ck, &err) == DS_OK) {
    if (!ck.config_json || !ck.state_json || strlen(ck.warning) >= sizeof ck.warning)
      __builtin_trap();
  }
  ds_checkpoint_free(&ck);
  ds_error_clear(&err);
  return 0;
}
