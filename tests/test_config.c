/* Model configs: the three shipped files, parameter counts against
 * shared/reference/original-model.md §1.4, canonical JSON round trips, and
 * bad input, each of which must be refused with a one-line message naming
 * the file and the key. Usage: test_config REPO_ROOT */
#include <stdlib.h>

#include "check.h"
#include "engine/model/config.h"

static const char *root_dir = ".";

/* A valid config on one line; bad inputs are small edits of it. */
static const char BASE[] =
    "{\"name\": \"t\", \"input\": {\"size\": 64, \"channels\": 3}, "
    "\"encoder\": {\"conv\": [128, 256, 512, 1024], \"kernel\": 5, \"dense\": 1024, "
    "\"bottleneck\": [4, 4, 1024], \"upscale\": 512}, "
    "\"decoder\": {\"upscale\": [256, 128, 64], \"out_kernel\": 5}, \"decoders\": [\"A\", \"B\"], "
    "\"train\": {\"batch\": 64, \"loss\": \"mae\", \"optimizer\": {\"type\": \"adam\", \"lr\": "
    "5e-5, \"beta1\": 0.5, \"beta2\": 0.999, \"epsilon\": 1e-7}, \"augment\": {\"rotation\": 10, "
    "\"zoom\": 0.05, \"shift\": 0.05, \"flip\": 0.4, \"warp\": true}}, "
    "\"run\": {\"iterations\": 10, \"save_every\": 5}}";

static int load(const char *file, ds_model_config *cfg) {
  char path[1024];
  ds_error err = {0};
  snprintf(path, sizeof path, "%s/configs/%s", root_dir, file);
  ds_status st = ds_model_config_load(path, cfg, &err);
  CHECK(st == DS_OK, "loading %s: %s", path, err.msg);
  ds_error_clear(&err);
  return st == DS_OK;
}

static int same_loss(const ds_model_config *a, const ds_model_config *b) {
  if (a->loss_count != b->loss_count) return 0;
  for (int i = 0; i < a->loss_count; i++)
    if (a->loss[i].kind != b->loss[i].kind || a->loss[i].weight != b->loss[i].weight) return 0;
  return 1;
}

static int is_mae(const ds_model_config *c) {
  return c->loss_count == 1 && c->loss[0].kind == DS_LOSS_KIND_MAE && c->loss[0].weight == 1.0f;
}

static int same_config(const ds_model_config *a, const ds_model_config *b) {
  return ds_model_config_same_network(a, b, NULL, 0) && strcmp(a->name, b->name) == 0 &&
         a->batch == b->batch && same_loss(a, b) && a->lr == b->lr && a->beta1 == b->beta1 &&
         a->beta2 == b->beta2 && a->epsilon == b->epsilon && a->rotation == b->rotation &&
         a->zoom == b->zoom && a->shift == b->shift && a->flip == b->flip && a->warp == b->warp &&
         a->run.iterations == b->run.iterations && a->run.minutes == b->run.minutes &&
         a->run.save_every == b->run.save_every && a->run.preview_every == b->run.preview_every &&
         a->run.has_iterations == b->run.has_iterations &&
         a->run.has_minutes == b->run.has_minutes && a->mask_weight == b->mask_weight;
}

