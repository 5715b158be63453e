/* dsengine train: the training loop with progress, previews and checkpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cli/cli.h"
#include "engine/dist/comm.h"
#include "engine/train/trainer.h"

static const char *help =
    "usage: dsengine train --config FILE --faces A=DIR --faces B=DIR [--faces C=DIR ...]\n"
    "                      --model DIR [OPTIONS]\n"
    "\n"
    "Trains the shared encoder and one decoder per identity on folders of aligned\n"
    "faces (PNG, 256x256 from 'dsengine extract'; at least 64 px). Each iteration\n"
    "takes a batch of every identity in turn. DIR of --model receives checkpoints\n"
    "(model.json, weights and optimizer state) and preview.png; when it already\n"
    "holds a model, training resumes where it stopped.\n"
    "\n"
    "  --config FILE        model config (configs/original.json, lowmem.json, tiny.json);\n"
    "                       optional when --model already holds a model\n"
    "  --faces NAME=DIR     the faces of identity NAME (one per identity of the config)\n"
    "  --model DIR          checkpoint folder, created when missing\n"
    "  --iterations N       iterations to run in this session (default: the config's\n"
    "                       run.iterations, else until Ctrl-C)\n"
    "  --minutes M          stop after M minutes (default: the config's run.minutes)\n"
    "  --batch N            faces per identity per iteration (default: the config's)\n"
    "  --save-every N       checkpoint every N iterations (default 100)\n"
    "  --preview-every N    write preview.png every N iterations (default 100)\n"
    "  --seed N             seed of the initial weights and augmentation (default 1)\n"
    "  --no-warp            no random warp: the input is the aligned crop itself\n"
    "  --no-flip            no random horizontal flips\n"
    "  --device SPEC        see 'dsengine devices --help' (default $DSENGINE_DEVICE, auto)\n"
    "  --devices LIST       data parallel: one model replica per device, the batch\n"
    "                       split over them (auto: every GPU, under mpirun the rank's\n"
    "                       device on its machine; all; or a comma list of --device\n"
    "                       specs). Under mpirun/srun each rank adds its devices.\n"
    "  --monitor [ADDR:]PORT  watch it in a web browser at http://ADDR:PORT/ (ADDR\n"
    "                       default 127.0.0.1, this machine only; PORT 0: any free one)\n"
    "\n"
    "Ctrl-C (or SIGTERM) saves a checkpoint and stops; run the same command to resume.\n";

static void fmt_time(double s, char *buf, size_t cap) {
  long t = s > 0 ? (long)(s + 0.5) : 0;
  if (t >= 3600)
    snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

static void on_progress(const ds_train_status *s, void *user) {
  cli_line *v = user;
  const long long done = s->iteration - s->first_iteration;
  if (!v->tty && done % 10 != 0 && s->iteration != s->target) return;
  char line[512], eta[32] = "", el[32];
  int n = snprintf(line, sizeof line, "iteration %lld", s->iteration);
  if (s->target) n += snprintf(line + n, sizeof line - (size_t)n, "/%lld", s->target);
  fmt_time(s->elapsed_s, el, sizeof el);
  n += snprintf(line + n, sizeof line - (size_t)n, "  %.1f samples/s  loss", s->samples_per_s);
  for (int i = 0; i < s->cfg->decoder_count; i++)
    n += snprintf(line + n, sizeof line - (size_t)n, " %s %.4f", s->cfg->decoders[i], s->loss[i]);
  if (s->has_mask) {
    n += snprintf(line + n, sizeof line - (size_t)n, "  mask");
    for (int i = 0; i < s->cfg->decoder_count; i++)
      n += snprintf(line + n, sizeof line - (size_t)n, " %s %.4f", s->cfg->decoders[i],
                    s->mask_loss[i]);
  }
  if (s->eta_s >= 0) {
    fmt_time(s->eta_s, eta, sizeof eta);
    snprintf(line + n, sizeof line - (size_t)n, "  elapsed %s  ETA %s", el, eta);
  } else {
    snprintf(line + n, sizeof line - (size_t)n, "  elapsed %s", el);
  }
  cli_line_status(v, line);
}

static void on_note(const char *text, void *user) { cli_line_note(user, text); }

#define CMD "dsengine train"

typedef struct train_args {
  ds_train_options o;
  const char *flag_device, *monitor;
} train_args;

static int parse_faces(ds_train_options *o, const char *v) {
  const char *eq = v ? strchr(v, '=') : NULL;
  if (!eq || eq == v || !eq[1])
    return cli_usage_error(CMD, "--faces needs NAME=DIR, not '%s'", v ? v : "");
  if (o->face_count == DS_MAX_IDENTITIES)
    return cli_usage_error(CMD, "at most %d --faces", DS_MAX_IDENTITIES);
  o->face_names[o->face_count] = strndup(v, (size_t)(eq - v));
  o->face_dirs[o->face_count++] = eq + 1;
  return DS_EXIT_OK;
}

static int parse_option(train_args *s, int argc, char **argv, int *i) {
  ds_train_options *o = &s->o;
  const char *v = NULL;
  int m = 0;
  long long n = 0;
  if (CLI_VALUE("--config")) {
    CLI_NEED(CMD);
    o->config_path = v;
  } else if (CLI_VALUE("--model")) {
    CLI_NEED(CMD);
    o->model_dir = v;
  } else if (CLI_VALUE("--device")) {
    CLI_NEED(CMD);
    s->flag_device = v;
  } else if (CLI_VALUE("--devices")) {
    CLI_NEED(CMD);
    o->devices = v;
  } else if (CLI_VALUE("--monitor")) {
    CLI_NEED(CMD);
    s->monitor = v;
  } else if (CLI_VALUE("--faces")) {
    CLI_NEED(CMD);
    return parse_faces(o, v);
  } else if (CLI_VALUE("--iterations")) {
    CLI_NEED(CMD);
    if (cli_parse_count(CMD, "--iterations", v, 1, &n)) return DS_EXIT_USAGE;
    o->iterations = n;
  } else if (CLI_VALUE("--batch")) {
    CLI_NEED(CMD);
    if (cli_parse_count(CMD, "--batch", v, 1, &n)) return DS_EXIT_USAGE;
    o->batch = (int)n;
  } else if (CLI_VALUE("--save-every")) {
    CLI_NEED(CMD);
    if (cli_parse_count(CMD, "--save-every", v, 1, &n)) return DS_EXIT_USAGE;
    o->save_every = (int)n;
  } else if (CLI_VALUE("--preview-every")) {
    CLI_NEED(CMD);
    if (cli_parse_count(CMD, "--preview-every", v, 1, &n)) return DS_EXIT_USAGE;
    o->preview_every = (int)n;
  } else if (CLI_VALUE("--seed")) {
    CLI_NEED(CMD);
    if (cli_parse_count(CMD, "--seed", v, 0, &n)) return DS_EXIT_USAGE;
    o->seed = (uint64_t)n;
  } else if (CLI_VALUE("--minutes")) {
    char *end;
    o->minutes = v ? strtod(v, &end) : 0;
    if (m < 0 || !v || *end || o->minutes <= 0)
      return cli_usage_error(CMD, "--minutes needs a positive number");
  } else if (strcmp(argv[*i], "--no-warp") == 0) {
    o->no_warp = 1;
  } else if (strcmp(argv[*i], "--no-flip") == 0) {
    o->no_flip = 1;
  } else {
    return cli_usage_error(CMD, "unknown option %s", argv[*i]);
  }
  return DS_EXIT_OK;
}

int cmd_train(int argc, char **argv) {
  train_args s;
  memset(&s, 0, sizeof s);
  s.o.seed = 1;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      fputs(help, stdout);
      return DS_EXIT_OK;
    }
    int rc = parse_option(&s, argc, argv, &i);
    if (rc != DS_EXIT_OK) return rc;
  }
  ds_train_options o = s.o;
  const char *flag_device = s.flag_device, *monitor = s.monitor;
  if (!o.model_dir) return cli_usage_error(CMD, "--model DIR is required");
  o.device_spec = cli_device_spec(flag_device, &o.device_origin);

  if (o.devices && flag_device) return cli_usage_error(CMD, "give --device or --devices, not both");

  /* MPI joins only under a launcher; otherwise a world of one */
  ds_error err = {0};
  if (ds_comm_create(&o.comm, NULL, NULL, &err) != DS_OK) return cli_fail(&err);
  /* the page is rank 0's: it alone holds the progress and writes the model */
  cli_monitor mon = {0};
  int rc = monitor && ds_comm_rank(o.comm) == 0 ? cli_monitor_start(CMD, monitor, o.model_dir, &mon)
                                                : DS_EXIT_OK;
  o.feed = mon.feed;
  o.stop = cli_stop_on_signals();
  ds_train_summary sum;
  if (rc == DS_EXIT_OK) rc = cli_train_run(&o, &sum);
  cli_monitor_stop(&mon);
  ds_comm_destroy(o.comm, rc == DS_EXIT_OK || rc == DS_EXIT_INTERRUPTED);
  for (int i = 0; i < o.face_count; i++)
    free((char *)o.face_names[i]);
  return rc;
}

