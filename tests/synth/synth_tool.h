/* Argument parsing and folders for the synthetic-media tools (synth_faces,
 * synth_clip, synth_measure). */
#ifndef DS_TESTS_SYNTH_TOOL_H
#define DS_TESTS_SYNTH_TOOL_H

#include <stdint.h>

/* A whole decimal integer in [lo, hi]; 0 on success, -1 otherwise. */
int synth_parse_int(const char *s, long lo, long hi, long *out);
/* An unsigned decimal integer without sign; 0 on success, -1 otherwise. */
int synth_parse_u64(const char *s, uint64_t *out);
/* A finite decimal number in [lo, hi]; 0 on success, -1 otherwise. */
int synth_parse_double(const char *s, double lo, double hi, double *out);

/* mkdir -p; 0 on success, -1 with errno set. */
int synth_make_dirs(const char *path);

#endif
