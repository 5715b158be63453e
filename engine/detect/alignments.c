/* alignments.json in memory: the set of sources, frames and faces that
 * extract fills and convert looks frames up in (engine/detect/alignments.h).
 * Saving: alignments_save.c; loading: alignments_load.c. */
#include "engine/detect/alignments.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void ds_alignments_init(ds_alignments *a, int size, int padding) {
  assert(a);
  memset(a, 0, sizeof *a);
  a->size = size;
  a->padding = padding;
}

ds_source_record *ds_alignments_source(ds_alignments *a, const char *path, int create) {
  assert(a && path);
  for (int i = 0; i < a->source_count; i++)
    if (strcmp(a->sources[i].path, path) == 0) return &a->sources[i];
  if (!create) return NULL;
  if (a->source_count == a->source_cap) {
    int cap = a->source_cap ? 2 * a->source_cap : 4;
    ds_source_record *grown = realloc(a->sources, sizeof *grown * (size_t)cap);
    if (!grown) return NULL;
    a->sources = grown;
    a->source_cap = cap;
  }
  ds_source_record *s = &a->sources[a->source_count];
  memset(s, 0, sizeof *s);
  s->path = strdup(path);
  if (!s->path) return NULL;
  a->source_count++;
  return s;
}

ds_status ds_alignments_add_frame(ds_source_record *s, int64_t index, double time,
                                  const ds_face_record *faces, int count, ds_error *err) {
  assert(s && s->path && count >= 0 && (faces || count == 0));
  if (index < 0)
    return ds_error_set(err, DS_ERR_INVALID, "%s: frame index %lld is negative", s->path,
                        (long long)index);
  if (s->frame_len > 0 && index <= s->frames[s->frame_len - 1].index)
    return ds_error_set(err, DS_ERR_INVALID,
                        "%s: frame %lld added after frame %lld; add frames in increasing index",
                        s->path, (long long)index, (long long)s->frames[s->frame_len - 1].index);
  if (s->frame_len == s->frame_cap) {
    int cap = s->frame_cap ? s->frame_cap + s->frame_cap / 2 + 1 : 64;
    ds_frame_record *grown = realloc(s->frames, sizeof *grown * (size_t)cap);
    if (!grown)
      return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: no memory for %d frame records", s->path,
                          cap);
    s->frames = grown;
    s->frame_cap = cap;
  }
  ds_frame_record *f = &s->frames[s->frame_len];
  f->index = index;
  f->time = time;
  f->face_count = count;
  f->faces = NULL;
  if (count > 0) {
    f->faces = malloc(sizeof *faces * (size_t)count);
    if (!f->faces)
      return ds_error_set(err, DS_ERR_NO_MEMORY, "%s: no memory for the %d faces of frame %lld",
                          s->path, count, (long long)index);
    memcpy(f->faces, faces, sizeof *faces * (size_t)count);
  }
  s->frame_len++;
  return DS_OK;
}

const ds_frame_record *ds_alignments_frame(const ds_source_record *s, int64_t index) {
  int lo = 0, hi = s->frame_len;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (s->frames[mid].index < index)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < s->frame_len && s->frames[lo].index == index ? &s->frames[lo] : NULL;
}

void ds_alignments_free(ds_alignments *a) {
  if (!a) return;
  for (int i = 0; i < a->source_count; i++) {
    ds_source_record *s = &a->sources[i];
    for (int j = 0; j < s->frame_len; j++)
      free(s->frames[j].faces);
    free(s->frames);
    free(s->path);
  }
  free(a->sources);
  memset(a, 0, sizeof *a);
}

/* NULL when s may be a face file name; else why not. A name, not a path, so
 * that no alignments file can point extract or convert outside its folder. */
const char *ds_alignments_file_name_problem(const char *s) {
  if (strlen(s) >= DS_FACE_FILE_MAX) return "is longer than 255 bytes";
  if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return "is not a file name";
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '/' || *c == '\\') return "has a path separator; give a plain file name";
    if (*c < 0x20 || *c == 0x7f) return "has a control character";
  }
  return NULL;
}
