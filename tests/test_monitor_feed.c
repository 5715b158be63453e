/* The training feed (engine/monitor/feed.h) and loss.png: history and runs
 * taken from a checkpoint's state up to the resumed iteration, one row per
 * iteration after, /status.json and paged /loss.json, a saved model.json,
 * and the plot's pixels.
 * usage: test_monitor_feed REPO_ROOT SCRATCH */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "engine/media/png.h"
#include "engine/model/config.h"
#include "engine/monitor/feed.h"
#include "engine/monitor/loss_plot.h"

static cJSON *parse(char *text) {
  cJSON *j = text ? cJSON_Parse(text) : NULL;
  free(text);
  return j;
}

static double num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* A state as the trainer saves it: loss every 20 iterations up to 60, and
 * two runs, (0, 40] and (40, 60]. */
static const char *state_text =
    "{\"iteration\":60,\"batch\":8,\"device\":\"dev\",\"train_seconds\":12,"
    "\"loss\":{\"A\":[[20,0.5],[40,0.4],[60,0.3]],\"B\":[[20,0.6],[40,0.45],[60,0.35]]},"
    "\"runs\":[{\"first\":0,\"last\":40,\"seconds\":8,\"samples_per_s\":80,\"batch\":8,"
    "\"device\":\"dev\",\"started\":\"2026-01-01T00:00:00Z\"},"
    "{\"first\":40,\"last\":60,\"seconds\":4,\"samples_per_s\":80,\"batch\":8,"
    "\"device\":\"dev\",\"started\":\"2026-01-02T00:00:00Z\"}]}";

static void test_resume(const ds_model_config *cfg, const char *scratch) {
  ds_error err = {0};
  ds_train_feed *f;
  CHECK_OK(ds_train_feed_create(&f, &err), &err);
  /* resumed from the backup at 40: the point at 60 and the second run go */
  CHECK_OK(ds_train_feed_begin(f, cfg, "dev", 40, 45, 8.0, state_text, &err), &err);
  for (long long it = 41; it <= 45; it++) {
    double loss[2] = {0.2 + 0.001 * (double)it, 0.25}, recent[2] = {0.21, 0.26};
    ds_train_feed_iteration(f, it, (double)(it - 40), 10.0, 45.0 - (double)it, loss, recent);
  }
  ds_train_feed_checkpoint(f, 45);
  ds_train_feed_preview(f, 45);

  cJSON *s = parse(ds_train_feed_status_json(f));
  CHECK(s != NULL, "status.json parses");
  CHECK(num(s, "iteration") == 45 && num(s, "run_first_iteration") == 40 && num(s, "target") == 45,
        "iteration %g first %g target %g", num(s, "iteration"), num(s, "run_first_iteration"),
        num(s, "target"));
  CHECK(num(s, "rows") == 2 + 5, "rows %g: history at 20 and 40, then 41..45", num(s, "rows"));
  CHECK(num(s, "train_seconds") == 8.0 + 5.0, "train_seconds %g", num(s, "train_seconds"));
  CHECK(num(s, "parameters") == (double)ds_model_param_count(cfg, NULL, NULL), "parameters");
  CHECK(num(cJSON_GetObjectItem(s, "loss"), "B") == 0.26, "recent loss of B");
  CHECK(num(cJSON_GetObjectItem(s, "checkpoint"), "iteration") == 45, "checkpoint");
  CHECK(num(cJSON_GetObjectItem(s, "preview"), "serial") == 1, "preview serial");
  const cJSON *runs = cJSON_GetObjectItem(s, "runs");
  CHECK(cJSON_GetArraySize(runs) == 2, "runs: (0, 40] and this one, not (40, 60]");
  CHECK(num(cJSON_GetArrayItem(runs, 1), "first") == 40 &&
            num(cJSON_GetArrayItem(runs, 1), "last") == 45,
        "this run is (40, 45]");
  CHECK(cJSON_IsString(cJSON_GetObjectItem(s, "state")) &&
            strcmp(cJSON_GetObjectItem(s, "state")->valuestring, "training") == 0,
        "state training");
  cJSON_Delete(s);

  /* paging: 3 rows past iteration 20, at most 2 per answer */
  cJSON *l = parse(ds_train_feed_loss_json(f, 20, 2));
  const cJSON *rows = cJSON_GetObjectItem(l, "rows");
  CHECK(cJSON_GetArraySize(rows) == 2 && num(l, "next") == 41 &&
            cJSON_IsTrue(cJSON_GetObjectItem(l, "more")),
        "first page: rows 40 and 41, more");
  const cJSON *r0 = cJSON_GetArrayItem(rows, 0), *r1 = cJSON_GetArrayItem(rows, 1);
  CHECK(cJSON_GetArrayItem(r0, 0)->valuedouble == 40 && cJSON_IsNull(cJSON_GetArrayItem(r0, 1)) &&
            fabs(cJSON_GetArrayItem(r0, 2)->valuedouble - 0.4) < 1e-6,
        "history row: iteration 40, seconds unknown, loss 0.4");
  CHECK(cJSON_GetArrayItem(r1, 1)->valuedouble == 9.0, "row 41 at 8 + 1 training seconds");
  cJSON_Delete(l);
  l = parse(ds_train_feed_loss_json(f, 45, 2));
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(l, "rows")) == 0 &&
            cJSON_IsFalse(cJSON_GetObjectItem(l, "more")) && num(l, "next") == 45,
        "nothing past the last row");
  cJSON_Delete(l);

  /* the runs a checkpoint saves */
  cJSON *state = cJSON_CreateObject();
  CHECK(ds_train_feed_add_runs(f, state) == 1, "add_runs");
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(state, "runs")) == 2, "two runs saved");
  cJSON_Delete(state);

  /* loss.png */
  ds_image img;
  CHECK_OK(ds_loss_plot_render(f, &img, &err), &err);
  CHECK(img.width == 960 && img.height == 420 && img.channels == 3, "plot size %dx%d", img.width,
        img.height);
  long orange = 0, blue = 0;
  for (long p = 0; p < (long)img.width * img.height; p++) {
    const unsigned char *q = img.data + 3 * p;
    orange += q[0] == 255 && q[1] == 140 && q[2] == 60;
    blue += q[0] == 80 && q[1] == 170 && q[2] == 255;
  }
  CHECK(orange > 100 && blue > 100, "both identities drawn (%ld, %ld pixels)", orange, blue);
  ds_image_free(&img);
  char path[1100];
  snprintf(path, sizeof path, "%s/loss.png", scratch);
  CHECK_OK(ds_loss_plot_write(path, f, &err), &err);
  char *title = NULL;
  CHECK_OK(ds_png_read_text(path, "Title", &title, &err), &err);
  CHECK(title && strcmp(title, "training loss") == 0, "loss.png's title");
  free(title);

  /* many rows: the plot draws means of buckets, at most 2000 */
  double loss[2] = {0.1, 0.1};
  for (long long it = 46; it <= 10045; it++)
    ds_train_feed_iteration(f, it, 1, 1, 1, loss, loss);
  ds_feed_row *copy;
  int ids, run_count;
  char names[DS_MAX_IDENTITIES][32];
  long long starts[DS_FEED_MAX_RUN_MARKS];
  long long n = ds_train_feed_copy_rows(f, 2000, &copy, &ids, names, starts, &run_count);
  CHECK(n > 0 && n <= 2000 && copy[n - 1].iteration == 10045 && ids == 2 && run_count == 2 &&
            starts[1] == 40,
        "copy_rows: %lld rows ending at %lld", n, n > 0 ? copy[n - 1].iteration : -1);
  free(copy);

  ds_train_feed_end(f, DS_FEED_INTERRUPTED);
  s = parse(ds_train_feed_status_json(f));
  CHECK(strcmp(cJSON_GetObjectItem(s, "state")->valuestring, "interrupted") == 0 &&
            cJSON_IsNull(cJSON_GetObjectItem(s, "eta_s")),
        "interrupted: no ETA");
  cJSON_Delete(s);
  ds_train_feed_destroy(f);
}

