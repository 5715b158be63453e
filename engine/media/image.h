/* An 8-bit image in host memory, as decoded from PNG or video and handed to
 * the device stages. */
#ifndef DS_ENGINE_MEDIA_IMAGE_H
#define DS_ENGINE_MEDIA_IMAGE_H

#include <stdint.h>

#include "core/error.h"

typedef struct ds_image {
  int width, height, channels;
  /* row-major, interleaved, no padding between rows (stride = width * channels);
   * channels = 3 (RGB) unless the producer says otherwise */
  uint8_t *data;
} ds_image;

/* Allocates width * height * channels bytes (left uninitialised) and fills
 * in the shape. channels is 1 to 4. On failure img is zeroed. */
ds_status ds_image_alloc(ds_image *img, int width, int height, int channels, ds_error *err);
/* Frees the pixels and zeroes img. Safe on a zeroed image or NULL. */
void ds_image_free(ds_image *img);

#endif
