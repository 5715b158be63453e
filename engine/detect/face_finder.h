/* Faces in a frame: the HOG detector, then the 68 landmarks on each box, then
 * the alignment matrix. What extract and convert both run on every frame. */
#ifndef DS_ENGINE_DETECT_FACE_FINDER_H
#define DS_ENGINE_DETECT_FACE_FINDER_H

#include "engine/detect/alignments.h"
#include "engine/media/image.h"
#include "core/error.h"
#include "host/runtime.h"

typedef struct ds_face_finder ds_face_finder;

typedef struct ds_face_finder_options {
  const char *detector_path;  /* dlib frontal face detector file */
  const char *landmarks_path; /* dlib 68-point shape predictor */
  int upsample;               /* doublings before detection (0..4) */
  int min_size;               /* smallest box side kept, in pixels */
  int largest;                /* keep only the largest face */
  int size, padding;          /* of the aligned face the matrices map to */
  /* Detect on this device (engine/detect/hog_scan_cl.h: the same faces as
   * the C detector, 2-3x faster than dlib on a 2-core CPU through PoCL);
   * NULL: the C detector. Only the thread that runs the finder may use it. */
  ds_runtime *rt;
} ds_face_finder_options;

/* Loads both models. Errors name the file (and the package for the default
 * landmark model). */
ds_status ds_face_finder_create(const ds_face_finder_options *opt, ds_face_finder **out,
                                ds_error *err);
void ds_face_finder_destroy(ds_face_finder *f);

/* Finds the faces of an RGB frame: *faces (malloc'd, caller frees; NULL when
 * none) holds *count records with box, score, landmarks and matrix filled
 * and file empty. */
ds_status ds_face_finder_run(ds_face_finder *f, const ds_image *frame, ds_face_record **faces,
                             int *count, ds_error *err);

#endif
