#include "engine/convert/convert.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "engine/convert/frame_queue.h"
#include "engine/convert/smooth.h"
#include "engine/detect/face_finder.h"
#include "engine/media/image_dir.h"
#include "engine/media/png.h"
#include "engine/media/video.h"
#include "engine/media/video_writer.h"
#include "engine/model/checkpoint.h"
#include "engine/util/report.h"
#include "host/buffer.h"

enum { FRAMES_PER_BATCH = 8, QUEUE_FRAMES = 16, DEFAULT_FACE_BATCH = 16 };

typedef struct converter {
  const ds_convert_options *opt;
  const ds_convert_callbacks *cb;
  ds_convert_summary *sum;
  /* input */
  char **paths; /* a folder's images, or the one input */
  int path_count, folder, video;
  ds_video_reader *first; /* the first input, opened while checking */
  ds_video_info info;
  ds_alignments al;
  int have_al;
  ds_face_finder *finder;
  ds_runtime *detect_rt; /* the finder's device, used by the reader thread only */
  /* output */
  ds_video_writer *writer;
  int64_t last_pts;
  /* device */
  ds_runtime *rt;
  ds_model model;
  int model_on_device, to_id;
  ds_swapper *swapper;
  /* threads */
  ds_frame_queue q_read, q_write;
  pthread_mutex_t fail_lock;
  ds_status status;
  ds_error err;
  double t0;
  int64_t preview_at;
  int preview_done;
} converter;

/* ds_note to the caller's note callback, if any */
#define NOTE_TO(c) ((c)->cb ? (c)->cb->note : NULL), ((c)->cb ? (c)->cb->user : NULL)

/* Records the first failure of any thread and wakes the others to stop. */
static void fail(converter *c, ds_status st, ds_error *e) {
  pthread_mutex_lock(&c->fail_lock);
  if (c->status == DS_OK) {
    c->status = st;
    c->err = *e;
    memset(e, 0, sizeof *e);
  } else {
    ds_error_clear(e);
  }
  pthread_mutex_unlock(&c->fail_lock);
  ds_frame_queue_abort(&c->q_read);
  ds_frame_queue_abort(&c->q_write);
}

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

