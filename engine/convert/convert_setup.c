/* dsengine convert before the first frame: the input (a video, an image or a
 * folder of images), the alignments that go with it, the model and decoder,
 * and the output; each failure named before any work is done. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "engine/convert/convert_internal.h"
#include "engine/media/image_dir.h"
#include "engine/model/checkpoint.h"
#include "engine/util/report.h"
#include "host/buffer.h"

static int has_ext(const char *path, const char *const *exts) {
  const char *dot = strrchr(path, '.');
  if (!dot) return 0;
  for (; *exts; exts++)
    if (strcasecmp(dot, *exts) == 0) return 1;
  return 0;
}

static const char *const IMAGE_EXT[] = {".png", ".jpg",  ".jpeg", ".bmp",
                                        ".tif", ".tiff", ".webp", NULL};
static const char *const VIDEO_OUT_EXT[] = {".mp4", ".m4v", ".mov", ".mkv", NULL};

const char *convert_base_name(const char *path) {
  const char *b = strrchr(path, '/');
  return b ? b + 1 : path;
}

/* ---- checks before any work ---- */

static ds_status open_input(converter *c, ds_error *err) {
  const ds_convert_options *o = c->opt;
  struct stat sb;
  if (stat(o->input, &sb) != 0)
    return ds_error_set(err, DS_ERR_NOT_FOUND, "%s: no such file or folder", o->input);
  if (S_ISDIR(sb.st_mode)) {
    c->folder = 1;
    ds_status st = ds_image_dir_list(o->input, &c->paths, &c->path_count, err);
    if (st == DS_OK && c->path_count == 0)
      st =
          ds_error_set(err, DS_ERR_INVALID, "%s: no images (*.png, *.jpg) in the folder", o->input);
    if (st != DS_OK) return st;
  } else {
    c->paths = malloc(sizeof *c->paths);
    if (c->paths) c->paths[0] = strdup(o->input);
    if (!c->paths || !c->paths[0]) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
    c->path_count = 1;
    c->video = !has_ext(o->input, IMAGE_EXT);
  }
  ds_status st = ds_video_open(c->paths[0], &c->first, err);
  if (st != DS_OK) return st;
  c->info = *ds_video_get_info(c->first);
  if (c->video) {
    if (!has_ext(o->output, VIDEO_OUT_EXT))
      return ds_error_set(err, DS_ERR_INVALID,
                          "--out %s: a video converts to a video; name the output .mp4 or .mkv",
                          o->output);
    if (c->info.fps_num <= 0 || c->info.fps_den <= 0) c->info.fps_num = 30, c->info.fps_den = 1;
    if (c->info.width % 2 || c->info.height % 2)
      return ds_error_set(err, DS_ERR_INVALID,
                          "%s: %dx%d frames; H.264 output needs an even width and height", o->input,
                          c->info.width, c->info.height);
  } else if (c->folder) {
    if (mkdir(o->output, 0755) != 0 && errno != EEXIST)
      return ds_error_set(err, DS_ERR_IO, "--out %s: cannot create the folder: %s", o->output,
                          strerror(errno));
  } else if (!has_ext(o->output, (const char *const[]){".png", NULL})) {
    return ds_error_set(err, DS_ERR_INVALID, "--out %s: an image converts to a .png", o->output);
  }
  return DS_OK;
}

static ds_status open_output(converter *c, ds_error *err) {
  const ds_convert_options *o = c->opt;
  if (c->video) {
    ds_status st = ds_video_writer_open(o->output, c->info.width, c->info.height, c->info.fps_num,
                                        c->info.fps_den, o->crf,
                                        c->info.has_audio ? o->input : NULL, &c->writer, err);
    if (st != DS_OK) return st;
    snprintf(c->sum->codec, sizeof c->sum->codec, "%s", ds_video_writer_codec_name(c->writer));
    c->sum->audio = c->info.has_audio;
    return DS_OK;
  }
  /* images: prove the output place is writable now, not after the work */
  char probe[1200];
  if (c->folder)
    snprintf(probe, sizeof probe, "%s/.dsengine-write-test", o->output);
  else
    snprintf(probe, sizeof probe, "%s", o->output);
  FILE *f = fopen(probe, "ab");
  if (!f)
    return ds_error_set(err, DS_ERR_IO, "--out %s: cannot write there: %s", o->output,
                        strerror(errno));
  fclose(f);
  if (c->folder) remove(probe);
  return DS_OK;
}

static ds_status load_alignments(converter *c, ds_error *err) {
  if (!c->opt->alignments) return DS_OK;
  ds_status st = ds_alignments_load(c->opt->alignments, &c->al, err);
  if (st != DS_OK) return st;
  c->have_al = 1;
  return DS_OK;
}

/* The alignments of an input: the same path, else the same file name. */
const ds_source_record *convert_find_source(converter *c, const char *path) {
  if (!c->have_al) return NULL;
  const ds_source_record *s = ds_alignments_source(&c->al, path, 0);
  for (int i = 0; !s && i < c->al.source_count; i++)
    if (strcmp(convert_base_name(c->al.sources[i].path), convert_base_name(path)) == 0)
      s = &c->al.sources[i];
  return s;
}

