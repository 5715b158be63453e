#include "engine/detect/extract.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "engine/detect/align.h"
#include "engine/detect/alignments.h"
#include "engine/detect/face_finder.h"
#include "engine/media/image_dir.h"
#include "engine/media/png.h"
#include "engine/media/video.h"
#include "engine/model/tensor_file.h"
#include "engine/util/report.h"
#include "host/buffer.h"

typedef struct extractor {
  const ds_extract_options *opt;
  const ds_extract_callbacks *cb;
  ds_face_finder *finder;
  ds_runtime *rt;
  cl_mem frame_buf, face_buf;
  size_t frame_bytes;
  ds_image face;
  ds_alignments al;
  char al_path[1100];
  ds_extract_summary *sum;
  double t0;
} extractor;

/* ds_note to the caller's note callback, if any */
#define NOTE_TO(x) ((x)->cb ? (x)->cb->note : NULL), ((x)->cb ? (x)->cb->user : NULL)

/* "clip" for "/data/clip.mp4" */
static void stem(const char *path, char *out, size_t cap) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  snprintf(out, cap, "%s", base);
  char *dot = strrchr(out, '.');
  if (dot && dot != out) *dot = '\0';
}

static int is_image_path(const char *path) {
  const char *dot = strrchr(path, '.');
  if (!dot) return 0;
  static const char *ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"};
  for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
    if (strcasecmp(dot, ext[i]) == 0) return 1;
  return 0;
}

static ds_status write_face(extractor *x, const char *source, int64_t index, int k,
                            const ds_image *frame, ds_face_record *rec, ds_error *err) {
  const int size = x->opt->size;
  const size_t bytes = (size_t)frame->width * frame->height * 3;
  ds_status st = DS_OK;
  if (bytes > x->frame_bytes) {
    ds_buffer_release(&x->frame_buf);
    st = ds_buffer_create(x->rt, bytes, CL_MEM_READ_ONLY, "video frame", &x->frame_buf, err);
    x->frame_bytes = st == DS_OK ? bytes : 0;
  }
  /* the same frame serves every face of it: upload once, for face 0 */
  if (st == DS_OK && k == 0) st = ds_buffer_write(x->rt, x->frame_buf, 0, bytes, frame->data, err);
  if (st == DS_OK)
    st = ds_warp_affine_rgb8(x->rt, x->frame_buf, frame->width, frame->height, x->face_buf, size,
                             size, rec->matrix, err);
  if (st == DS_OK)
    st = ds_buffer_read(x->rt, x->face_buf, 0, (size_t)size * size * 3, x->face.data, err);
  if (st != DS_OK) return st;

  char name[DS_FACE_FILE_MAX], stemmed[200], path[1400], frame_text[32], matrix_text[256];
  stem(source, stemmed, sizeof stemmed);
  snprintf(name, sizeof name, "%s_%06lld_%d.png", stemmed, (long long)index, k);
  snprintf(rec->file, sizeof rec->file, "%s", name);
  snprintf(path, sizeof path, "%s/%s", x->opt->out_dir, name);
  snprintf(frame_text, sizeof frame_text, "%lld", (long long)index);
  snprintf(matrix_text, sizeof matrix_text, "%.9g %.9g %.9g %.9g %.9g %.9g", rec->matrix[0],
           rec->matrix[1], rec->matrix[2], rec->matrix[3], rec->matrix[4], rec->matrix[5]);
  const char *text[] = {"dsengine:source", source, "dsengine:frame", frame_text, "dsengine:matrix",
                        matrix_text,       NULL};
  return ds_png_write_rgb(path, &x->face, text, err);
}