static void test_shipped(void) {
  ds_model_config orig, low, tiny, tiny_ssim;
  if (!load("original.json", &orig) || !load("lowmem.json", &low) || !load("tiny.json", &tiny) ||
      !load("tiny-ssim.json", &tiny_ssim))
    return;
  /* the CPU main job's config: tiny's network and run, SSIM + MSE */
  CHECK(ds_model_config_same_network(&tiny_ssim, &tiny, NULL, 0) &&
            tiny_ssim.run.iterations == tiny.run.iterations &&
            tiny_ssim.run.minutes == tiny.run.minutes && tiny_ssim.loss_count == 2 &&
            tiny_ssim.loss[0].kind == DS_LOSS_KIND_SSIM &&
            tiny_ssim.loss[1].kind == DS_LOSS_KIND_MSE,
        "tiny-ssim is tiny with ssim + mse");
  int64_t enc = 0, dec = 0;
  CHECK(ds_model_param_count(&orig, &enc, &dec) == 82062470, "original total");
  CHECK(enc == 69662976 && dec == 6199747, "original split %lld + %lld", (long long)enc,
        (long long)dec);
  CHECK(ds_model_param_count(&low, &enc, &dec) == 60565126, "lowmem total");
  CHECK(enc == 48165632 && dec == 6199747, "lowmem split %lld + %lld", (long long)enc,
        (long long)dec);
  CHECK(ds_model_param_count(&tiny, NULL, NULL) == 2349222, "tiny total %lld",
        (long long)ds_model_param_count(&tiny, NULL, NULL));

  CHECK(strcmp(orig.name, "original") == 0 && orig.input_size == 64 && orig.input_channels == 3,
        "original input");
  CHECK(orig.enc_conv_count == 4 && orig.enc_conv[3] == 1024 && orig.kernel == 5, "orig conv");
  CHECK(orig.dec_upscale_count == 3 && orig.dec_upscale[2] == 64 && orig.out_kernel == 5, "dec");
  CHECK(orig.decoder_count == 2 && ds_model_identity_index(&orig, "B") == 1 &&
            ds_model_identity_index(&orig, "C") == -1,
        "identities");
  CHECK(orig.batch == 64 && is_mae(&orig) && orig.lr == 5e-5f && orig.beta1 == 0.5f &&
            orig.beta2 == 0.999f && orig.epsilon == 1e-7f,
        "original train");
  CHECK(orig.rotation == 10.0f && orig.zoom == 0.05f && orig.shift == 0.05f && orig.flip == 0.4f &&
            orig.warp == 1,
        "original augment");
  CHECK(!orig.run.has_iterations && !orig.run.has_minutes && orig.run.save_every == 100 &&
            orig.run.preview_every == 100,
        "original run defaults");
  CHECK(low.run.has_iterations && low.run.iterations == 2000 && low.run.has_minutes &&
            low.run.minutes == 30.0 && low.run.save_every == 100,
        "lowmem run");
  CHECK(tiny.batch == 16 && tiny.run.iterations == 2500 && tiny.run.minutes == 13.0, "tiny");

  /* canonical JSON: parses back to the same config and is a fixed point */
  const ds_model_config *all[] = {&orig, &low, &tiny};
  for (int i = 0; i < 3; i++) {
    char *json = ds_model_config_to_json(all[i]);
    ds_model_config back;
    ds_error err = {0};
    CHECK(json != NULL, "to_json");
    if (!json) continue;
    CHECK_OK(ds_model_config_parse(json, "canonical", &back, &err), &err);
    CHECK(same_config(all[i], &back), "%s does not round-trip:\n%s", all[i]->name, json);
    char *again = ds_model_config_to_json(&back);
    CHECK(again && strcmp(json, again) == 0, "%s: canonical JSON is not a fixed point",
          all[i]->name);
    CHECK(strstr(json, "mask") == NULL, "%s: a mask key without decoder.mask", all[i]->name);
    /* the shortest exact form, not 4.99999987e-05 */
    CHECK_CONTAINS(json, i == 2 ? "0.0002" : "5e-05");
    free(again);
    free(json);
  }

  char why[256];
  CHECK(ds_model_config_same_network(&orig, &orig, why, sizeof why) && why[0] == '\0', "self");
  ds_model_config other = orig;
  other.batch = 8;
  other.lr = 1e-4f;
  snprintf(other.name, sizeof other.name, "renamed");
  CHECK(ds_model_config_same_network(&other, &orig, why, sizeof why), "train is not network");
  other.dense = 512;
  CHECK(!ds_model_config_same_network(&other, &orig, why, sizeof why), "dense changed");
  CHECK(strcmp(why, "encoder.dense: 512 here, 1024 in the model") == 0, "why: %s", why);
  CHECK(!ds_model_config_same_network(&low, &orig, why, sizeof why), "lowmem vs original");
  CHECK(strcmp(why, "encoder.conv: [128, 256, 512] here, [128, 256, 512, 1024] in the model") == 0,
        "why: %s", why);
  other = orig;
  snprintf(other.decoders[1], sizeof other.decoders[1], "C");
  CHECK(!ds_model_config_same_network(&other, &orig, why, sizeof why), "decoders changed");
  CHECK_CONTAINS(why, "decoders: [\"A\", \"C\"] here");
}

