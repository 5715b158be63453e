/* dsengine extract: faces of videos and images, aligned, with alignments.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cli/cli.h"
#include "engine/detect/align.h"
#include "engine/detect/extract.h"

#ifndef DS_DEFAULT_DETECTOR
#define DS_DEFAULT_DETECTOR "models/dlib_frontal_face_detector.dat"
#endif
#define DS_DEFAULT_LANDMARKS "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"

static const char *help =
    "usage: dsengine extract INPUT... --out DIR [OPTIONS]\n"
    "\n"
    "Finds faces in videos, images and folders of images with dlib's HOG detector,\n"
    "places 68 landmarks, aligns each face to the mean face as the original did and\n"
    "writes DIR/<source>_<frame>_<face>.png (256x256) and DIR/alignments.json.\n"
    "A second run over the same input reuses alignments.json (no detection).\n"
    "\n"
    "  --out DIR          output folder, created when missing\n"
    "  --every N          every Nth frame (default 1)\n"
    "  --min-size PX      ignore faces smaller than PX (default 40)\n"
    "  --upsample N       double the image N times before detecting small faces\n"
    "                     (default 0; each step is 4x the work)\n"
    "  --largest          keep only the largest face of each frame\n"
    "  --size PX          aligned face size (default 256)\n"
    "  --padding PX       border around the mean-face square (default 48)\n"
    "  --landmarks PATH   dlib 68-point model (default " DS_DEFAULT_LANDMARKS ",\n"
    "                     from Debian's libdlib-data)\n"
    "  --detector PATH    dlib frontal face detector (default: the copy in models/)\n"
    "  --redo             detect again even where alignments.json has the input\n"
    "  --device SPEC      see 'dsengine devices --help'\n";

static void on_progress(const ds_extract_status *s, void *user) {
  cli_line *v = user;
  if (!v->tty && s->frames_done % 50 != 0) return;
  char line[512];
  int n = snprintf(line, sizeof line, "%s frame %lld", s->source, (long long)s->frame);
  if (s->frames_in_source > 0)
    n += snprintf(line + n, sizeof line - (size_t)n, "/%lld", (long long)s->frames_in_source);
  snprintf(line + n, sizeof line - (size_t)n, "  %.1f frames/s  %lld faces", s->frames_per_s,
           (long long)s->faces);
  if (s->frames_in_source > 0 && s->frames_per_s > 0) {
    double eta = (double)(s->frames_in_source - s->frame - 1) / s->frames_per_s;
    n = (int)strlen(line);
    snprintf(line + n, sizeof line - (size_t)n, "  ETA %.0f s", eta > 0 ? eta : 0);
  }
  cli_line_status(v, line);
}

static void on_note(const char *text, void *user) { cli_line_note(user, text); }

#define CMD "dsengine extract"

typedef struct extract_args {
  ds_extract_options o;
  const char **inputs;
  int n_in;
  const char *flag_device;
} extract_args;

static int parse_option(extract_args *s, int argc, char **argv, int *i) {
  ds_extract_options *o = &s->o;
  const char *v = NULL;
  int m = 0;
  if (CLI_VALUE("--out")) {
    CLI_NEED(CMD);
    o->out_dir = v;
  } else if (CLI_VALUE("--every")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--every", v, 1, 1000000, &o->every);
  } else if (CLI_VALUE("--min-size")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--min-size", v, 1, 100000, &o->min_size);
  } else if (CLI_VALUE("--upsample")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--upsample", v, 0, 4, &o->upsample);
  } else if (CLI_VALUE("--size")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--size", v, 16, 4096, &o->size);
  } else if (CLI_VALUE("--padding")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--padding", v, 0, 2048, &o->padding);
  } else if (CLI_VALUE("--landmarks")) {
    CLI_NEED(CMD);
    o->landmarks_path = v;
  } else if (CLI_VALUE("--detector")) {
    CLI_NEED(CMD);
    o->detector_path = v;
  } else if (CLI_VALUE("--device")) {
    CLI_NEED(CMD);
    s->flag_device = v;
  } else if (strcmp(argv[*i], "--largest") == 0) {
    o->largest = 1;
  } else if (strcmp(argv[*i], "--redo") == 0) {
    o->redo = 1;
  } else if (argv[*i][0] == '-' && argv[*i][1]) {
    return cli_usage_error(CMD, "unknown option %s", argv[*i]);
  } else {
    s->inputs[s->n_in++] = argv[*i];
  }
  return DS_EXIT_OK;
}

int cmd_extract(int argc, char **argv) {
  extract_args s;
  memset(&s, 0, sizeof s);
  cli_extract_defaults(&s.o);
  s.inputs = calloc((size_t)argc, sizeof *s.inputs);
  if (!s.inputs) return cli_usage_error(CMD, "out of memory");
  int rc = DS_EXIT_OK;
  for (int i = 1; i < argc && rc == DS_EXIT_OK; i++) {
    if (cli_is_help(argv[i])) {
      fputs(help, stdout);
      free(s.inputs);
      return DS_EXIT_OK;
    }
    rc = parse_option(&s, argc, argv, &i);
  }
  ds_extract_options o = s.o;
  const char **inputs = s.inputs, *flag_device = s.flag_device;
  const int n_in = s.n_in;
  if (rc == DS_EXIT_OK && !n_in) rc = cli_usage_error(CMD, "no INPUT given");
  if (rc == DS_EXIT_OK && !o.out_dir) rc = cli_usage_error(CMD, "--out DIR is required");
  if (rc == DS_EXIT_OK && 2 * o.padding >= o.size)
    rc = cli_usage_error(CMD, "--padding %d leaves no face in --size %d", o.padding, o.size);
  if (rc != DS_EXIT_OK) {
    free(inputs);
    return rc;
  }
  o.inputs = inputs;
  o.input_count = n_in;
  o.device_spec = cli_device_spec(flag_device, &o.device_origin);
  o.stop = cli_stop_on_signals();

  ds_extract_summary sum;
  rc = cli_extract_run(&o, &sum);
  free(inputs);
  return rc;
}

int cli_extract_run(const ds_extract_options *o, ds_extract_summary *sum) {
  cli_line v;
  cli_line_init(&v);
  ds_extract_callbacks cb = {on_progress, on_note, &v};
  ds_error err = {0};
  ds_status st = ds_extract(o, &cb, sum, &err);
  cli_line_end(&v);
  printf("%lld frames from %d sources in %.1f s (%.1f frames/s): %lld faces, %lld frames without "
         "a face%s\n",
         (long long)sum->frames, sum->sources, sum->seconds,
         sum->seconds > 0 ? (double)sum->frames / sum->seconds : 0.0, (long long)sum->faces,
         (long long)sum->frames_without_face, sum->reused ? " (some from alignments.json)" : "");
  if (st != DS_OK) return cli_fail(&err);
  return DS_EXIT_OK;
}

void cli_extract_defaults(ds_extract_options *o) {
  memset(o, 0, sizeof *o);
  o->every = 1;
  o->min_size = 40;
  o->size = DS_ALIGN_SIZE;
  o->padding = DS_ALIGN_PADDING;
  o->detector_path = DS_DEFAULT_DETECTOR;
  o->landmarks_path = DS_DEFAULT_LANDMARKS;
}