static ds_status load_model(converter *c, ds_error *err) {
  const ds_convert_options *o = c->opt;
  if (!ds_checkpoint_exists(o->model_dir))
    return ds_error_set(err, DS_ERR_NOT_FOUND,
                        "--model %s: no model there (no model.json); train one with "
                        "dsengine train --model %s",
                        o->model_dir, o->model_dir);
  ds_checkpoint ck = {0};
  ds_status st = ds_checkpoint_load(o->model_dir, &ck, err);
  ds_model_config cfg;
  char where[1100];
  snprintf(where, sizeof where, "%s/model.json", o->model_dir);
  if (st == DS_OK) st = ds_model_config_parse(ck.config_json, where, &cfg, err);
  c->swap = o->swap;
  if (st == DS_OK && o->mask_auto && cfg.dec_mask) {
    c->swap.mask = DS_MASK_LEARNED;
    ds_note(NOTE_TO(c), "the model has a learned mask, so the mask is --mask learned (give --mask "
                        "hull for the landmark hull alone)");
  }
  if (st == DS_OK && o->swap.mask == DS_MASK_LEARNED && !cfg.dec_mask)
    st =
        ds_error_set(err, DS_ERR_INVALID,
                     "--mask learned: the model in %s has no learned mask; train one from a config "
                     "with \"decoder\": {\"mask\": true}, or use --mask hull or hull-brows",
                     o->model_dir);
  if (st == DS_OK && ck.used_backup) ds_note(NOTE_TO(c), "warning: %s", ck.warning);
  if (st == DS_OK && o->config_path) {
    ds_model_config given;
    char why[256];
    st = ds_model_config_load(o->config_path, &given, err);
    if (st == DS_OK && !ds_model_config_same_network(&given, &cfg, why, sizeof why))
      st = ds_error_set(err, DS_ERR_INVALID, "%s does not describe the model in %s (%s)",
                        o->config_path, o->model_dir, why);
  }
  const char *names[2] = {o->from, o->to};
  for (int i = 0; st == DS_OK && i < 2; i++)
    if (ds_model_identity_index(&cfg, names[i]) < 0) {
      st = ds_error_set(err, DS_ERR_INVALID, "--swap %s:%s: the model has no identity %s; it has",
                        o->from, o->to, names[i]);
      for (int k = 0; k < cfg.decoder_count; k++)
        ds_error_append(err, " %s", cfg.decoders[k]);
    }
  if (st == DS_OK) {
    c->to_id = ds_model_identity_index(&cfg, o->to);
    ds_model_build(&c->model, &cfg);
    if (ck.weights.data_count != c->model.param_floats)
      st = ds_error_set(err, DS_ERR_CORRUPT, "%s: the weights do not match the model's config",
                        o->model_dir);
  }
  if (st == DS_OK) st = ds_runtime_open(&c->rt, o->device_spec, o->device_origin, 0, err);
  const unsigned batch = (unsigned)(o->batch > 0 ? o->batch : DEFAULT_FACE_BATCH);
  if (st == DS_OK) st = ds_model_device_create_inference(&c->model, c->rt, batch, err);
  if (st == DS_OK) {
    c->model_on_device = 1;
    st =
        ds_buffer_write(c->rt, c->model.params, 0, c->model.param_floats * 4, ck.weights.data, err);
  }
  if (st == DS_OK)
    ds_note(NOTE_TO(c), "model %s (%s, iteration %lld): %s -> %s on %s", o->model_dir, cfg.name,
            (long long)ck.iteration, o->from, o->to, c->rt->device.name);
  ds_checkpoint_free(&ck);
  return st;
}

ds_status convert_prepare(converter *c, ds_error *err) {
  const ds_convert_options *o = c->opt;
  ds_status st = open_input(c, err);
  if (st == DS_OK) st = load_alignments(c, err);
  if (st == DS_OK && c->have_al && !convert_find_source(c, c->paths[0]))
    st = ds_error_set(err, DS_ERR_INVALID,
                      "--alignments %s has no faces of %s (made by "
                      "dsengine extract on another input?)",
                      o->alignments, c->paths[0]);
  if (st == DS_OK && !c->have_al) {
    /* the reader thread detects on its own context and queue */
    st = ds_runtime_open(&c->detect_rt, o->device_spec, o->device_origin, 0, err);
    const ds_face_finder_options fo = {
        o->detector_path, o->landmarks_path, o->upsample, o->min_size, 0, 256, 48, c->detect_rt};
    if (st == DS_OK) st = ds_face_finder_create(&fo, &c->finder, err);
  }
  if (st == DS_OK) st = load_model(c, err);
  if (st == DS_OK) st = open_output(c, err);
  if (st == DS_OK) st = ds_swapper_create(c->rt, &c->model, c->to_id, &c->swap, &c->swapper, err);
  if (st == DS_OK && o->timing) ds_swapper_set_timing(c->swapper, &c->sum->device);
  return st;
}