static void test_saved(const ds_model_config *cfg) {
  ds_error err = {0};
  ds_train_feed *f;
  CHECK_OK(ds_train_feed_create(&f, &err), &err);
  char *config = ds_model_config_to_json(cfg);
  size_t cap = strlen(config) + strlen(state_text) + 256;
  char *index = malloc(cap);
  snprintf(index, cap,
           "{\"format\":\"dsengine-checkpoint\",\"version\":1,\"iteration\":60,"
           "\"saved\":\"2026-01-02T01:00:00Z\",\"config\":%s,\"state\":%s}",
           config, state_text);
  ds_train_feed_preview_changed(f, 60);
  CHECK_OK(ds_train_feed_load_index(f, index, "m/model.json", &err), &err);
  cJSON *s = parse(ds_train_feed_status_json(f));
  CHECK(strcmp(cJSON_GetObjectItem(s, "state")->valuestring, "saved") == 0, "state saved");
  CHECK(num(s, "iteration") == 60 && num(s, "rows") == 3 && num(s, "train_seconds") == 12,
        "saved model: iteration %g, rows %g", num(s, "iteration"), num(s, "rows"));
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(s, "runs")) == 2, "both runs");
  CHECK(strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "checkpoint"), "time")->valuestring,
               "2026-01-02T01:00:00Z") == 0,
        "checkpoint time from model.json");
  CHECK(num(cJSON_GetObjectItem(s, "preview"), "serial") == 1, "the preview survives a reload");
  const double generation = num(s, "generation");
  cJSON_Delete(s);
  CHECK_OK(ds_train_feed_load_index(f, index, "m/model.json", &err), &err);
  s = parse(ds_train_feed_status_json(f));
  CHECK(num(s, "generation") > generation, "a reload is a new generation");
  cJSON_Delete(s);
  CHECK(ds_train_feed_load_index(f, "{\"state\":{}}", "m/model.json", &err) == DS_ERR_CORRUPT &&
            strstr(err.msg, "m/model.json"),
        "a model.json without config: %s", err.msg);
  ds_error_clear(&err);
  CHECK(ds_train_feed_load_index(f, "not json", "m/model.json", &err) == DS_ERR_CORRUPT,
        "not JSON");
  ds_error_clear(&err);
  free(index);
  free(config);
  ds_train_feed_destroy(f);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_monitor_feed REPO_ROOT SCRATCH\n");
    return 2;
  }
  char path[1100];
  snprintf(path, sizeof path, "%s/tests/data/train_micro.json", argv[1]);
  mkdir(argv[2], 0777);
  ds_model_config cfg;
  ds_error err = {0};
  if (ds_model_config_load(path, &cfg, &err) != DS_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  test_resume(&cfg, argv[2]);
  test_saved(&cfg);
  return check_summary("monitor_feed");
}
