/* The alignments file: what `dsengine extract` found in each frame and what
 * `dsengine convert --alignments` reads back. It is a public format, JSON:
 *
 *   {"format": "dsengine-alignments", "version": 1, "size": 256, "padding": 48,
 *    "sources": [
 *      {"path": "clip.mp4", "kind": "video", "width": 1920, "height": 1080, "frame_count": 300,
 *       "frames": [
 *         {"index": 0, "time": 0, "faces": []},
 *         {"index": 1, "time": 0.0333333333, "faces": [
 *           {"box": [left, top, right, bottom], "score": 0.93,
 *            "landmarks": [[x, y], ... 68 pairs],
 *            "matrix": [a, b, c, d, e, f],
 *            "file": "clip_000001_0.png"}]}]}]}
 *
 * - format, version: exactly "dsengine-alignments" and 1; a reader refuses other versions.
 * - size, padding: the aligned face in pixels and the padding on each side (see align.h);
 *   1 <= size <= 65536, 0 <= 2 padding < size.
 * - sources: one entry per input, each path once. kind is "video" or "image" (an image has
 *   one frame, index 0). width, height: the frame size in pixels (>= 1). frame_count: the
 *   source's frame count as its container declares it, -1 when unknown (ds_video_info);
 *   it bounds nothing.
 * - frames: every processed frame, faces or not, in strictly increasing index (an integer
 *   0..2^53). time: the frame's presentation time in seconds.
 * - faces: box and landmarks (the 68 dlib points, x then y) in frame pixels; score the
 *   detector's confidence; matrix the 2x3 affine [a b c; d e f] taking frame pixels to
 *   aligned-face pixels (ds_align_matrix); file the aligned face image's name in the output
 *   folder: a plain file name (no '/' or '\\', not "." or "..", no control characters) of at
 *   most 255 bytes, or "" when none was written.
 *
 * Every key is required and no other key is allowed. Floats are written with the fewest
 * digits (at most 9) that read back as the same float32, doubles with at most 17, so a
 * save/load round trip is bit-exact. NaN and infinity cannot be saved. */
#ifndef DS_ENGINE_DETECT_ALIGNMENTS_H
#define DS_ENGINE_DETECT_ALIGNMENTS_H

#include <stdint.h>

#include "core/error.h"

#define DS_ALIGNMENTS_FORMAT "dsengine-alignments"

enum {
  DS_ALIGNMENTS_VERSION = 1,
  DS_FACE_LANDMARKS = 68,
  DS_FACE_FILE_MAX = 256, /* bytes, NUL included */
};

typedef struct ds_face_record {
  float box[4]; /* left, top, right, bottom */
  double score;
  float landmarks[DS_FACE_LANDMARKS][2];
  float matrix[6];
  char file[DS_FACE_FILE_MAX];
} ds_face_record;

typedef struct ds_frame_record {
  int64_t index;
  double time; /* seconds */
  int face_count;
  ds_face_record *faces; /* owned; NULL when face_count is 0 */
} ds_frame_record;

typedef struct ds_source_record {
  char *path; /* owned */
  int is_video;
  int width, height;
  int64_t frame_count;
  int frame_len, frame_cap;
  ds_frame_record *frames; /* increasing index */
} ds_source_record;

typedef struct ds_alignments {
  int size, padding;
  int source_count, source_cap;
  ds_source_record *sources;
} ds_alignments;

/* An empty set for faces of size x size pixels with padding on each side. */
void ds_alignments_init(ds_alignments *a, int size, int padding);

/* The source with this path; when there is none and create is set, a new one
 * (kind image, size 0x0, no frames: the caller fills those in). NULL when
 * absent and not created, or when memory runs out. Adding a source may move
 * the others: earlier pointers from this function are then stale. */
ds_source_record *ds_alignments_source(ds_alignments *a, const char *path, int create);

/* Appends a frame with copies of count faces (faces may be NULL when count
 * is 0). index must be above the last frame's: DS_ERR_INVALID otherwise. */
ds_status ds_alignments_add_frame(ds_source_record *s, int64_t index, double time,
                                  const ds_face_record *faces, int count, ds_error *err);

/* The frame with this index, or NULL (binary search). */
const ds_frame_record *ds_alignments_frame(const ds_source_record *s, int64_t index);

/* Writes the set to path atomically (ds_file_write_atomic). A set that would
 * not load back (a NaN, an unterminated or unsafe file name, frames out of
 * order) is DS_ERR_INVALID naming the key path, and nothing is written. */
ds_status ds_alignments_save(const char *path, const ds_alignments *a, ds_error *err);

/* Reads and checks a whole file into out, which it overwrites (free it with
 * ds_alignments_free); on failure out is left empty. A missing file is
 * DS_ERR_NOT_FOUND; bad JSON (with its line and column), another format or
 * version, a wrong type or array length, an unknown, duplicate or missing key,
 * frames out of order, or a file over 1 GiB is DS_ERR_INVALID, with one line
 * "<path>: <key path>: <what>", e.g.
 * "a.json: sources[0].frames[12].faces[0].landmarks: expected 68 [x, y] pairs, got 67".
 * The parse holds the whole file as a JSON tree: expect some 10 bytes of
 * memory per byte of file. */
ds_status ds_alignments_load(const char *path, ds_alignments *out, ds_error *err);

/* Frees everything and zeroes the set. Safe on a zeroed set. */
void ds_alignments_free(ds_alignments *a);

/* NULL when s may be a face file name (a name, not a path, so that no
 * alignments file can point extract or convert outside its folder); else
 * why not, for a message. */
const char *ds_alignments_file_name_problem(const char *s);

#endif
