/* The monitor's page (engine/monitor/page/), embedded in the binary at build
 * time by cmake/embed_files_run.cmake, so it works with no source tree and
 * no network. */
#ifndef DS_ENGINE_MONITOR_ASSETS_H
#define DS_ENGINE_MONITOR_ASSETS_H

#include <stddef.h>

typedef struct ds_asset {
  const char *name; /* file name under engine/monitor/page/ */
  const unsigned char *data;
  size_t size;
} ds_asset;

/* Ends with an entry whose name is NULL. */
extern const ds_asset ds_monitor_assets[];

#endif
