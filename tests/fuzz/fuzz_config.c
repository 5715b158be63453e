/* Fuzzes the model config parser (engine/model/config.h) on JSON text, and
 * the canonical JSON of every config it accepts, which must parse back. */
#include <stdlib.h>
#include <string.h>

#include "engine/model/config.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  ds_model_config cfg, back;
  ds_error err = {0};
  if (ds_model_config_parse(text, "fuzz.json", &cfg, &err) == DS_OK) {
    int64_t enc, dec;
    ds_model_param_count(&cfg, &enc, &dec);
    char *json = ds_model_config_to_json(&cfg);
    if (json) {
      ds_error err2 = {0};
      if (ds_model_config_parse(json, "canonical", &back, &err2) != DS_OK ||
          !ds_model_config_same_network(&cfg, &back, NULL, 0))
        abort(); /* canonical JSON must read back as the same network */
      ds_error_clear(&err2);
      free(json);
    }
  }
  ds_error_clear(&err);
  free(text);
  return 0;
}
