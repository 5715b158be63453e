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

static ds_status bad(ds_error *err, const char *file, const char *key, const char *what) {
  return ds_error_set(err, DS_ERR_INVALID, "%s: %s: %s", file, key, what);
}

static int read_kind(const cJSON *v, const char *file, const char *key, int input_size,
                     ds_error *err) {
  char what[160];
  if (!cJSON_IsString(v)) {
    bad(err, file, key, "expected " EXPECT);
    return -1;
  }
  int kind = ds_loss_from_name(v->valuestring);
  if (kind < 0) {
    snprintf(what, sizeof what, "expected %s, got \"%.32s\"", EXPECT, v->valuestring);
    bad(err, file, key, what);
    return -1;
  }
  if ((kind == DS_LOSS_KIND_SSIM || kind == DS_LOSS_KIND_MS_SSIM) && input_size < DS_SSIM_WINDOW) {
    snprintf(what, sizeof what,
             "%s needs an input of at least %d pixels (its window), input.size is %d; use mae "
             "or mse",
             v->valuestring, DS_SSIM_WINDOW, input_size);
    bad(err, file, key, what);
    return -1;
  }
  return kind;
}

ds_status ds_config_loss_read(const cJSON *v, const char *file, int input_size, ds_loss_term *terms,
                              int *count, ds_error *err) {
  char key[64], what[160];
  if (cJSON_IsString(v)) {
    int kind = read_kind(v, file, "train.loss", input_size, err);
    if (kind < 0) return DS_ERR_INVALID;
    terms[0].kind = (ds_loss)kind;
    terms[0].weight = 1.0f;
    *count = 1;
    return DS_OK;
  }
  if (!cJSON_IsArray(v)) return bad(err, file, "train.loss", "expected " EXPECT);
  const int n = cJSON_GetArraySize(v);
  if (n < 1 || n > DS_MAX_LOSS_TERMS) {
    snprintf(what, sizeof what, "expected 1 to %d terms, got %d", DS_MAX_LOSS_TERMS, n);
    return bad(err, file, "train.loss", what);
  }
  int i = 0;
  const cJSON *term;
  cJSON_ArrayForEach(term, v) {
    snprintf(key, sizeof key, "train.loss[%d]", i);
    if (!cJSON_IsObject(term))
      return bad(err, file, key, "expected an object {\"type\": ..., \"weight\": ...}");
    const cJSON *f;
    cJSON_ArrayForEach(f, term) {
      if (strcmp(f->string, "type") != 0 && strcmp(f->string, "weight") != 0) {
        snprintf(what, sizeof what, "unknown key \"%.32s\"; a term has \"type\" and \"weight\"",
                 f->string);
        return bad(err, file, key, what);
      }
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(term, "type");
    snprintf(key, sizeof key, "train.loss[%d].type", i);
    if (!type) return bad(err, file, key, "missing required key; expected " EXPECT);
    int kind = read_kind(type, file, key, input_size, err);
    if (kind < 0) return DS_ERR_INVALID;
    for (int j = 0; j < i; j++)
      if ((int)terms[j].kind == kind) {
        snprintf(what, sizeof what, "\"%s\" is already term %d; give it one weight",
                 type->valuestring, j);
        return bad(err, file, key, what);
      }
    const cJSON *wt = cJSON_GetObjectItemCaseSensitive(term, "weight");
    double weight = 1.0;
    snprintf(key, sizeof key, "train.loss[%d].weight", i);
    if (wt) {
      if (!cJSON_IsNumber(wt) || !isfinite(wt->valuedouble) || wt->valuedouble <= 0 ||
          wt->valuedouble > 1e6)
        return bad(err, file, key, "expected a number > 0 and <= 1e6");
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

ds_status ds_config_face_area_read(const cJSON *v, const char *file, float *background, float *eyes,
                                   float *mouth, ds_error *err) {
  static const char *const keys[] = {"background", "eyes", "mouth"};
  float *out[] = {background, eyes, mouth};
  const float defaults[] = {0.0f, 3.0f, 2.0f};
  char key[64], what[160];
  if (!cJSON_IsObject(v))
    return bad(err, file, "train.face_area",
               "expected an object {\"background\": 0, \"eyes\": 3, \"mouth\": 2}");
  const cJSON *f;
  cJSON_ArrayForEach(f, v) {
    int known = 0;
    for (int i = 0; i < 3; i++)
      known |= strcmp(f->string, keys[i]) == 0;
    if (!known) {
      snprintf(what, sizeof what,
               "unknown key \"%.32s\"; face_area has \"background\", \"eyes\", \"mouth\"",
               f->string);
      return bad(err, file, "train.face_area", what);
    }
  }
  for (int i = 0; i < 3; i++) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(v, keys[i]);
    *out[i] = defaults[i];
    if (!x) continue;
    snprintf(key, sizeof key, "train.face_area.%s", keys[i]);
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) || x->valuedouble < 0 ||
        x->valuedouble > 100)
      return bad(err, file, key,
                 "expected a number in [0, 100] (the face inside the hull weighs 1)");
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