/* Omitted train and run keys take the original's values. */
static void test_defaults(void) {
  const char *text = "{\"name\": \"d\", \"input\": {\"size\": 64, \"channels\": 3},"
                     " \"encoder\": {\"conv\": [8], \"kernel\": 3, \"dense\": 4,"
                     " \"bottleneck\": [8, 8, 2], \"upscale\": 4},"
                     " \"decoder\": {\"upscale\": [4, 4], \"out_kernel\": 1},"
                     " \"decoders\": [\"alice_1\", \"Bob-2\", \"c\"],"
                     " \"train\": {\"optimizer\": {}, \"augment\": {\"warp\": false}}}";
  ds_model_config c;
  ds_error err = {0};
  CHECK_OK(ds_model_config_parse(text, "defaults.json", &c, &err), &err);
  if (err.code) return;
  CHECK(c.batch == 64 && is_mae(&c) && c.lr == 5e-5f && c.beta1 == 0.5f && c.beta2 == 0.999f &&
            c.epsilon == 1e-7f && c.rotation == 10.0f && c.zoom == 0.05f && c.shift == 0.05f &&
            c.flip == 0.4f && c.warp == 0,
        "defaults");
  CHECK(!c.run.has_iterations && !c.run.has_minutes && c.run.save_every == 100, "run defaults");
  CHECK(c.decoder_count == 3 && ds_model_identity_index(&c, "Bob-2") == 1, "identities");
  int64_t enc, dec;
  /* conv 64 -> 32, so dense0 sees 32*32*8 inputs; upscales start from bottleneck c = 2 */
  int64_t want_enc = (9 * 3 * 8 + 8) + (32 * 32 * 8 * 4 + 4) + (4 * 128 + 128) + (9 * 2 * 16 + 16);
  int64_t want_dec = (9 * 4 * 16 + 16) * 2 + (1 * 4 * 3 + 3);
  CHECK(ds_model_param_count(&c, &enc, &dec) == want_enc + 3 * want_dec, "count");
  CHECK(enc == want_enc && dec == want_dec, "split %lld %lld", (long long)enc, (long long)dec);

  /* run.minutes is a double and may be fractional; mse is the other loss */
  char *json = ds_model_config_to_json(&c);
  CHECK(json && strstr(json, "\"iterations\"") == NULL, "absent iterations stay absent");
  free(json);
  c.loss[0].kind = DS_LOSS_KIND_MSE;
  c.run.minutes = 2.75;
  c.run.has_minutes = 1;
  json = ds_model_config_to_json(&c);
  ds_model_config back;
  CHECK_OK(ds_model_config_parse(json, "canonical", &back, &err), &err);
  CHECK(same_config(&c, &back), "mse and minutes round trip");
  free(json);

  /* a list of weighted terms round-trips; one term of weight 1 stays a name */
  c.loss[0] = (ds_loss_term){DS_LOSS_KIND_SSIM, 1.0f};
  c.loss[1] = (ds_loss_term){DS_LOSS_KIND_MSE, 0.3f};
  c.loss[2] = (ds_loss_term){DS_LOSS_KIND_GMSD, 2.5f};
  c.loss_count = 3;
  json = ds_model_config_to_json(&c);
  CHECK(json && strstr(json, "\"ssim\"") && strstr(json, "0.3"), "terms written: %s", json);
  CHECK_OK(ds_model_config_parse(json, "canonical", &back, &err), &err);
  CHECK(same_config(&c, &back), "loss terms round trip");
  CHECK(back.face_area.on == 0, "face_area is off unless given");
  free(json);
  c.face_area.on = 1, c.face_area.background = 0.1f, c.face_area.eyes = 3, c.face_area.mouth = 2;
  json = ds_model_config_to_json(&c);
  CHECK_OK(ds_model_config_parse(json, "canonical", &back, &err), &err);
  CHECK(back.face_area.on && back.face_area.background == 0.1f && back.face_area.eyes == 3.0f &&
            back.face_area.mouth == 2.0f,
        "face_area round trip: %s", json);
  free(json);
  const char *list = "{\"name\": \"l\", \"input\": {\"size\": 16, \"channels\": 3},"
                     " \"encoder\": {\"conv\": [8], \"kernel\": 3, \"dense\": 4,"
                     " \"bottleneck\": [4, 4, 2], \"upscale\": 4},"
                     " \"decoder\": {\"upscale\": [4], \"out_kernel\": 1},"
                     " \"decoders\": [\"A\", \"B\"],"
                     " \"train\": {\"loss\": [{\"type\": \"ssim\"}, {\"type\": \"mae\", "
                     "\"weight\": 0.5}]}}";
  CHECK_OK(ds_model_config_parse(list, "list.json", &back, &err), &err);
  CHECK(back.loss_count == 2 && back.loss[0].kind == DS_LOSS_KIND_SSIM &&
            back.loss[0].weight == 1.0f && back.loss[1].kind == DS_LOSS_KIND_MAE &&
            back.loss[1].weight == 0.5f,
        "list parsed");
  ds_error_clear(&err);
}