static ds_status extract_source(extractor *x, const char *path, ds_error *err) {
  ds_video_reader *r = NULL;
  ds_status st = ds_video_open(path, &r, err);
  if (st != DS_OK) return st;
  const ds_video_info *info = ds_video_get_info(r);
  ds_source_record *done = x->opt->redo ? NULL : ds_alignments_source(&x->al, path, 0);
  if (done && done->frame_len == 0) done = NULL;
  if (done) x->sum->reused++;
  ds_source_record *rec = NULL;
  if (!done || x->opt->redo) {
    if (x->opt->redo && (rec = ds_alignments_source(&x->al, path, 0))) {
      /* start the source afresh: drop what an earlier run recorded */
      for (int i = 0; i < rec->frame_len; i++)
        free(rec->frames[i].faces);
      rec->frame_len = 0;
    }
    rec = ds_alignments_source(&x->al, path, 1);
    if (!rec)
      st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
    else {
      rec->is_video = !is_image_path(path);
      rec->width = info->width;
      rec->height = info->height;
      rec->frame_count = info->frame_count;
    }
  }
  ds_image frame = {0};
  int64_t index = 0, frames_here = 0;
  double time = 0;
  x->sum->sources++;
  while (st == DS_OK) {
    if (x->opt->stop && *x->opt->stop) {
      x->sum->interrupted = 1;
      break;
    }
    ds_status rs = ds_video_read(r, &frame, &index, &time, err);
    if (rs == DS_ERR_NOT_FOUND) break;
    if (rs != DS_OK) {
      st = rs;
      break;
    }
    if (index % x->opt->every != 0) continue;
    ds_face_record *faces = NULL;
    int count = 0;
    if (done) {
      const ds_frame_record *f = ds_alignments_frame(done, index);
      if (!f) continue; /* not processed by the earlier run */
      if (f->face_count) {
        faces = malloc((size_t)f->face_count * sizeof *faces);
        if (!faces)
          st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
        else
          memcpy(faces, f->faces, (size_t)f->face_count * sizeof *faces);
        count = f->face_count;
      }
    } else {
      st = ds_face_finder_run(x->finder, &frame, &faces, &count, err);
    }
    for (int k = 0; st == DS_OK && k < count; k++)
      st = write_face(x, path, index, k, &frame, &faces[k], err);
    if (st == DS_OK && !done) st = ds_alignments_add_frame(rec, index, time, faces, count, err);
    free(faces);
    if (st != DS_OK) break;
    frames_here++;
    x->sum->frames++;
    x->sum->faces += count;
    if (count == 0) x->sum->frames_without_face++;
    if (x->cb && x->cb->progress) {
      ds_extract_status s = {
          path, index, info->frame_count, x->sum->frames, x->sum->faces, ds_now_s() - x->t0, 0};
      s.frames_per_s = s.elapsed_s > 0 ? (double)s.frames_done / s.elapsed_s : 0;
      x->cb->progress(&s, x->cb->user);
    }
  }
  ds_image_free(&frame);
  ds_video_close(r);
  /* keep a finished source, and what a damaged one gave; an interrupted one
   * is left out so the next run extracts it again */
  if (!done && !x->sum->interrupted) {
    ds_error save_err = {0};
    ds_status ss = ds_alignments_save(x->al_path, &x->al, &save_err);
    if (st == DS_OK) {
      st = ss;
      if (ss != DS_OK) *err = save_err;
    } else {
      ds_error_clear(&save_err);
    }
  }
  if (st == DS_OK)
    ds_note(NOTE_TO(x), "%s: %lld frames%s", path, (long long)frames_here,
            done ? " (faces from alignments.json)" : "");
  return st;
}

ds_status ds_extract(const ds_extract_options *opt, const ds_extract_callbacks *cb,
                     ds_extract_summary *summary, ds_error *err) {
  extractor x;
  memset(&x, 0, sizeof x);
  memset(summary, 0, sizeof *summary);
  x.opt = opt;
  x.cb = cb;
  x.sum = summary;
  x.t0 = ds_now_s();
  ds_alignments_init(&x.al, opt->size, opt->padding);
  snprintf(x.al_path, sizeof x.al_path, "%s/alignments.json", opt->out_dir);

  ds_status st = ds_make_dirs(opt->out_dir, "output folder", err);
  if (st == DS_OK) {
    ds_status ls = ds_alignments_load(x.al_path, &x.al, err);
    if (ls == DS_ERR_NOT_FOUND) {
      ds_error_clear(err);
      ds_alignments_init(&x.al, opt->size, opt->padding);
    } else if (ls != DS_OK) {
      st = ls;
      ds_error_append(err, "; pass --redo to extract again, or remove it");
    } else if (x.al.size != opt->size || x.al.padding != opt->padding) {
      st = ds_error_set(
          err, DS_ERR_INVALID,
          "%s was made with --size %d --padding %d; use those, another --out or --redo", x.al_path,
          x.al.size, x.al.padding);
    }
  }
  if (st == DS_OK) st = ds_runtime_open(&x.rt, opt->device_spec, opt->device_origin, 0, err);
  if (st == DS_OK) {
    const ds_face_finder_options fo = {
        opt->detector_path, opt->landmarks_path, opt->upsample, opt->min_size,
        opt->largest,       opt->size,           opt->padding,  x.rt};
    st = ds_face_finder_create(&fo, &x.finder, err);
  }
  if (st == DS_OK)
    st = ds_buffer_create(x.rt, (size_t)opt->size * opt->size * 3, CL_MEM_WRITE_ONLY,
                          "aligned face", &x.face_buf, err);
  if (st == DS_OK) st = ds_image_alloc(&x.face, opt->size, opt->size, 3, err);

  for (int i = 0; st == DS_OK && i < opt->input_count && !summary->interrupted; i++) {
    struct stat sb;
    if (stat(opt->inputs[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
      char **paths = NULL;
      int n = 0;
      st = ds_image_dir_list(opt->inputs[i], &paths, &n, err);
      if (st == DS_OK && n == 0)
        st = ds_error_set(err, DS_ERR_INVALID, "%s: no images (*.png, *.jpg) in the folder",
                          opt->inputs[i]);
      for (int k = 0; st == DS_OK && k < n && !summary->interrupted; k++)
        st = extract_source(&x, paths[k], err);
      ds_image_dir_free(paths, n);
    } else {
      st = extract_source(&x, opt->inputs[i], err);
    }
  }
  summary->seconds = ds_now_s() - x.t0;
  ds_image_free(&x.face);
  ds_buffer_release(&x.frame_buf);
  ds_buffer_release(&x.face_buf);
  ds_runtime_destroy(x.rt);
  ds_face_finder_destroy(x.finder);
  ds_alignments_free(&x.al);
  if (st == DS_OK && summary->interrupted)
    return ds_error_set(err, DS_ERR_INTERRUPTED,
                        "interrupted; the faces so far and alignments.json in %s are kept",
                        opt->out_dir);
  return st;
}
