/* test.h - the tiny unit test harness: TEST_CHECK records a failure and carries on,
   TEST_SKIP exits with 77 (ctest's SKIP_RETURN_CODE), TEST_EXIT ends main.
   Single-threaded use except TEST_CHECK, which may be called from any thread. */
#ifndef KAIROS_TEST_H
#define KAIROS_TEST_H

#include <stdio.h>
#include <stdlib.h>

static int test_failures;
static int test_checks;

#define TEST_CHECK(expr)                                                                      \
  do {                                                                                        \
    __atomic_add_fetch(&test_checks, 1, __ATOMIC_RELAXED);                                    \
    if (!(expr)) {                                                                            \
      __atomic_add_fetch(&test_failures, 1, __ATOMIC_RELAXED);                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr);                \
    }                                                                                         \
  } while (0)

/* TEST_CHECK with a message formatted on failure */
#define TEST_CHECKF(expr, ...)                                                                \
  do {                                                                                        \
    __atomic_add_fetch(&test_checks, 1, __ATOMIC_RELAXED);                                    \
    if (!(expr)) {                                                                            \
      __atomic_add_fetch(&test_failures, 1, __ATOMIC_RELAXED);                                \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #expr);                \
      fprintf(stderr, __VA_ARGS__);                                                           \
      fputc('\n', stderr);                                                                    \
    }                                                                                         \
  } while (0)

#define TEST_SKIP(why)                                                                        \
  do {                                                                                        \
    fprintf(stderr, "skipped: %s\n", why);                                                    \
    exit(77);                                                                                 \
  } while (0)

#define TEST_EXIT()                                                                           \
  do {                                                                                        \
    fprintf(stderr, "%d checks, %d failed\n", test_checks, test_failures);                    \
    return test_failures || !test_checks ? 1 : 0;                                             \
  } while (0)

#endif