/* Replaces the first `from` in BASE with `to`, or takes `to` as the whole
 * text when from is NULL; the result must be refused as DS_ERR_INVALID with
 * a one-line message that starts with the file name and contains each of
 * the wanted pieces. */
static void bad(const char *from, const char *to, const char *want, const char *want2) {
  char text[4096];
  if (from) {
    const char *at = strstr(BASE, from);
    CHECK(at != NULL, "test bug: \"%s\" is not in BASE", from);
    if (!at) return;
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - BASE), BASE, to, at + strlen(from));
  } else {
    snprintf(text, sizeof text, "%s", to);
  }
  ds_model_config cfg, untouched;
  memset(&cfg, 0x5a, sizeof cfg);
  memcpy(&untouched, &cfg, sizeof cfg);
  ds_error err = {0};
  ds_status st = ds_model_config_parse(text, "bad.json", &cfg, &err);
  CHECK(st == DS_ERR_INVALID, "accepted (%s): %s", ds_status_name(st), text);
  CHECK(strncmp(err.msg, "bad.json: ", 10) == 0, "message lacks the file: %s", err.msg);
  CHECK(strchr(err.msg, '\n') == NULL, "message is not one line: %s", err.msg);
  CHECK_CONTAINS(err.msg, want);
  if (want2) CHECK_CONTAINS(err.msg, want2);
  CHECK(memcmp(&cfg, &untouched, sizeof cfg) == 0, "cfg written on failure: %s", err.msg);
  ds_error_clear(&err);
}

