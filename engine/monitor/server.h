/* The training monitor's HTTP server (libmicrohttpd, in a thread of its own):
 * one page embedded in the binary, /status.json and /loss.json from the
 * training feed, and the model folder's preview.png and loss.png. A fixed
 * table of routes; no part of a request names a file. Requests are small and
 * bounded (16 KiB of request line and headers, no bodies), idle connections
 * close after 10 s, at most 256 connections at once, at most 1000 answers a
 * second. The server thread runs at the lowest priority. */
#ifndef DS_ENGINE_MONITOR_SERVER_H
#define DS_ENGINE_MONITOR_SERVER_H

#include <stddef.h>

#include "core/error.h"
#include "engine/monitor/feed.h"

typedef struct ds_monitor_server ds_monitor_server;

enum {
  DS_MONITOR_MEMORY_LIMIT = 16 * 1024, /* bytes per connection: request line, headers */
  DS_MONITOR_MAX_CONNECTIONS = 256,
  DS_MONITOR_TIMEOUT_S = 10,      /* an idle connection is closed after this */
  DS_MONITOR_LOSS_PAGE = 20000,   /* rows per /loss.json answer */
  DS_MONITOR_MAX_RATE = 1000,     /* answers a second; past it the server waits */
  DS_MONITOR_DEFAULT_PORT = 8080, /* dsengine monitor without --port */
};

/* Parses "[ADDR:]PORT" ("8080", "0.0.0.0:8080", "[::1]:8080"): ADDR is a
 * numeric IPv4 or IPv6 address, 127.0.0.1 when absent; PORT 0 to 65535 (0:
 * any free port). DS_ERR_INVALID names the spec. */
ds_status ds_monitor_parse_address(const char *spec, char *addr, size_t cap, int *port,
                                   ds_error *err);

/* Binds addr:port and starts serving feed and the files of model_dir. The
 * socket is bound before this returns, so a port in use is an error here
 * (DS_ERR_INVALID, one line naming the address), before any training. */
ds_status ds_monitor_server_start(const char *addr, int port, ds_train_feed *feed,
                                  const char *model_dir, ds_monitor_server **out, ds_error *err);

/* "http://ADDR:PORT/" with the port actually bound. */
const char *ds_monitor_server_url(const ds_monitor_server *s);

/* Stops the thread, closes every connection and frees. Safe on NULL. */
void ds_monitor_server_stop(ds_monitor_server *s);

#endif
