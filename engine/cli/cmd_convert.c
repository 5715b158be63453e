/* dsengine convert: swap faces in a video, an image or a folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cli/cli.h"
#include "engine/convert/convert.h"

#ifndef DS_DEFAULT_DETECTOR
#define DS_DEFAULT_DETECTOR "models/dlib_frontal_face_detector.dat"
#endif
#define DS_DEFAULT_LANDMARKS "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"

static const char *CMD = "dsengine convert";

static const char *help =
    "usage: dsengine convert --model DIR --swap A:B INPUT --out FILE [OPTIONS]\n"
    "\n"
    "Replaces the faces of identity A in INPUT (a video, an image or a folder of\n"
    "images) with identity B drawn by the model's decoder B, and writes a video of\n"
    "the same size, frame rate and length with the source's audio (H.264 .mp4 or\n"
    ".mkv), a .png for an image, or a folder of .png for a folder.\n"
    "\n"
    "  --model DIR        trained model folder (from dsengine train)\n"
    "  --swap A:B         draw faces of A with the decoder of B\n"
    "  --out FILE         output video, image or folder\n"
    "  --alignments FILE  faces from this alignments.json (dsengine extract) instead\n"
    "                     of detecting them again\n"
    "  --smooth S         temporal smoothing of landmarks, 0 (off) to 0.95 (default 0.6)\n"
    "  --mask M           hull, rect, hull-rect, hull-brows (the hull raised above\n"
    "                     the eyebrows) or learned (the hull and the mask the model\n"
    "                     draws; needs \"decoder\": {\"mask\": true}); default: learned\n"
    "                     for a model with a mask, else hull\n"
    "  --erode PX         shrink the mask by PX (negative grows it; default 0)\n"
    "  --blur PX          soften the mask edge with a PX box blur (default 5)\n"
    "  --color C          avg (default), reinhard, hist or none\n"
    "  --blend B          poisson (default) or alpha\n"
    "  --crf N            H.264 quality, 0 (lossless) to 51 (default 18)\n"
    "  --batch N          faces per forward pass (default 16)\n"
    "  --frames N         stop after N frames\n"
    "  --preview FILE     write a before/after PNG of a frame from the middle\n"
    "  --config FILE      check that the model was made with this config\n"
    "  --upsample N       detector upsampling for small faces (default 0)\n"
    "  --min-size PX      ignore faces smaller than PX (default 40)\n"
    "  --landmarks PATH   dlib 68-point model (default " DS_DEFAULT_LANDMARKS ")\n"
    "  --detector PATH    dlib frontal face detector (default: the copy in models/)\n"
    "  --device SPEC      see 'dsengine devices --help'\n"
    "  --timing           time each stage (waits for the device between stages)\n"
    "\n"
    "Ctrl-C stops early; the output then holds the frames done and plays.\n";

static void fmt_eta(double s, char *buf, size_t cap) {
  long t = s > 0 ? (long)(s + 0.5) : 0;
  snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

static void on_progress(const ds_convert_status *s, void *user) {
  cli_line *v = user;
  if (!v->tty && s->frames_done % 50 != 0) return;
  char line[256], eta[32];
  int n = snprintf(line, sizeof line, "frame %lld", (long long)s->frames_done);
  if (s->frame_count > 0)
    n += snprintf(line + n, sizeof line - (size_t)n, "/%lld", (long long)s->frame_count);
  n += snprintf(line + n, sizeof line - (size_t)n, "  %.1f fps  %lld faces swapped",
                s->frames_per_s, (long long)s->faces);
  if (s->eta_s >= 0) {
    fmt_eta(s->eta_s, eta, sizeof eta);
    snprintf(line + n, sizeof line - (size_t)n, "  ETA %s", eta);
  }
  cli_line_status(v, line);
}

static void on_note(const char *text, void *user) { cli_line_note(user, text); }

void cli_convert_defaults(ds_convert_options *o) {
  memset(o, 0, sizeof *o);
  o->detector_path = DS_DEFAULT_DETECTOR;
  o->landmarks_path = DS_DEFAULT_LANDMARKS;
  o->min_size = 40;
  o->smooth = 0.6f;
  o->swap.mask = DS_MASK_HULL;
  o->mask_auto = 1;
  o->swap.blur = 5;
  o->swap.color = DS_COLOR_AVG;
  o->swap.poisson = 1;
  o->crf = 18;
}

int cli_convert_run(const ds_convert_options *o, ds_convert_summary *sum) {
  cli_line v;
  cli_line_init(&v);
  ds_convert_callbacks cb = {on_progress, on_note, &v};
  ds_error err = {0};
  ds_status st = ds_convert(o, &cb, sum, &err);
  cli_line_end(&v);
  if (sum->frames || st == DS_OK || st == DS_ERR_INTERRUPTED) {
    printf("%lld frames in %.1f s (%.1f fps): %lld faces swapped in %lld frames, %lld frames "
           "without a face",
           (long long)sum->frames, sum->seconds,
           sum->seconds > 0 ? (double)sum->frames / sum->seconds : 0.0, (long long)sum->faces,
           (long long)sum->frames_swapped, (long long)sum->frames_without_face);
    if (o->alignments && sum->frames_unaligned)
      printf(", %lld not in the alignments", (long long)sum->frames_unaligned);
    printf("\n");
    if (sum->corrupt)
      fprintf(stderr,
              "dsengine: warning: the input ended early: %s; the %lld frames before it are "
              "converted\n",
              sum->corrupt_msg, (long long)sum->frames);
    if (sum->codec[0])
      printf("wrote %s (%s%s)\n", o->output, sum->codec, sum->audio ? ", audio copied" : "");
    else if (sum->frames)
      printf("wrote %s\n", o->output);
    if (sum->preview_path[0]) printf("preview: %s\n", sum->preview_path);
    if (o->timing && sum->frames) {
      const double k = 1000.0 / (double)sum->frames;
      printf("ms per frame: read+detect %.1f, device %.1f (upload %.1f, encoder+decoder %.1f, "
             "mask+colour+blend %.1f, download %.1f), write %.1f; the slowest sets the pace\n",
             sum->read_s * k, sum->swap_s * k, sum->device.upload * k, sum->device.infer * k,
             sum->device.blend * k, sum->device.download * k, sum->write_s * k);
    }
  }
  if (st != DS_OK) return cli_fail(&err);
  return DS_EXIT_OK;
}

static int parse_swap(const char *v, char *from, char *to, size_t cap) {
  const char *colon = v ? strchr(v, ':') : NULL;
  if (!colon || colon == v || !colon[1] || (size_t)(colon - v) >= cap || strlen(colon + 1) >= cap)
    return cli_usage_error(CMD, "--swap needs FROM:TO identity names, e.g. A:B, not '%s'",
                           v ? v : "");
  memcpy(from, v, (size_t)(colon - v));
  from[colon - v] = '\0';
  snprintf(to, cap, "%s", colon + 1);
  return DS_EXIT_OK;
}

static int parse_option(ds_convert_options *o, int argc, char **argv, int *i, char *from, char *to,
                        const char **device) {
  const char *v = NULL;
  int m = 0, ival = 0;
  double d = 0;
  if (CLI_VALUE("--model")) {
    CLI_NEED(CMD);
    o->model_dir = v;
  } else if (CLI_VALUE("--swap")) {
    CLI_NEED(CMD);
    return parse_swap(v, from, to, 32);
  } else if (CLI_VALUE("--out")) {
    CLI_NEED(CMD);
    o->output = v;
  } else if (CLI_VALUE("--alignments")) {
    CLI_NEED(CMD);
    o->alignments = v;
  } else if (CLI_VALUE("--smooth")) {
    CLI_NEED(CMD);
    if (cli_parse_float(CMD, "--smooth", v, 0, 0.95, &d)) return DS_EXIT_USAGE;
    o->smooth = (float)d;
  } else if (CLI_VALUE("--mask")) {
    CLI_NEED(CMD);
    o->mask_auto = 0;
    if (!ds_mask_kind_parse(v, &o->swap.mask))
      return cli_usage_error(CMD,
                             "--mask is hull, rect, hull-rect, hull-brows or learned, not '%s'", v);
  } else if (CLI_VALUE("--erode")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--erode", v, -200, 200, &o->swap.erode);
  } else if (CLI_VALUE("--blur")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--blur", v, 0, 200, &o->swap.blur);
  } else if (CLI_VALUE("--color")) {
    CLI_NEED(CMD);
    if (!ds_color_kind_parse(v, &o->swap.color))
      return cli_usage_error(CMD, "--color is avg, reinhard, hist or none, not '%s'", v);
  } else if (CLI_VALUE("--blend")) {
    CLI_NEED(CMD);
    if (strcmp(v, "poisson") && strcmp(v, "alpha"))
      return cli_usage_error(CMD, "--blend is poisson or alpha, not '%s'", v);
    o->swap.poisson = strcmp(v, "poisson") == 0;
  } else if (CLI_VALUE("--crf")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--crf", v, 0, 51, &o->crf);
  } else if (CLI_VALUE("--batch")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--batch", v, 1, 256, &o->batch);
  } else if (CLI_VALUE("--frames")) {
    CLI_NEED(CMD);
    if (cli_parse_int(CMD, "--frames", v, 1, 2000000000, &ival)) return DS_EXIT_USAGE;
    o->max_frames = ival;
  } else if (CLI_VALUE("--preview")) {
    CLI_NEED(CMD);
    o->preview_path = v;
  } else if (CLI_VALUE("--config")) {
    CLI_NEED(CMD);
    o->config_path = v;
  } else if (CLI_VALUE("--upsample")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--upsample", v, 0, 4, &o->upsample);
  } else if (CLI_VALUE("--min-size")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--min-size", v, 1, 100000, &o->min_size);
  } else if (CLI_VALUE("--landmarks")) {
    CLI_NEED(CMD);
    o->landmarks_path = v;
  } else if (CLI_VALUE("--detector")) {
    CLI_NEED(CMD);
    o->detector_path = v;
  } else if (CLI_VALUE("--device")) {
    CLI_NEED(CMD);
    *device = v;
  } else if (strcmp(argv[*i], "--timing") == 0) {
    o->timing = 1;
  } else if (argv[*i][0] == '-' && argv[*i][1]) {
    return cli_usage_error(CMD, "unknown option %s", argv[*i]);
  } else if (o->input) {
    return cli_usage_error(CMD, "one INPUT only (%s, then %s); a folder of images is one INPUT",
                           o->input, argv[*i]);
  } else {
    o->input = argv[*i];
  }
  return DS_EXIT_OK;
}

int cmd_convert(int argc, char **argv) {
  ds_convert_options o;
  cli_convert_defaults(&o);
  char from[32] = "", to[32] = "";
  const char *device = NULL;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      fputs(help, stdout);
      return DS_EXIT_OK;
    }
    int rc = parse_option(&o, argc, argv, &i, from, to, &device);
    if (rc != DS_EXIT_OK) return rc;
  }
  if (!o.model_dir) return cli_usage_error(CMD, "--model DIR is required");
  if (!from[0]) return cli_usage_error(CMD, "--swap A:B is required");
  if (!o.input) return cli_usage_error(CMD, "no INPUT given");
  if (!o.output) return cli_usage_error(CMD, "--out FILE is required");
  o.from = from;
  o.to = to;
  o.device_spec = cli_device_spec(device, &o.device_origin);
  o.stop = cli_stop_on_signals();
  ds_convert_summary sum;
  return cli_convert_run(&o, &sum);
}