static void test_bad_input(void) {
  /* the base itself is valid */
  ds_model_config c;
  ds_error err = {0};
  CHECK_OK(ds_model_config_parse(BASE, "base.json", &c, &err), &err);

  /* unknown keys at every level, and duplicates */
  bad("\"name\": \"t\"", "\"name\": \"t\", \"colour\": 1", "bad.json: colour: unknown key", NULL);
  bad("\"kernel\": 5", "\"kernel\": 5, \"stride\": 2", "encoder.stride: unknown key", "dense");
  bad("\"warp\": true", "\"warp\": true, \"blur\": 1", "train.augment.blur: unknown key", NULL);
  bad("\"lr\"", "\"LR\"", "train.optimizer.LR: unknown key", NULL);
  bad("\"save_every\"", "\"every\"", "run.every: unknown key", NULL);
  bad("\"name\": \"t\"", "\"name\": \"t\", \"a\\nb\": 1", "a\\x0ab: unknown key", NULL);
  bad("\"dense\": 1024", "\"dense\": 1024, \"dense\": 512", "encoder.dense: duplicate key", NULL);

  /* wrong types */
  bad("[128, 256, 512, 1024]", "[128, 256, \"abc\", 1024]",
      "bad.json: encoder.conv[2]: expected a positive integer, got \"abc\"", NULL);
  bad("\"dense\": 1024", "\"dense\": \"1024\"", "encoder.dense: expected a positive integer",
      "got \"1024\"");
  bad("\"dense\": 1024", "\"dense\": 3.5", "encoder.dense", "got 3.5");
  bad("\"dense\": 1024", "\"dense\": null", "encoder.dense", "got null");
  bad("\"dense\": 1024", "\"dense\": 1e20", "encoder.dense", "got 1e+20");
  bad("\"input\": {\"size\": 64, \"channels\": 3}", "\"input\": 64", "input: expected an object",
      "got 64");
  bad("[128, 256, 512, 1024]", "128", "encoder.conv: expected an array", NULL);
  bad("[4, 4, 1024]", "{\"h\": 4}", "encoder.bottleneck: expected an array", "an object");
  bad("\"name\": \"t\"", "\"name\": 7", "name: expected a string", NULL);
  bad("\"warp\": true", "\"warp\": 1", "train.augment.warp: expected true or false", NULL);
  bad("\"flip\": 0.4", "\"flip\": \"0.4\"", "train.augment.flip", NULL);
  bad("\"iterations\": 10", "\"iterations\": 10.5", "run.iterations", NULL);
  bad("\"iterations\": 10", "\"minutes\": \"ten\"", "run.minutes", NULL);
  bad(NULL, "[1, 2]", "bad.json: expected a JSON object at the top level", NULL);

  /* out of range */
  bad("\"batch\": 64", "\"batch\": -4", "train.batch", "got -4");
  bad("\"batch\": 64", "\"batch\": 0", "train.batch", NULL);
  bad("\"channels\": 3", "\"channels\": 0", "input.channels", NULL);
  bad("\"kernel\": 5", "\"kernel\": 4", "encoder.kernel", "odd");
  bad("\"out_kernel\": 5", "\"out_kernel\": 2", "decoder.out_kernel", "odd");
  bad("\"lr\": 5e-5", "\"lr\": 0", "train.optimizer.lr", "> 0");
  bad("\"lr\": 5e-5", "\"lr\": 1e300", "train.optimizer.lr", "float32");
  bad("\"beta1\": 0.5", "\"beta1\": 1", "train.optimizer.beta1", "[0, 1)");
  bad("\"beta2\": 0.999", "\"beta2\": 0.99999999999", "train.optimizer.beta2", "float32");
  bad("\"epsilon\": 1e-7", "\"epsilon\": -1e-7", "train.optimizer.epsilon", NULL);
  bad("\"rotation\": 10", "\"rotation\": 181", "train.augment.rotation", "180");
  bad("\"zoom\": 0.05", "\"zoom\": 1", "train.augment.zoom", NULL);
  bad("\"shift\": 0.05", "\"shift\": -0.1", "train.augment.shift", NULL);
  bad("\"flip\": 0.4", "\"flip\": 1.5", "train.augment.flip", NULL);
  bad("\"iterations\": 10", "\"minutes\": 0", "run.minutes", NULL);
  bad("\"iterations\": 10", "\"minutes\": 1e999", "run.minutes", NULL);
  bad("\"save_every\": 5", "\"save_every\": 0", "run.save_every", NULL);
  bad("[128, 256, 512, 1024]", "[]", "encoder.conv", "got 0 entries");
  bad("[128, 256, 512, 1024]", "[1, 1, 1, 1, 1, 1, 1, 1, 1]", "encoder.conv", "got 9 entries");
  bad("[4, 4, 1024]", "[4, 4]", "encoder.bottleneck", "got 2 entries");
  bad("\"name\": \"t\"", "\"name\": \"\"", "name: expected a string of 1 to 63", NULL);
  bad("\"name\": \"t\"",
      "\"name\": \"0123456789012345678901234567890123456789012345678901234567890123\"", "name",
      NULL);
  bad("\"name\": \"t\"", "\"name\": \"a\\nb\"", "name", NULL);

  /* identities */
  bad("[\"A\", \"B\"]", "[\"A\"]", "decoders: expected at least 2", NULL);
  bad("[\"A\", \"B\"]", "[]", "decoders", NULL);
  bad("[\"A\", \"B\"]", "[\"A\", \"B\", \"A\"]", "decoders[2]: duplicate identity \"A\"",
      "decoders[0]");
  bad("[\"A\", \"B\"]", "[\"A\", \"B c\"]", "decoders[1]: invalid identity name \"B c\"", NULL);
  bad("[\"A\", \"B\"]", "[\"A\", \"\"]", "decoders[1]: invalid identity name", NULL);
  bad("[\"A\", \"B\"]", "[\"A\", \"0123456789012345678901234567890x\"]", "decoders[1]", NULL);
  bad("[\"A\", \"B\"]", "[\"A\", 2]", "decoders[1]: expected an identity name", NULL);
  bad("[\"A\", \"B\"]", "\"AB\"", "decoders: expected an array", NULL);
  bad("[\"A\", \"B\"]",
      "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\","
      "\"p\",\"q\"]",
      "decoders: at most 16", NULL);
  bad("\"mae\"", "\"l2\"", "train.loss: expected \"mae\", \"mse\", \"ssim\", \"ms_ssim\", \"gmsd\"",
      "got \"l2\"");
  bad("\"mae\"", "[]", "train.loss: expected 1 to 4 terms, got 0", NULL);
  bad("\"mae\"", "[{\"type\": \"ssim\"}, {\"type\": \"ms\"}]", "train.loss[1].type", "got \"ms\"");
  bad("\"mae\"", "[{\"type\": \"ssim\", \"weight\": 0}]", "train.loss[0].weight", "> 0");
  bad("\"mae\"", "[{\"type\": \"ssim\", \"weight\": \"1\"}]", "train.loss[0].weight", NULL);
  bad("\"mae\"", "[{\"type\": \"mse\", \"wieght\": 1}]", "train.loss[0].wieght",
      "unknown key; expected one of type, weight");
  bad("\"mae\"", "[{\"weight\": 1}]", "train.loss[0].type", "missing required key");
  bad("\"mae\"", "[{\"type\": \"mse\"}, {\"type\": \"mse\"}]", "train.loss[1].type",
      "already term 0");
  bad("\"mae\"", "[\"ssim\"]", "train.loss[0]", "expected an object");
  bad("\"mae\"", "7", "train.loss", "or a list of");
  bad("\"mae\"", "\"mae\", \"face_area\": {\"eyes\": -1}", "train.face_area.eyes", "[0, 100]");
  bad("\"mae\"", "\"mae\", \"face_area\": {\"nose\": 2}", "train.face_area.nose",
      "unknown key; expected one of background, eyes, mouth");
  bad("\"mae\"", "\"mae\", \"face_area\": true", "train.face_area", "expected an object");
  bad("\"adam\"", "\"sgd\"", "train.optimizer.type", "got \"sgd\"");

  /* shapes and sizes */
  bad("[4, 4, 1024]", "[4, 2, 1024]", "encoder.bottleneck", "64x32");
  bad("[4, 4, 1024]", "[8, 8, 1024]", "encoder.bottleneck", "use [4, 4, 1024]");
  bad("\"size\": 64", "\"size\": 60", "input.size", "16");
  bad("\"size\": 64", "\"size\": 48", "encoder.bottleneck", "use [3, 3, 1024]");
  bad("\"size\": 64", "\"size\": 8192", "input.size", "4096");
  bad("\"dense\": 1024", "\"dense\": 1000000", "encoder.dense", "parameters");
  bad("\"kernel\": 5", "\"kernel\": 2147483647", "encoder.conv[0]", "parameters");
  bad("[4, 4, 1024]", "[4, 4, 2147483647]", "encoder.bottleneck", "parameters");
  bad("\"out_kernel\": 5", "\"out_kernel\": 99999", "decoder.out_kernel", "parameters");

  /* missing keys */
  bad("\"kernel\": 5, ", "", "encoder.kernel: missing", NULL);
  bad("\"name\": \"t\", ", "", "name: missing", NULL);
  bad(", \"decoders\": [\"A\", \"B\"]", "", "decoders: missing", NULL);
  bad("\"decoder\": {\"upscale\": [256, 128, 64], \"out_kernel\": 5}, ", "", "decoder: missing",
      NULL);

  /* syntax */
  bad("\"dense\": 1024", "\"dense\" 1024", "line 1, column", "invalid JSON");
  bad(NULL, "{\n  \"name\": \"t\",\n  \"input\": {\"size\": 64 \"channels\": 3}\n}",
      "bad.json: line 3, column 24", "\"\\\"channels\\\": 3}\"");
  bad(NULL, "{\"name\": \"t\"", "line 1", "the JSON ends early; the file was cut short");
  bad(NULL, "{} trailing", "line 1, column 4", NULL);
  bad(NULL, "  \n", "empty", NULL);
}