static const char *base_name(const char *path) {
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
static const ds_source_record *find_source(converter *c, const char *path) {
  if (!c->have_al) return NULL;
  const ds_source_record *s = ds_alignments_source(&c->al, path, 0);
  for (int i = 0; !s && i < c->al.source_count; i++)
    if (strcmp(base_name(c->al.sources[i].path), base_name(path)) == 0) s = &c->al.sources[i];
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

/* ---- the read thread ---- */

static ds_status faces_of(converter *c, const ds_source_record *src, ds_frame_item *it,
                          ds_error *err) {
  if (c->have_al) {
    const ds_frame_record *f = src ? ds_alignments_frame(src, it->index) : NULL;
    it->aligned = f != NULL;
    if (!f || !f->face_count) return DS_OK;
    it->faces = malloc((size_t)f->face_count * sizeof *it->faces);
    if (!it->faces) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
    memcpy(it->faces, f->faces, (size_t)f->face_count * sizeof *it->faces);
    it->face_count = f->face_count;
    return DS_OK;
  }
  it->aligned = 1;
  return ds_face_finder_run(c->finder, &it->image, &it->faces, &it->face_count, err);
}

static void *read_main(void *arg) {
  converter *c = arg;
  const ds_convert_options *o = c->opt;
  ds_error e = {0};
  ds_smoother smoother;
  ds_shot_detector shots = {0};
  ds_smoother_init(&smoother, o->smooth);
  int64_t delivered = 0;
  double busy = 0;
  int done = 0;
  for (int k = 0; k < c->path_count && !done; k++) {
    ds_video_reader *r = k == 0 ? c->first : NULL;
    ds_status st = r ? DS_OK : ds_video_open(c->paths[k], &r, &e);
    if (st != DS_OK) {
      fail(c, st, &e);
      break;
    }
    const ds_source_record *src = find_source(c, c->paths[k]);
    if (c->have_al && !src)
      ds_note(NOTE_TO(c), "warning: %s has no faces in %s; its frames pass through", c->paths[k],
              o->alignments);
    ds_smoother_reset(&smoother);
    for (;;) {
      if ((o->stop && *o->stop) || (o->max_frames > 0 && delivered >= o->max_frames)) {
        c->sum->interrupted = o->stop && *o->stop;
        done = 1;
        break;
      }
      const double t = ds_now_s();
      ds_frame_item *it = calloc(1, sizeof *it);
      if (!it) {
        st = ds_error_set(&e, DS_ERR_NO_MEMORY, "out of host memory");
        fail(c, st, &e);
        done = 1;
        break;
      }
      st = ds_video_read(r, &it->image, &it->index, &it->time, &e);
      if (c->folder) it->index = k;
      if (st == DS_ERR_NOT_FOUND) {
        ds_frame_item_free(it);
        break;
      }
      if (st == DS_ERR_CORRUPT) {
        /* keep what was decoded; the damaged rest cannot pass through */
        c->sum->corrupt++;
        snprintf(c->sum->corrupt_msg, sizeof c->sum->corrupt_msg, "%s", e.msg);
        ds_error_clear(&e);
        ds_frame_item_free(it);
        if (!c->folder) done = 1;
        break;
      }
      if (st == DS_OK) st = faces_of(c, src, it, &e);
      if (st != DS_OK) {
        ds_frame_item_free(it);
        fail(c, st, &e);
        done = 1;
        break;
      }
      if (ds_shot_detector_next(&shots, &it->image)) ds_smoother_reset(&smoother);
      if (!it->face_count) ds_smoother_reset(&smoother);
      ds_smoother_apply(&smoother, it->faces, it->face_count, c->have_al ? c->al.size : 256,
                        c->have_al ? c->al.padding : 48);
      busy += ds_now_s() - t;
      delivered++;
      if (!ds_frame_queue_push(&c->q_read, it)) {
        ds_frame_item_free(it);
        done = 1;
        break;
      }
    }
    ds_video_close(r);
    if (k == 0) c->first = NULL;
  }
  c->sum->read_s = busy;
  ds_frame_queue_close(&c->q_read);
  return NULL;
}

/* ---- the write thread ---- */

static ds_status write_item(converter *c, const ds_frame_item *it, ds_error *err) {
  if (c->video) {
    int64_t pts = llround(it->time * c->info.fps_num / c->info.fps_den);
    if (pts <= c->last_pts) pts = c->last_pts + 1;
    c->last_pts = pts;
    return ds_video_writer_write(c->writer, &it->image, pts, err);
  }
  if (!c->folder) return ds_png_write_rgb(c->opt->output, &it->image, NULL, err);
  char name[512], path[1400];
  snprintf(name, sizeof name, "%s", base_name(c->paths[it->index]));
  char *dot = strrchr(name, '.');
  if (dot) *dot = '\0';
  snprintf(path, sizeof path, "%s/%s.png", c->opt->output, name);
  return ds_png_write_rgb(path, &it->image, NULL, err);
}

static void *write_main(void *arg) {
  converter *c = arg;
  ds_error e = {0};
  double busy = 0;
  ds_frame_item *it;
  while ((it = ds_frame_queue_pop(&c->q_write))) {
    const double t = ds_now_s();
    ds_status st = write_item(c, it, &e);
    busy += ds_now_s() - t;
    ds_frame_item_free(it);
    if (st != DS_OK) {
      fail(c, st, &e);
      break;
    }
    c->sum->frames++;
    if (c->cb && c->cb->progress) {
      ds_convert_status s = {c->sum->frames,
                             c->video ? c->info.frame_count : c->path_count,
                             c->sum->faces,
                             ds_now_s() - c->t0,
                             0,
                             -1};
      if (c->opt->max_frames > 0 && (s.frame_count < 0 || s.frame_count > c->opt->max_frames))
        s.frame_count = c->opt->max_frames;
      s.frames_per_s = s.elapsed_s > 0 ? (double)s.frames_done / s.elapsed_s : 0;
      if (s.frame_count > 0 && s.frames_per_s > 0)
        s.eta_s = (double)(s.frame_count - s.frames_done) / s.frames_per_s;
      c->cb->progress(&s, c->cb->user);
    }
  }
  c->sum->write_s = busy;
  return NULL;
}

/* ---- the swap thread (the caller's) ---- */

/* Before | after of one frame, side by side. */
static void write_preview(converter *c, const ds_image *before, const ds_image *after) {
  ds_image img = {0};
  ds_error e = {0};
  if (ds_image_alloc(&img, 2 * before->width, before->height, 3, &e) != DS_OK) {
    ds_error_clear(&e);
    return;
  }
  const size_t row = (size_t)before->width * 3;
  for (int y = 0; y < before->height; y++) {
    memcpy(img.data + 2 * row * y, before->data + row * y, row);
    memcpy(img.data + 2 * row * y + row, after->data + row * y, row);
  }
  if (ds_png_write_rgb(c->opt->preview_path, &img, NULL, &e) == DS_OK) {
    snprintf(c->sum->preview_path, sizeof c->sum->preview_path, "%s", c->opt->preview_path);
  } else {
    ds_note(NOTE_TO(c), "warning: cannot write the preview: %s", e.msg);
    ds_error_clear(&e);
  }
  ds_image_free(&img);
}

static ds_status swap_batch(converter *c, ds_frame_item **items, int n, ds_error *err) {
  ds_image frames[FRAMES_PER_BATCH];
  ds_face_record *faces[FRAMES_PER_BATCH];
  int counts[FRAMES_PER_BATCH];
  int preview = -1;
  for (int i = 0; i < n; i++) {
    frames[i] = items[i]->image;
    faces[i] = items[i]->faces;
    counts[i] = items[i]->face_count;
    if (c->opt->preview_path && !c->preview_done && counts[i] && items[i]->index >= c->preview_at)
      preview = i;
  }
  ds_image before = {0};
  if (preview >= 0 &&
      ds_image_alloc(&before, frames[preview].width, frames[preview].height, 3, err) == DS_OK)
    memcpy(before.data, frames[preview].data, (size_t)before.width * before.height * 3);
  ds_error_clear(err);
  int swapped = 0;
  ds_status st = ds_swapper_run(c->swapper, frames, faces, counts, n, &swapped, err);
  if (st == DS_OK && before.data) {
    write_preview(c, &before, &frames[preview]);
    c->preview_done = 1;
  }
  ds_image_free(&before);
  if (st != DS_OK) return st;
  c->sum->faces += swapped;
  for (int i = 0; i < n; i++) {
    if (counts[i]) c->sum->frames_swapped++;
    if (!counts[i]) c->sum->frames_without_face++;
    if (!items[i]->aligned) c->sum->frames_unaligned++;
  }
  return DS_OK;
}

static void swap_loop(converter *c) {
  ds_error e = {0};
  ds_frame_item *items[FRAMES_PER_BATCH];
  double busy = 0;
  for (;;) {
    int n = 0;
    ds_frame_item *it;
    while (n < FRAMES_PER_BATCH && (it = ds_frame_queue_pop(&c->q_read)))
      items[n++] = it;
    if (n == 0) break;
    const double t = ds_now_s();
    ds_status st = swap_batch(c, items, n, &e);
    busy += ds_now_s() - t;
    int i = 0;
    for (; st == DS_OK && i < n; i++)
      if (!ds_frame_queue_push(&c->q_write, items[i])) break;
    for (; i < n; i++)
      ds_frame_item_free(items[i]);
    if (st != DS_OK) {
      fail(c, st, &e);
      break;
    }
  }
  c->sum->swap_s = busy;
  ds_frame_queue_close(&c->q_write);
}

/* ---- the whole run ---- */

static ds_status prepare(converter *c, ds_error *err) {
  const ds_convert_options *o = c->opt;
  ds_status st = open_input(c, err);
  if (st == DS_OK) st = load_alignments(c, err);
  if (st == DS_OK && c->have_al && !find_source(c, c->paths[0]))
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
  if (st == DS_OK) st = ds_swapper_create(c->rt, &c->model, c->to_id, &o->swap, &c->swapper, err);
  if (st == DS_OK && o->timing) ds_swapper_set_timing(c->swapper, &c->sum->device);
  return st;
}

ds_status ds_convert(const ds_convert_options *opt, const ds_convert_callbacks *cb,
                     ds_convert_summary *summary, ds_error *err) {
  converter c;
  memset(&c, 0, sizeof c);
  memset(summary, 0, sizeof *summary);
  c.opt = opt;
  c.cb = cb;
  c.sum = summary;
  c.t0 = ds_now_s();
  c.last_pts = -1;
  ds_status st = prepare(&c, err);
  if (st == DS_OK) {
    int64_t total = c.video ? c.info.frame_count : c.path_count;
    if (opt->max_frames > 0 && (total < 0 || total > opt->max_frames)) total = opt->max_frames;
    c.preview_at = total > 0 ? total / 2 : 0;
    c.t0 = ds_now_s();
    pthread_t reader, writer;
    int have_reader = 0, have_writer = 0;
    if (pthread_mutex_init(&c.fail_lock, NULL) != 0 ||
        !ds_frame_queue_init(&c.q_read, QUEUE_FRAMES) ||
        !ds_frame_queue_init(&c.q_write, QUEUE_FRAMES))
      st = ds_error_set(err, DS_ERR_NO_MEMORY, "cannot set up the convert threads");
    if (st == DS_OK) have_reader = pthread_create(&reader, NULL, read_main, &c) == 0;
    if (st == DS_OK) have_writer = pthread_create(&writer, NULL, write_main, &c) == 0;
    if (st == DS_OK && (!have_reader || !have_writer)) {
      st = ds_error_set(err, DS_ERR_NO_MEMORY, "cannot start the convert threads");
      ds_frame_queue_abort(&c.q_read);
      ds_frame_queue_abort(&c.q_write);
    }
    if (st == DS_OK) swap_loop(&c);
    if (have_reader) pthread_join(reader, NULL);
    if (have_writer) pthread_join(writer, NULL);
    ds_frame_queue_destroy(&c.q_read);
    ds_frame_queue_destroy(&c.q_write);
    pthread_mutex_destroy(&c.fail_lock);
    if (st == DS_OK && c.status != DS_OK) {
      st = c.status;
      *err = c.err;
    }
  }
  /* close the output whatever happened: the frames written stay playable */
  if (c.writer) {
    ds_error we = {0};
    ds_status ws = ds_video_writer_close(c.writer, &we);
    if (st == DS_OK && ws != DS_OK) {
      st = ws;
      *err = we;
    } else {
      ds_error_clear(&we);
    }
  }
  summary->seconds = ds_now_s() - c.t0;
  ds_swapper_destroy(c.swapper);
  if (c.model_on_device) ds_model_device_destroy(&c.model);
  ds_runtime_destroy(c.rt);
  ds_face_finder_destroy(c.finder);
  ds_runtime_destroy(c.detect_rt);
  ds_alignments_free(&c.al);
  ds_video_close(c.first);
  ds_image_dir_free(c.paths, c.path_count);
  if (st == DS_OK && summary->interrupted)
    return ds_error_set(err, DS_ERR_INTERRUPTED, "interrupted; %s holds the %lld frames done",
                        opt->output, (long long)summary->frames);
  return st;
}
