/* Extraction: frames of videos and images -> faces found by the HOG detector
 * -> 68 landmarks -> the original's alignment -> aligned face PNGs and
 * alignments.json (engine/detect/alignments.h) in an output folder.
 *
 * Each face PNG is <source>_<frame>_<face>.png and carries its source, frame
 * index and matrix in tEXt chunks (dsengine:source, dsengine:frame,
 * dsengine:matrix). alignments.json is rewritten after every source, so an
 * interrupted run keeps what it finished; a source already in it is not
 * detected again unless redo is set: its recorded faces are warped anew. */
#ifndef DS_ENGINE_DETECT_EXTRACT_H
#define DS_ENGINE_DETECT_EXTRACT_H

#include <signal.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ds_extract_options {
  const char *const *inputs; /* videos, images or folders of images */
  int input_count;
  const char *out_dir;
  int every;    /* every Nth frame (>= 1) */
  int min_size; /* smallest face box side kept, in pixels */
  int upsample; /* doublings before detection (0..4) */
  int largest;  /* keep only the largest face of a frame */
  int size, padding;
  const char *detector_path;  /* dlib frontal face detector file */
  const char *landmarks_path; /* dlib 68-point shape predictor */
  int redo;
  const char *device_spec, *device_origin;
  volatile sig_atomic_t *stop;
} ds_extract_options;

typedef struct ds_extract_status {
  const char *source;
  int64_t frame, frames_in_source; /* frames_in_source < 0: unknown */
  int64_t frames_done, faces;      /* over every source so far */
  double elapsed_s, frames_per_s;
} ds_extract_status;

typedef struct ds_extract_summary {
  int sources, reused;
  int64_t frames, faces, frames_without_face;
  double seconds;
  int interrupted;
} ds_extract_summary;

typedef struct ds_extract_callbacks {
  void (*progress)(const ds_extract_status *s, void *user);
  void (*note)(const char *line, void *user);
  void *user;
} ds_extract_callbacks;

ds_status ds_extract(const ds_extract_options *opt, const ds_extract_callbacks *cb,
                     ds_extract_summary *summary, ds_error *err);

#endif
