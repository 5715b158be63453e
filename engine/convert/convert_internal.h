/* The converter's state, shared by convert_setup.c (the checks and set-up
 * before any frame: input, alignments, model, output) and convert.c (the
 * read, swap and write threads); nothing else includes this. */
#ifndef DS_ENGINE_CONVERT_CONVERT_INTERNAL_H
#define DS_ENGINE_CONVERT_CONVERT_INTERNAL_H

#include <pthread.h>

#include "engine/convert/convert.h"
#include "engine/convert/frame_queue.h"
#include "engine/detect/face_finder.h"
#include "engine/media/video.h"
#include "engine/media/video_writer.h"

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
  ds_swap_options swap; /* opt->swap, with the mask --mask or the model chose */
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

/* Opens the input and output, reads the alignments and loads the model: every
 * check that can fail before the first frame. */
ds_status convert_prepare(converter *c, ds_error *err);
/* The alignments' record of an input path, or NULL. */
const ds_source_record *convert_find_source(converter *c, const char *path);
const char *convert_base_name(const char *path);

#endif