int cli_train_run(const ds_train_options *o, ds_train_summary *sum) {
  cli_line v;
  cli_line_init(&v);
  ds_train_callbacks cb = {on_progress, on_note, &v};
  /* rank 0 alone reports progress; every rank reports its errors */
  const int root = ds_comm_rank(o->comm) == 0;
  ds_error err = {0};
  ds_status st = ds_train(o, root ? &cb : NULL, sum, &err);
  cli_line_end(&v);
  if (root && sum->last_iteration > sum->first_iteration) {
    char el[32];
    fmt_time(sum->seconds, el, sizeof el);
    printf("trained iterations %lld..%lld in %s (%.1f samples/s)\n", sum->first_iteration + 1,
           sum->last_iteration, el, sum->samples_per_s);
    const long long run = sum->last_iteration - sum->first_iteration;
    const long long w = run < DS_TRAIN_LOSS_WINDOW ? run : DS_TRAIN_LOSS_WINDOW;
    for (int i = 0; i < sum->identity_count; i++)
      printf("loss %s: first %lld iterations %.4f, last %lld %.4f (%.2fx)\n", sum->names[i], w,
             sum->loss_first[i], w, sum->loss_last[i],
             sum->loss_first[i] > 0 ? sum->loss_last[i] / sum->loss_first[i] : 0.0);
    if (sum->checkpoint_dir[0]) printf("model: %s/model.json\n", sum->checkpoint_dir);
    if (sum->preview_path[0]) printf("preview: %s\n", sum->preview_path);
  }
  if (st != DS_OK) return cli_fail(&err);
  return DS_EXIT_OK;
}
