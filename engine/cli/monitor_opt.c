/* --monitor [ADDR:]PORT for dsengine train and the main job: a training
 * feed and the HTTP server that shows it (engine/monitor/). */
#include <stdio.h>
#include <string.h>

#include "engine/cli/cli.h"
#include "engine/monitor/feed.h"
#include "engine/monitor/server.h"

int cli_monitor_start(const char *command, const char *spec, const char *model_dir,
                      cli_monitor *m) {
  memset(m, 0, sizeof *m);
  char addr[64];
  int port;
  ds_error err = {0};
  if (ds_monitor_parse_address(spec, addr, sizeof addr, &port, &err) != DS_OK) {
    int rc = cli_usage_error(command, "%s", err.msg);
    ds_error_clear(&err);
    return rc;
  }
  ds_status st = ds_train_feed_create(&m->feed, &err);
  if (st == DS_OK) st = ds_monitor_server_start(addr, port, m->feed, model_dir, &m->server, &err);
  if (st != DS_OK) {
    cli_monitor_stop(m);
    return cli_fail(&err);
  }
  printf("monitor: %s\n", ds_monitor_server_url(m->server));
  fflush(stdout);
  return DS_EXIT_OK;
}

void cli_monitor_stop(cli_monitor *m) {
  ds_monitor_server_stop(m->server);
  ds_train_feed_destroy(m->feed);
  memset(m, 0, sizeof *m);
}
