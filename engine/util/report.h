/* What long-running commands share for reporting: a monotonic clock and
 * formatting a one-line event for a caller's note callback. */
#ifndef DS_ENGINE_UTIL_REPORT_H
#define DS_ENGINE_UTIL_REPORT_H

/* Seconds on a monotonic clock (differences only). */
double ds_now_s(void);

/* A callback that receives one formatted line (no newline). */
typedef void (*ds_note_fn)(const char *line, void *user);

/* Formats the line (cut at 1,199 characters) and passes it to fn; nothing
 * when fn is NULL. */
void ds_note(ds_note_fn fn, void *user, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
