/* A minimal test harness: CHECK records a failure and goes on; each test
 * program ends with check_summary(), which prints "N passed, N failed" and
 * gives the exit status. */
#ifndef DS_TESTS_CHECK_H
#define DS_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed, check_skipped;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (cond) {                                                                                    \
      check_passed++;                                                                              \
    } else {                                                                                       \
      check_failed++;                                                                              \
      fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #cond);                           \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
    }                                                                                              \
  } while (0)

/* A ds_status call that must succeed; prints the error message otherwise. */
#define CHECK_OK(call, err)                                                                        \
  do {                                                                                             \
    ds_status check_st_ = (call);                                                                  \
    CHECK(check_st_ == DS_OK, "%s returned %s: %s", #call, ds_status_name(check_st_), (err)->msg); \
  } while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
  CHECK(strstr((hay), (needle)) != NULL, "\"%s\" lacks \"%s\"", (hay), (needle))

/* A part of the test that cannot run here (a missing tool or file): said
 * at once, and the test exits 77 (ctest's SKIP_RETURN_CODE) unless it
 * failed, so the skip is visible and CI refuses it. */
static inline void check_skip(const char *why) {
  check_skipped++;
  printf("SKIPPED: %s\n", why);
}

/* Exit status: 1 on any failure, else 77 when a part was skipped, else 0. */
static int check_summary(const char *suite) {
  if (check_skipped)
    printf("%s: %d passed, %d failed, %d skipped\n", suite, check_passed, check_failed,
           check_skipped);
  else
    printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
  return check_failed ? 1 : check_skipped ? 77 : 0;
}

#endif
