#include "engine/convert/frame_queue.h"

#include <stdlib.h>

void ds_frame_item_free(ds_frame_item *it) {
  if (!it) return;
  ds_image_free(&it->image);
  free(it->faces);
  free(it);
}

int ds_frame_queue_init(ds_frame_queue *q, int cap) {
  q->head = q->len = q->closed = q->aborted = 0;
  q->cap = cap < 1 ? 1 : cap > DS_FRAME_QUEUE_CAP ? DS_FRAME_QUEUE_CAP : cap;
  if (pthread_mutex_init(&q->lock, NULL) != 0) return 0;
  if (pthread_cond_init(&q->changed, NULL) != 0) {
    pthread_mutex_destroy(&q->lock);
    return 0;
  }
  return 1;
}

void ds_frame_queue_destroy(ds_frame_queue *q) {
  for (int i = 0; i < q->len; i++)
    ds_frame_item_free(q->items[(q->head + i) % DS_FRAME_QUEUE_CAP]);
  q->len = 0;
  pthread_cond_destroy(&q->changed);
  pthread_mutex_destroy(&q->lock);
}

int ds_frame_queue_push(ds_frame_queue *q, ds_frame_item *it) {
  pthread_mutex_lock(&q->lock);
  while (q->len == q->cap && !q->aborted)
    pthread_cond_wait(&q->changed, &q->lock);
  const int ok = !q->aborted;
  if (ok) {
    q->items[(q->head + q->len) % DS_FRAME_QUEUE_CAP] = it;
    q->len++;
    pthread_cond_broadcast(&q->changed);
  }
  pthread_mutex_unlock(&q->lock);
  return ok;
}

ds_frame_item *ds_frame_queue_pop(ds_frame_queue *q) {
  pthread_mutex_lock(&q->lock);
  while (q->len == 0 && !q->closed && !q->aborted)
    pthread_cond_wait(&q->changed, &q->lock);
  ds_frame_item *it = NULL;
  if (!q->aborted && q->len > 0) {
    it = q->items[q->head];
    q->head = (q->head + 1) % DS_FRAME_QUEUE_CAP;
    q->len--;
    pthread_cond_broadcast(&q->changed);
  }
  pthread_mutex_unlock(&q->lock);
  return it;
}

void ds_frame_queue_close(ds_frame_queue *q) {
  pthread_mutex_lock(&q->lock);
  q->closed = 1;
  pthread_cond_broadcast(&q->changed);
  pthread_mutex_unlock(&q->lock);
}

void ds_frame_queue_abort(ds_frame_queue *q) {
  pthread_mutex_lock(&q->lock);
  q->aborted = 1;
  pthread_cond_broadcast(&q->changed);
  pthread_mutex_unlock(&q->lock);
}
