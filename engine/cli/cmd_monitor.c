/* dsengine monitor: the training monitor's page for a model folder, read
 * from its files (a model training in another process, or finished). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "engine/cli/cli.h"
#include "engine/monitor/feed.h"
#include "engine/monitor/model_watch.h"
#include "engine/monitor/server.h"

static const char *CMD = "dsengine monitor";

static const char *help =
    "usage: dsengine monitor --model DIR [--port N] [--addr A]\n"
    "\n"
    "Serves the training monitor's page (previews, loss of every identity over\n"
    "every run, speed, checkpoints) for the model folder DIR, re-reading its\n"
    "model.json and preview.png whenever they change: for a model that trains\n"
    "in another process or machine (a shared folder), or has finished. To watch\n"
    "a run live, iteration by iteration, give 'dsengine train' --monitor instead.\n"
    "Stop it with Ctrl-C.\n"
    "\n"
    "  --model DIR   the model folder of 'dsengine train'\n"
    "  --port N      TCP port (default 8080; 0: any free port, printed)\n"
    "  --addr A      numeric address to listen on (default 127.0.0.1, this\n"
    "                machine only; 0.0.0.0 shows it to your network)\n";

typedef struct monitor_args {
  const char *model, *addr;
  int port;
} monitor_args;

static int parse_option(monitor_args *s, int argc, char **argv, int *i) {
  const char *v = NULL;
  int m = 0;
  if (CLI_VALUE("--model")) {
    CLI_NEED(CMD);
    s->model = v;
  } else if (CLI_VALUE("--addr")) {
    CLI_NEED(CMD);
    s->addr = v;
  } else if (CLI_VALUE("--port")) {
    CLI_NEED(CMD);
    return cli_parse_int(CMD, "--port", v, 0, 65535, &s->port);
  } else {
    return cli_usage_error(CMD, "unknown option %s", argv[*i]);
  }
  return DS_EXIT_OK;
}

int cmd_monitor(int argc, char **argv) {
  monitor_args a = {NULL, "127.0.0.1", DS_MONITOR_DEFAULT_PORT};
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      fputs(help, stdout);
      return DS_EXIT_OK;
    }
    int rc = parse_option(&a, argc, argv, &i);
    if (rc != DS_EXIT_OK) return rc;
  }
  const char *model = a.model, *addr = a.addr;
  const int port = a.port;
  if (!model) return cli_usage_error(CMD, "--model DIR is required");
  struct stat sb;
  if (stat(model, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    fprintf(stderr,
            "dsengine: error: %s is not a folder; give --model the folder of 'dsengine "
            "train --model'\n",
            model);
    return DS_EXIT_USAGE;
  }
  char spec[128];
  snprintf(spec, sizeof spec, strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, port);
  cli_monitor mon;
  int rc = cli_monitor_start(CMD, spec, model, &mon);
  if (rc != DS_EXIT_OK) return rc;
  volatile sig_atomic_t *stop = cli_stop_on_signals();
  ds_model_watch w;
  ds_model_watch_init(&w, model);
  char last_error[DS_ERROR_MSG_MAX] = "";
  while (!*stop) {
    ds_error err = {0};
    /* a bad model.json is reported once, and the page keeps what it had */
    if (ds_model_watch_poll(&w, mon.feed, NULL, &err) != DS_OK &&
        strcmp(err.msg, last_error) != 0) {
      fprintf(stderr, "dsengine monitor: warning: %s\n", err.msg);
      snprintf(last_error, sizeof last_error, "%s", err.msg);
    }
    ds_error_clear(&err);
    struct timespec nap = {0, 250 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
  cli_monitor_stop(&mon);
  return DS_EXIT_OK;
}
