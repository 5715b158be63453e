/* dsengine --config FILE: the main job on the bundled sample. Extract the
 * faces of both clips (cached), train the config's model (bounded by its run
 * section), and convert clip A with identity B's decoder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/cli/cli.h"
#include "engine/convert/convert.h"
#include "engine/detect/extract.h"
#include "engine/model/checkpoint.h"
#include "engine/model/config.h"
#include "engine/model/tensor_file.h"
#include "engine/monitor/feed.h"
#include "engine/monitor/model_watch.h"
#include "engine/train/trainer.h"

#ifndef DS_SAMPLE_DIR
#define DS_SAMPLE_DIR "samples"
#endif

static const char *CMD = "dsengine";

/* The sample's clips, one per identity of the config, in decoder order. */
static const char *const SAMPLE_CLIPS[2] = {"pair-man1.mp4", "pair-man2.mp4"};

static const char *help =
    "usage: dsengine --config FILE [--resume] [--work DIR] [--device SPEC]\n"
    "                [--monitor [ADDR:]PORT]\n"
    "\n"
    "The main job on the sample bundled in " DS_SAMPLE_DIR ":\n"
    "  1. extract the faces of both clips (once; later runs reuse them),\n"
    "  2. train the config's model, for the iterations and/or minutes of its\n"
    "     \"run\" section (once; --resume trains that much again on top),\n"
    "  3. convert the first clip with the second person's face, audio kept.\n"
    "It prints where the video and the previews are.\n"
    "\n"
    "  --config FILE   model config, e.g. configs/lowmem.json or configs/tiny.json\n"
    "  --resume        train a further session on the saved model\n"
    "  --work DIR      where faces, model and video go (default dsengine-run/<config name>)\n"
    "  --device SPEC   see 'dsengine devices --help'\n"
    "  --monitor [ADDR:]PORT  watch the training in a web browser at the address\n"
    "                  it prints (ADDR default 127.0.0.1; PORT 0: any free one)\n";

static void stage(int n, const char *what) { printf("\n== %d/3 %s\n", n, what); }

static int run_extract(const char *clip, const char *out, const char *device, const char *origin,
                       volatile sig_atomic_t *stop) {
  ds_extract_options o;
  cli_extract_defaults(&o);
  const char *inputs[1] = {clip};
  o.inputs = inputs;
  o.input_count = 1;
  o.out_dir = out;
  o.largest = 1;
  o.device_spec = device;
  o.device_origin = origin;
  o.stop = stop;
  ds_extract_summary sum;
  return cli_extract_run(&o, &sum);
}

/* The monitor shows a model the job reuses as it was saved. */
static void show_saved_model(const char *model, ds_train_feed *feed) {
  ds_model_watch w;
  ds_error err = {0};
  ds_model_watch_init(&w, model);
  if (ds_model_watch_poll(&w, feed, NULL, &err) != DS_OK)
    fprintf(stderr, "dsengine: warning: the monitor cannot show the saved model: %s\n", err.msg);
  ds_error_clear(&err);
}

typedef struct run_args {
  const char *config, *work, *device, *monitor;
  int resume;
} run_args;

static int parse_option(run_args *s, int argc, char **argv, int *i) {
  const char *v = NULL;
  int m = 0;
  if (CLI_VALUE("--config")) {
    CLI_NEED(CMD);
    s->config = v;
  } else if (CLI_VALUE("--work")) {
    CLI_NEED(CMD);
    s->work = v;
  } else if (CLI_VALUE("--device")) {
    CLI_NEED(CMD);
    s->device = v;
  } else if (CLI_VALUE("--monitor")) {
    CLI_NEED(CMD);
    s->monitor = v;
  } else if (strcmp(argv[*i], "--resume") == 0) {
    s->resume = 1;
  } else {
    return cli_usage_error(CMD, "unknown option %s for the main job (dsengine --config FILE)",
                           argv[*i]);
  }
  return DS_EXIT_OK;
}

