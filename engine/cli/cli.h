/* The dsengine command line: shared helpers for the command files. Only code
 * under engine/cli prints to the terminal and chooses exit codes. */
#ifndef DS_ENGINE_CLI_H
#define DS_ENGINE_CLI_H

#include <signal.h>

#include "core/error.h"

enum {
  DS_EXIT_OK = 0,
  DS_EXIT_FAILURE = 1, /* the work failed: device, I/O, corrupt data */
  DS_EXIT_USAGE = 2,   /* the request was wrong: option, missing device, bad input */
  DS_EXIT_INTERRUPTED = 130,
};

/* Prints "dsengine: error: <msg>" and any detail to stderr and returns the
 * exit code for err->code; clears err. */
int cli_fail(ds_error *err);
/* Prints a usage error ("dsengine devices: unknown option --x; see
 * 'dsengine devices --help'") and returns DS_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Matches argv[*i] against --name VALUE or --name=VALUE. On a match stores
 * the value, advances *i past it and returns 1; a missing value stores NULL
 * and returns -1. Returns 0 when argv[*i] is another option. */
int cli_option_value(int argc, char **argv, int *i, const char *name, const char **value);
int cli_is_help(const char *arg);

/* Every command parses its options the same way: a static
 *   int parse_option(<the command's state> *s, int argc, char **argv, int *i)
 * called for each argv[*i], returning DS_EXIT_OK or the exit code of a usage
 * error, written with these two macros (they expect locals `const char *v`
 * and `int m`): CLI_VALUE(name) matches --name VALUE or --name=VALUE into v,
 * and CLI_NEED(command) reports a missing value. */
#define CLI_VALUE(name) ((m = cli_option_value(argc, argv, i, (name), &v)) != 0)
#define CLI_NEED(command)                                                                          \
  do {                                                                                             \
    if (m < 0) return cli_usage_error((command), "%s needs a value", argv[*i]);                    \
  } while (0)
/* Parse a whole number / a number within [lo, hi] into *out; on a bad value
 * print a usage error naming opt and return DS_EXIT_USAGE, else DS_EXIT_OK. */
int cli_parse_int(const char *command, const char *opt, const char *v, int lo, int hi, int *out);
int cli_parse_float(const char *command, const char *opt, const char *v, double lo, double hi,
                    double *out);
/* A whole number >= min (64-bit: iterations, seeds); same contract. */
int cli_parse_count(const char *command, const char *opt, const char *v, long long min,
                    long long *out);

/* The device spec: --device when given, else $DSENGINE_DEVICE, else "auto";
 * *origin names which ("--device" / "DSENGINE_DEVICE") for messages. */
const char *cli_device_spec(const char *flag_value, const char **origin);

/* A status line that refreshes in place on a terminal (and prints whole
 * lines otherwise), with one-line notes in between. */
typedef struct cli_line {
  int tty, open;
} cli_line;
void cli_line_init(cli_line *l);
/* Shows line as the current status; returns whether a non-terminal output
 * should print it at all (every `every`-th call when not a terminal). */
void cli_line_status(cli_line *l, const char *line);
void cli_line_note(cli_line *l, const char *text);
void cli_line_end(cli_line *l);

/* SIGINT and SIGTERM set the returned flag, so long work can save and stop;
 * a second signal ends the process at once. */
volatile sig_atomic_t *cli_stop_on_signals(void);

int cmd_devices(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/* convert's defaults, and a run with progress and summary (shared with the
 * main job); returns the exit code. */
struct ds_train_options;
struct ds_train_summary;
int cli_train_run(const struct ds_train_options *o, struct ds_train_summary *sum);
struct ds_extract_options;
struct ds_extract_summary;
void cli_extract_defaults(struct ds_extract_options *o);
int cli_extract_run(const struct ds_extract_options *o, struct ds_extract_summary *sum);
struct ds_convert_options;
struct ds_convert_summary;
void cli_convert_defaults(struct ds_convert_options *o);
int cli_convert_run(const struct ds_convert_options *o, struct ds_convert_summary *sum);
int cmd_run(int argc, char **argv);
int cmd_monitor(int argc, char **argv);

/* --monitor [ADDR:]PORT of train and the main job (monitor_opt.c): the feed
 * the trainer publishes to and the HTTP server reading it. */
struct ds_train_feed;
struct ds_monitor_server;
typedef struct cli_monitor {
  struct ds_train_feed *feed;
  struct ds_monitor_server *server;
} cli_monitor;
/* Binds the server (before any model work, so a port in use stops the
 * command at once) and prints "monitor: URL". Returns an exit code. */
int cli_monitor_start(const char *command, const char *spec, const char *model_dir, cli_monitor *m);
void cli_monitor_stop(cli_monitor *m);

#endif
