#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/cli/cli.h"

int cli_fail(ds_error *err) {
  fprintf(stderr, "dsengine: error: %s\n", err->msg[0] ? err->msg : ds_status_name(err->code));
  if (err->detail) {
    fputs(err->detail, stderr);
    size_t n = strlen(err->detail);
    if (n && err->detail[n - 1] != '\n') fputc('\n', stderr);
  }
  int code;
  switch (err->code) {
  case DS_OK: code = DS_EXIT_OK; break;
  case DS_ERR_INVALID:
  case DS_ERR_NOT_FOUND: code = DS_EXIT_USAGE; break;
  case DS_ERR_INTERRUPTED: code = DS_EXIT_INTERRUPTED; break;
  default: code = DS_EXIT_FAILURE; break;
  }
  ds_error_clear(err);
  return code;
}

int cli_usage_error(const char *command, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", command);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "; see '%s --help'\n", command);
  return DS_EXIT_USAGE;
}

int cli_option_value(int argc, char **argv, int *i, const char *name, const char **value) {
  const char *arg = argv[*i];
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0) return 0;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return 1;
  }
  if (arg[n] != '\0') return 0;
  if (*i + 1 >= argc) {
    *value = NULL;
    return -1;
  }
  *value = argv[++*i];
  return 1;
}

int cli_parse_int(const char *command, const char *opt, const char *v, int lo, int hi, int *out) {
  char *end = NULL;
  long n = v ? strtol(v, &end, 10) : 0;
  if (!v || *end || end == v || n < lo || n > hi)
    return cli_usage_error(command, "%s needs a whole number from %d to %d, not '%s'", opt, lo, hi,
                           v ? v : "");
  *out = (int)n;
  return DS_EXIT_OK;
}

int cli_parse_count(const char *command, const char *opt, const char *v, long long min,
                    long long *out) {
  char *end = NULL;
  long long n = v ? strtoll(v, &end, 10) : 0;
  if (!v || *end || end == v || n < min)
    return cli_usage_error(command, "%s needs a whole number >= %lld, not '%s'", opt, min,
                           v ? v : "");
  *out = n;
  return DS_EXIT_OK;
}

int cli_parse_float(const char *command, const char *opt, const char *v, double lo, double hi,
                    double *out) {
  char *end = NULL;
  double x = v ? strtod(v, &end) : 0;
  if (!v || *end || end == v || !(x >= lo && x <= hi))
    return cli_usage_error(command, "%s needs a number from %g to %g, not '%s'", opt, lo, hi,
                           v ? v : "");
  *out = x;
  return DS_EXIT_OK;
}

int cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

const char *cli_device_spec(const char *flag_value, const char **origin) {
  if (flag_value) {
    *origin = "--device";
    return flag_value;
  }
  const char *env = getenv("DSENGINE_DEVICE");
  if (env && *env) {
    *origin = "DSENGINE_DEVICE";
    return env;
  }
  *origin = "--device";
  return "auto";
}

void cli_line_init(cli_line *l) {
  l->tty = isatty(STDOUT_FILENO);
  l->open = 0;
}

void cli_line_status(cli_line *l, const char *line) {
  if (l->tty) {
    printf("\r%s\033[K", line);
    l->open = 1;
  } else {
    printf("%s\n", line);
  }
  fflush(stdout);
}

void cli_line_note(cli_line *l, const char *text) {
  cli_line_end(l);
  printf("%s\n", text);
  fflush(stdout);
}

void cli_line_end(cli_line *l) {
  if (l->open) printf("\n");
  l->open = 0;
}

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) {
  if (stop_requested) {
    /* a second signal: what is on disk is always whole, so quit now */
    signal(sig, SIG_DFL);
    raise(sig);
  }
  stop_requested = 1;
}

volatile sig_atomic_t *cli_stop_on_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  return &stop_requested;
}