static int main_job(int argc, char **argv, cli_monitor *mon) {
  run_args s = {0};
  for (int i = 0; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      fputs(help, stdout);
      return DS_EXIT_OK;
    }
    int rc = parse_option(&s, argc, argv, &i);
    if (rc != DS_EXIT_OK) return rc;
  }
  const char *config = s.config, *work = s.work, *device = s.device, *monitor = s.monitor;
  const int resume = s.resume;
  if (!config) return cli_usage_error(CMD, "--config FILE is required");
  ds_model_config cfg;
  ds_error err = {0};
  if (ds_model_config_load(config, &cfg, &err) != DS_OK) return cli_fail(&err);
  if (cfg.decoder_count != 2)
    return cli_usage_error(CMD, "%s has %d identities; the sample has two people (A and B)", config,
                           cfg.decoder_count);
  char clips[2][1100], faces[2][1100], model[1100], video[1200], preview[1200], workdir[1024];
  snprintf(workdir, sizeof workdir, "%s", work ? work : "dsengine-run/");
  if (!work) strncat(workdir, cfg.name, sizeof workdir - strlen(workdir) - 1);
  for (int i = 0; i < 2; i++) {
    snprintf(clips[i], sizeof clips[i], "%s/%s", DS_SAMPLE_DIR, SAMPLE_CLIPS[i]);
    snprintf(faces[i], sizeof faces[i], "%s/faces/%s", workdir, cfg.decoders[i]);
    struct stat sb;
    if (stat(clips[i], &sb) != 0) {
      fprintf(stderr,
              "dsengine: error: the sample clip %s is missing; run from a full checkout "
              "of dsengine (samples/)\n",
              clips[i]);
      return DS_EXIT_FAILURE;
    }
  }
  snprintf(model, sizeof model, "%s/model", workdir);
  snprintf(video, sizeof video, "%s/%s_as_%s.mp4", workdir, cfg.decoders[0], cfg.decoders[1]);
  snprintf(preview, sizeof preview, "%s/convert-preview.png", workdir);
  if (ds_make_dirs(workdir, "work folder", &err) != DS_OK) {
    ds_error_append(&err, "; pass --work DIR somewhere writable");
    return cli_fail(&err);
  }
  int rc = monitor ? cli_monitor_start(CMD, monitor, model, mon) : DS_EXIT_OK;
  if (rc != DS_EXIT_OK) return rc;
  const char *origin = NULL;
  const char *spec = cli_device_spec(device, &origin);
  volatile sig_atomic_t *stop = cli_stop_on_signals();
  printf("dsengine main job: config %s (%s), work folder %s\n", config, cfg.name, workdir);

  stage(1, "extract faces");
  for (int i = 0; i < 2 && rc == DS_EXIT_OK; i++) {
    printf("%s: %s -> %s\n", cfg.decoders[i], clips[i], faces[i]);
    rc = run_extract(clips[i], faces[i], spec, origin, stop);
  }
  if (rc != DS_EXIT_OK) return rc;

  stage(2, "train");
  ds_train_summary tsum;
  memset(&tsum, 0, sizeof tsum);
  if (ds_checkpoint_exists(model) && !resume) {
    printf("%s already holds a trained model; using it (--resume trains further)\n", model);
    if (mon->feed) show_saved_model(model, mon->feed);
  } else {
    ds_train_options t;
    memset(&t, 0, sizeof t);
    t.config_path = config;
    t.model_dir = model;
    t.face_count = 2;
    for (int i = 0; i < 2; i++) {
      t.face_names[i] = cfg.decoders[i];
      t.face_dirs[i] = faces[i];
    }
    t.seed = 1;
    t.device_spec = spec;
    t.device_origin = origin;
    t.stop = stop;
    t.feed = mon->feed;
    rc = cli_train_run(&t, &tsum);
    if (rc != DS_EXIT_OK) {
      if (rc == DS_EXIT_INTERRUPTED)
        fprintf(stderr, "training stopped and saved; 'dsengine --config %s --resume' goes on\n",
                config);
      return rc;
    }
  }

  stage(3, "convert");
  char al[1200];
  snprintf(al, sizeof al, "%s/alignments.json", faces[0]);
  ds_convert_options c;
  cli_convert_defaults(&c);
  c.model_dir = model;
  c.config_path = config;
  c.from = cfg.decoders[0];
  c.to = cfg.decoders[1];
  c.input = clips[0];
  c.output = video;
  c.alignments = al;
  c.preview_path = preview;
  c.device_spec = spec;
  c.device_origin = origin;
  c.stop = stop;
  ds_convert_summary csum;
  rc = cli_convert_run(&c, &csum);
  if (rc != DS_EXIT_OK) return rc;

  char tpreview[1200];
  snprintf(tpreview, sizeof tpreview, "%s/preview.png", model);
  printf("\ndone.\n  video:            %s\n  training preview: %s\n  convert preview:  %s\n", video,
         tpreview, preview);
  return DS_EXIT_OK;
}

int cmd_run(int argc, char **argv) {
  cli_monitor mon = {0};
  const int rc = main_job(argc, argv, &mon);
  cli_monitor_stop(&mon);
  return rc;
}
