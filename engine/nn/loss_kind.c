/* The loss terms' names (engine/nn/loss_kind.h), for the config parser and
 * the messages; no OpenCL here. */
#include "engine/nn/loss_kind.h"

#include <string.h>

static const char *const NAMES[] = {"mae", "mse", "ssim", "gmsd", "ms_ssim"};

const char *ds_loss_name(ds_loss kind) {
  return (unsigned)kind < sizeof NAMES / sizeof *NAMES ? NAMES[kind] : NULL;
}

int ds_loss_from_name(const char *name) {
  for (int i = 0; i < (int)(sizeof NAMES / sizeof *NAMES); i++)
    if (strcmp(NAMES[i], name) == 0) return i;
  return -1;
}
