/* dsengine convert's run (engine/convert/convert.h): three threads, reading
 * and detecting, swapping batches on the device, encoding, joined by frame
 * queues; the set-up before them is convert_setup.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/convert/convert_internal.h"
#include "engine/convert/smooth.h"
#include "engine/media/image_dir.h"
#include "engine/media/png.h"
#include "engine/util/report.h"

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
    const ds_source_record *src = convert_find_source(c, c->paths[k]);
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
  snprintf(name, sizeof name, "%s", convert_base_name(c->paths[it->index]));
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
  ds_status st = convert_prepare(&c, err);
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
