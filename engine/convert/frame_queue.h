/* A bounded FIFO of frames between convert's threads: one producer, one
 * consumer, blocking at both ends. Closing it lets the consumer drain what is
 * left and then see the end; aborting it drops the wait on both sides. */
#ifndef DS_ENGINE_CONVERT_FRAME_QUEUE_H
#define DS_ENGINE_CONVERT_FRAME_QUEUE_H

#include <pthread.h>
#include <stdint.h>

#include "engine/detect/alignments.h"
#include "engine/media/image.h"

typedef struct ds_frame_item {
  ds_image image;
  int64_t index;
  double time;
  ds_face_record *faces; /* owned */
  int face_count;
  int aligned; /* the frame had an entry in the alignments (or was detected) */
} ds_frame_item;

void ds_frame_item_free(ds_frame_item *it);

enum { DS_FRAME_QUEUE_CAP = 64 };

typedef struct ds_frame_queue {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  ds_frame_item *items[DS_FRAME_QUEUE_CAP];
  int head, len, cap;
  int closed, aborted;
} ds_frame_queue;

/* cap: items held at most (1 .. DS_FRAME_QUEUE_CAP). */
int ds_frame_queue_init(ds_frame_queue *q, int cap);
void ds_frame_queue_destroy(ds_frame_queue *q); /* frees items left */
/* 0 when the queue was aborted (the item is not taken). */
int ds_frame_queue_push(ds_frame_queue *q, ds_frame_item *it);
/* The next item, or NULL at the end (closed and empty) or on abort. */
ds_frame_item *ds_frame_queue_pop(ds_frame_queue *q);
void ds_frame_queue_close(ds_frame_queue *q);
void ds_frame_queue_abort(ds_frame_queue *q);

#endif
