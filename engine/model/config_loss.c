/* Parsing, validation and canonical JSON of a config's train.loss and
 * train.face_area. */
#include "engine/model/config_loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/loss_kind.h"

#define EXPECT                                                                                     \
  "\"mae\", \"mse\", \"ssim\", \"ms_ssim\", \"gmsd\" or a list of {\"type\": ..., \"weight\": "    \
  "...} terms"

/* The kind a term names, or -1 with the error set. */
static int read_kind(ds_json_reader *p, const cJSON *v, const char *key, int input_size) {
  char got[64];
  if (!cJSON_IsString(v)) {
    ds_json_fail_type(p, key, EXPECT, v);
    return -1;
  }
  int kind = ds_loss_from_name(v->valuestring);
  if (kind < 0) {
    ds_json_fail(p, key, "expected %s, got %s", EXPECT, ds_json_describe(v, got, sizeof got));
    return -1;
  }
  if ((kind == DS_LOSS_KIND_SSIM || kind == DS_LOSS_KIND_MS_SSIM) && input_size < DS_SSIM_WINDOW) {
    ds_json_fail(p, key,
                 "%s needs an input of at least %d pixels (its window), input.size is %d; use mae "
                 "or mse",
                 v->valuestring, DS_SSIM_WINDOW, input_size);
    return -1;
  }
  return kind;
}

ds_status ds_config_loss_read(ds_json_reader *p, const cJSON *v, int input_size,
                              ds_loss_term *terms, int *count) {
  static const char *const term_keys[] = {"type", "weight", NULL};
  char key[DS_JSON_KEY_MAX], sub[DS_JSON_KEY_MAX];
  if (cJSON_IsString(v)) {
    int kind = read_kind(p, v, "train.loss", input_size);
    if (kind < 0) return p->code;
    terms[0].kind = (ds_loss)kind;
    terms[0].weight = 1.0f;
    *count = 1;
    return DS_OK;
  }
  if (!cJSON_IsArray(v)) return ds_json_fail_type(p, "train.loss", EXPECT, v);
  const int n = cJSON_GetArraySize(v);
  if (n < 1 || n > DS_MAX_LOSS_TERMS)
    return ds_json_fail(p, "train.loss", "expected 1 to %d terms, got %d", DS_MAX_LOSS_TERMS, n);
  int i = 0;
  const cJSON *term;
  cJSON_ArrayForEach(term, v) {
    ds_json_index_key(key, "train.loss", i);
    DS_JSON_TRY(ds_json_check_object(p, term, key, term_keys));
    const cJSON *type = ds_json_member(term, "type");
    ds_json_key(sub, key, "type");
    if (!type) return ds_json_fail_type(p, sub, EXPECT, type);
    int kind = read_kind(p, type, sub, input_size);
    if (kind < 0) return p->code;
    for (int j = 0; j < i; j++)
      if ((int)terms[j].kind == kind)
        return ds_json_fail(p, sub, "\"%s\" is already term %d; give it one weight",
                            type->valuestring, j);
    const cJSON *wt = ds_json_member(term, "weight");
    double weight = 1.0;
    if (wt) {
      if (!cJSON_IsNumber(wt) || !isfinite(wt->valuedouble) || wt->valuedouble <= 0 ||
          wt->valuedouble > 1e6)
        return ds_json_fail_type(p, ds_json_key(sub, key, "weight"), "a number > 0 and <= 1e6", wt);
      weight = wt->valuedouble;
    }
    terms[i].kind = (ds_loss)kind;
    terms[i].weight = (float)weight;
    i++;
  }
  *count = n;
  return DS_OK;
}

cJSON *ds_config_loss_to_json(const ds_loss_term *terms, int count) {
  if (count == 1 && terms[0].weight == 1.0f) return cJSON_CreateString(ds_loss_name(terms[0].kind));
  cJSON *list = cJSON_CreateArray();
  for (int i = 0; list && i < count; i++) {
    cJSON *t = cJSON_CreateObject();
    if (!t || !cJSON_AddItemToArray(list, t)) {
      cJSON_Delete(t);
      cJSON_Delete(list);
      return NULL;
    }
    char num[32];
    /* the shortest decimal that reads back as the same float */
    for (int prec = 6; prec <= 9; prec++) {
      snprintf(num, sizeof num, "%.*g", prec, (double)terms[i].weight);
      if ((float)strtod(num, NULL) == terms[i].weight) break;
    }
    if (!cJSON_AddStringToObject(t, "type", ds_loss_name(terms[i].kind)) ||
        !cJSON_AddNumberToObject(t, "weight", strtod(num, NULL))) {
      cJSON_Delete(list);
      return NULL;
    }
  }
  return list;
}

/* the shortest decimal that reads back as the same float */
static double shortest_float(float f) {
  char num[32];
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(num, sizeof num, "%.*g", prec, (double)f);
    if ((float)strtod(num, NULL) == f) break;
  }
  return strtod(num, NULL);
}

ds_status ds_config_face_area_read(ds_json_reader *p, const cJSON *v, float *background,
                                   float *eyes, float *mouth) {
  static const char *const keys[] = {"background", "eyes", "mouth", NULL};
  float *out[] = {background, eyes, mouth};
  const float defaults[] = {0.0f, 3.0f, 2.0f};
  char key[DS_JSON_KEY_MAX];
  DS_JSON_TRY(ds_json_check_object(p, v, "train.face_area", keys));
  for (int i = 0; i < 3; i++) {
    const cJSON *x = ds_json_member(v, keys[i]);
    *out[i] = defaults[i];
    if (!x) continue;
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) || x->valuedouble < 0 ||
        x->valuedouble > 100)
      return ds_json_fail_type(p, ds_json_key(key, "train.face_area", keys[i]),
                               "a number in [0, 100] (the face inside the hull weighs 1)", x);
    *out[i] = (float)x->valuedouble;
  }
  return DS_OK;
}

cJSON *ds_config_face_area_to_json(float background, float eyes, float mouth) {
  cJSON *o = cJSON_CreateObject();
  if (o && (!cJSON_AddNumberToObject(o, "background", shortest_float(background)) ||
            !cJSON_AddNumberToObject(o, "eyes", shortest_float(eyes)) ||
            !cJSON_AddNumberToObject(o, "mouth", shortest_float(mouth)))) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}