static void test_files(void) {
  ds_model_config cfg;
  ds_error err = {0};
  char path[1024];
  snprintf(path, sizeof path, "%s/configs/no-such-config.json", root_dir);
  CHECK(ds_model_config_load(path, &cfg, &err) == DS_ERR_NOT_FOUND, "missing file: %s", err.msg);
  CHECK_CONTAINS(err.msg, path);
  CHECK(strchr(err.msg, '\n') == NULL, "one line");
  ds_error_clear(&err);

  snprintf(path, sizeof path, "%s/configs", root_dir);
  CHECK(ds_model_config_load(path, &cfg, &err) == DS_ERR_INVALID, "a directory: %s", err.msg);
  CHECK_CONTAINS(err.msg, path);
  CHECK_CONTAINS(err.msg, "is a folder, not a model config");
  ds_error_clear(&err);
}

/* BASE with two edits (each `from` must be in BASE, the first before the
 * second), into text. */
static void edit2(char *text, size_t cap, const char *from1, const char *to1, const char *from2,
                  const char *to2) {
  const char *a = strstr(BASE, from1), *b = strstr(BASE, from2);
  CHECK(a && b && a + strlen(from1) <= b, "test bug: \"%s\" then \"%s\" are not in BASE", from1,
        from2);
  if (!a || !b || a + strlen(from1) > b) return;
  snprintf(text, cap, "%.*s%s%.*s%s%s", (int)(a - BASE), BASE, to1, (int)(b - (a + strlen(from1))),
           a + strlen(from1), to2, b + strlen(from2));
}

