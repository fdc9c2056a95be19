/* test_logging.c - the per-site rate limit for messages a remote peer can trigger. */
#include <pthread.h>
#include <string.h>

#include "engine/logging.h"
#include "test.h"

static LOG_RateLimit shared;
static int allowed_by_threads;

static void *hammer(void *arg)
{
  int i, n = 0;

  (void) arg;
  for (i = 0; i < 100000; i++)
    if (LOG_RateLimitAllow(&shared, 3600, 5) >= 0)
      n++;
  __atomic_add_fetch(&allowed_by_threads, n, __ATOMIC_RELAXED);
  return NULL;
}

int main(void)
{
  LOG_RateLimit rl;
  pthread_t t[4];
  int i, allowed = 0, r;

  /* a burst of 10 passes, then everything is suppressed within the interval */
  memset(&rl, 0, sizeof(rl));
  for (i = 0; i < 1000; i++)
    if (LOG_RateLimitAllow(&rl, 3600, 10) >= 0)
      allowed++;
  TEST_CHECKF(allowed == 10, "allowed %d", allowed);
  TEST_CHECKF(rl.suppressed == 990, "suppressed %u", rl.suppressed);

  /* once the bucket has room again (simulated by moving its horizon back), the next
     message is allowed and reports the suppressed count */
  rl.next_ns -= 3600ULL * 1000000000ULL;
  r = LOG_RateLimitAllow(&rl, 3600, 10);
  TEST_CHECKF(r == 990, "reported %d", r);
  TEST_CHECK(rl.suppressed == 0);

  /* several threads share one limit: exactly the burst gets through */
  memset(&shared, 0, sizeof(shared));
  for (i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, hammer, NULL);
  for (i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  TEST_CHECKF(allowed_by_threads == 5, "allowed %d", allowed_by_threads);
  TEST_CHECK(shared.suppressed == 400000 - 5);

  /* the macro itself: 10 messages reach stderr, then silence */
  LOG_Initialise();
  for (i = 0; i < 50; i++)
    LOG_RATE_LIMITED(LOGS_INFO, "test message %d", i);
  LOG_Finalise();

  TEST_EXIT();
}
