/* Convert: swap faces in a video, an image or a folder of images.
 *
 * Three threads overlap the stages so the slowest sets the pace:
 *   read  - decode a frame, find its faces (detector + landmarks, or the
 *           alignments file), smooth the landmarks over time;
 *   swap  - batches of frames through the device (engine/convert/swap.h);
 *   write - encode the frame: H.264 with the source's audio copied for a
 *           video, PNG for images.
 * Frames without a face pass through unchanged. Video output keeps the
 * input's size, frame rate, frame count and timestamps. A stop request (or a
 * corrupt input frame) ends the input early; what was read is still written
 * and the output file is closed properly, so it plays. */
#ifndef DS_ENGINE_CONVERT_CONVERT_H
#define DS_ENGINE_CONVERT_CONVERT_H

#include <signal.h>
#include <stdint.h>

#include "engine/convert/swap.h"
#include "core/error.h"

typedef struct ds_convert_options {
  const char *model_dir;
  const char *config_path; /* optional: must describe the model's network */
  const char *from, *to;   /* identities: faces of `from` are drawn by `to`'s decoder */
  const char *input;       /* video, image, or folder of images */
  const char *output;     /* .mp4/.mkv/.mov for a video, .png for an image, a folder for a folder */
  const char *alignments; /* NULL: detect faces in every frame */
  const char *detector_path, *landmarks_path;
  int upsample, min_size;
  float smooth; /* 0 .. 0.95; 0 is off */
  ds_swap_options swap;
  int mask_auto; /* 1: swap.mask was not asked for: a decoder.mask model's is learned */
  int crf;
  int batch;                /* faces per forward pass (0: 16) */
  int64_t max_frames;       /* stop after this many frames (0: all) */
  const char *preview_path; /* optional: a before/after PNG of one frame */
  const char *device_spec, *device_origin;
  int timing; /* measure the device stages (slower: waits between them) */
  volatile sig_atomic_t *stop;
} ds_convert_options;

typedef struct ds_convert_status {
  int64_t frames_done, frame_count; /* frame_count < 0: unknown */
  int64_t faces;
  double elapsed_s, frames_per_s, eta_s; /* eta_s < 0: unknown */
} ds_convert_status;

typedef struct ds_convert_summary {
  int64_t frames, frames_swapped, faces, frames_without_face, frames_unaligned;
  int corrupt; /* the input ended early on damage */
  char corrupt_msg[1024];
  int interrupted;
  double seconds;
  double read_s, swap_s, write_s; /* busy time of each thread */
  ds_swap_timing device;          /* when timing */
  char codec[32];
  int audio; /* an audio stream was copied */
  char preview_path[1100];
} ds_convert_summary;

typedef struct ds_convert_callbacks {
  void (*progress)(const ds_convert_status *s, void *user); /* from the write thread */
  void (*note)(const char *line, void *user);
  void *user;
} ds_convert_callbacks;

/* Checks everything it can before any work (model folder, identities,
 * input, alignments, output path) and fails with one line naming the thing.
 * Returns DS_ERR_INTERRUPTED after a stop request, with the output closed and
 * the summary filled. */
ds_status ds_convert(const ds_convert_options *opt, const ds_convert_callbacks *cb,
                     ds_convert_summary *summary, ds_error *err);

#endif