/* decoder.mask (the learned mask channel) and train.mask_weight: parsed,
 * refused where wrong, written to canonical JSON only when on, a different
 * network, and one more output channel in the parameter count. */
static void test_mask(void) {
  const char *dec = "\"out_kernel\": 5", *batch = "\"batch\": 64";
  char text[4096];
  ds_model_config plain, on, back;
  ds_error err = {0};
  CHECK_OK(ds_model_config_parse(BASE, "base.json", &plain, &err), &err);
  CHECK(plain.dec_mask == 0 && plain.mask_weight == 1.0f, "no mask unless asked");

  edit2(text, sizeof text, dec, "\"out_kernel\": 5, \"mask\": false", batch, batch);
  CHECK_OK(ds_model_config_parse(text, "off.json", &back, &err), &err);
  CHECK(back.dec_mask == 0 && ds_model_config_same_network(&back, &plain, NULL, 0),
        "mask false is no mask");
  char *json = ds_model_config_to_json(&back);
  CHECK(json && strstr(json, "mask") == NULL, "no mask key without the mask: %s",
        json ? json : "(none)");
  free(json);

  edit2(text, sizeof text, dec, "\"out_kernel\": 5, \"mask\": true", batch, batch);
  CHECK_OK(ds_model_config_parse(text, "on.json", &on, &err), &err);
  CHECK(on.dec_mask == 1 && on.mask_weight == 1.0f, "mask on, weight 1 by default");
  edit2(text, sizeof text, dec, "\"out_kernel\": 5, \"mask\": true", batch,
        "\"batch\": 64, \"mask_weight\": 0.25");
  CHECK_OK(ds_model_config_parse(text, "on.json", &on, &err), &err);
  if (err.code) return;
  CHECK(on.dec_mask == 1 && on.mask_weight == 0.25f, "mask_weight read");

  /* canonical JSON: both keys, back to the same config, a fixed point */
  json = ds_model_config_to_json(&on);
  CHECK(json && strstr(json, "\"mask\"") && strstr(json, "\"mask_weight\""),
        "mask keys written: %s", json ? json : "(none)");
  if (json) {
    CHECK_OK(ds_model_config_parse(json, "canonical", &back, &err), &err);
    CHECK(back.dec_mask == 1 && same_config(&on, &back), "mask round trip: %s", json);
    char *again = ds_model_config_to_json(&back);
    CHECK(again && strcmp(json, again) == 0, "mask: canonical JSON is not a fixed point");
    free(again);
  }
  free(json);

  /* a model trained without the mask cannot be resumed with it, nor back */
  char why[256];
  CHECK(!ds_model_config_same_network(&on, &plain, why, sizeof why), "mask is network");
  CHECK_CONTAINS(why, "decoder.mask");
  CHECK(!ds_model_config_same_network(&plain, &on, why, sizeof why), "mask is network, reversed");
  CHECK_CONTAINS(why, "decoder.mask");
  back = on;
  back.mask_weight = 2.0f;
  CHECK(ds_model_config_same_network(&back, &on, why, sizeof why), "mask_weight is training");

  /* the out conv has C + 1 outputs: k k cin + 1 more parameters per decoder
   * (BASE: out_kernel 5, cin 64, 2 decoders); ds_model_build's layout is
   * checked against the count in test_model_ref, which builds models */
  int64_t enc0, dec0, enc1, dec1;
  const int64_t total0 = ds_model_param_count(&plain, &enc0, &dec0);
  const int64_t total1 = ds_model_param_count(&on, &enc1, &dec1);
  CHECK(enc1 == enc0 && dec1 == dec0 + 5 * 5 * 64 + 1 && total1 == total0 + 2 * (5 * 5 * 64 + 1),
        "mask count %lld vs %lld", (long long)total1, (long long)total0);

  /* refused: a wrong type, a weight without the mask, a weight <= 0 */
  bad(dec, "\"out_kernel\": 5, \"mask\": \"yes\"", "decoder.mask", "true or false");
  bad(dec, "\"out_kernel\": 5, \"mask\": 1", "decoder.mask", "true or false");
  bad(batch, "\"batch\": 64, \"mask_weight\": 2", "train.mask_weight", "\"mask\": true");
  const char *weights[] = {"0", "-1", "\"1\"", "null"};
  for (int i = 0; i < 4; i++) {
    char to[64];
    snprintf(to, sizeof to, "\"batch\": 64, \"mask_weight\": %s", weights[i]);
    edit2(text, sizeof text, dec, "\"out_kernel\": 5, \"mask\": true", batch, to);
    bad(NULL, text, "train.mask_weight", "a number > 0");
  }
  ds_error_clear(&err);
}

int main(int argc, char **argv) {
  if (argc > 1) root_dir = argv[1];
  test_shipped();
  test_defaults();
  test_bad_input();
  test_mask();
  test_files();
  return check_summary("config");
}
