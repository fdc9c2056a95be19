/* test_clockstate.c - ClockState publication: a seqlock torture test (one writer, several
   readers, every field derived from one counter so that a torn snapshot is visible), the
   checker shown to catch torn snapshots, and CST_ServedTime figures.
   The module's .c is included so that the unprotected storage can be read directly, to
   show what the seqlock prevents. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "engine/clockstate.c"
#include "test.h"

#define N_READERS 3
/* The writer runs at least TORTURE_SECONDS, and on until every reader has seen
   MIN_DISTINCT generations or TORTURE_MAX_SECONDS have passed: on a loaded machine with
   few cores a reader may seldom run at the same time as the writer. */
#define TORTURE_SECONDS     1.0
#define TORTURE_MAX_SECONDS 3.0
#define MIN_DISTINCT        100

/* Every field a function of n, each one-to-one in n (stratum and friends aside) so that a
   snapshot mixing two publishes disagrees with its generation somewhere. n = 0 gives the
   state CST_Initialise publishes. */
static void state_for(uint64_t n, CST_State *s)
{
  memset(s, 0, sizeof(*s));
  s->base.tv_sec = (time_t) n;
  s->base.tv_nsec = (long) ((n * 7919) % 1000000000);
  s->offset = (double) n * 0.001;
  s->freq = (double) n * 1e-9;
  s->reference_time.tv_sec = (time_t) (2 * n);
  s->reference_time.tv_nsec = (long) (n % 1000000000);
  s->root_delay = (double) n * 0.5;
  s->root_dispersion = (double) n * 0.25;
  s->dispersion_rate = -(double) n;
  s->refid = (uint32_t) (n * 2654435761u);
  s->leap = (uint8_t) (3 - n % 4);
  s->stratum = (uint8_t) (16 - n % 16);
  s->precision = (int8_t) - (int) (n % 32);
  s->synchronised = (uint8_t) (n & 1);
  s->generation = n;
}

/* Number of fields that disagree with the snapshot's generation (0: consistent). */
static int inconsistent_fields(const CST_State *s)
{
  CST_State e;
  int bad = 0;

  state_for(s->generation, &e);
  bad += s->base.tv_sec != e.base.tv_sec;
  bad += s->base.tv_nsec != e.base.tv_nsec;
  bad += s->offset != e.offset;
  bad += s->freq != e.freq;
  bad += s->reference_time.tv_sec != e.reference_time.tv_sec;
  bad += s->reference_time.tv_nsec != e.reference_time.tv_nsec;
  bad += s->root_delay != e.root_delay;
  bad += s->root_dispersion != e.root_dispersion;
  bad += s->dispersion_rate != e.dispersion_rate;
  bad += s->refid != e.refid;
  bad += s->leap != e.leap;
  bad += s->stratum != e.stratum;
  bad += s->precision != e.precision;
  bad += s->synchronised != e.synchronised;
  return bad;
}

static double mono_now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
  int raw; /* read the storage without the seqlock */
  uint64_t reads, torn, distinct, backwards, last_gen;
} Reader;

static int writer_done;

static void *reader_main(void *arg)
{
  Reader *r = arg;

  while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE)) {
    CST_State s;

    if (r->raw) {
      StateWords w;

      load_words(&w);
      s = w.state;
    } else {
      CST_Read(&s);
    }
    r->reads++;
    if (inconsistent_fields(&s)) {
      if (!r->raw && r->torn < 5)
        fprintf(stderr, "torn read: generation %llu with %d inconsistent fields\n",
                (unsigned long long) s.generation, inconsistent_fields(&s));
      r->torn++;
      continue;
    }
    if (s.generation < r->last_gen)
      r->backwards++;
    if (s.generation != r->last_gen)
      __atomic_store_n(&r->distinct, r->distinct + 1, __ATOMIC_RELAXED); /* writer peeks */
    r->last_gen = s.generation;
  }
  return NULL;
}

static int readers_satisfied(const Reader *readers)
{
  for (int i = 0; i < N_READERS; i++) {
    if (__atomic_load_n(&readers[i].distinct, __ATOMIC_RELAXED) < MIN_DISTINCT)
      return 0;
  }
  return 1;
}

/* One writer (this thread) publishing as fast as it can for `seconds` (and, unless the
   readers are raw, on until they are satisfied or the limit), N_READERS readers. Returns
   the number of generations published. */
static uint64_t torture(int raw, double seconds, Reader *readers, double *elapsed)
{
  pthread_t threads[N_READERS];
  double start;
  uint64_t n = 0;

  CST_Initialise();
  __atomic_store_n(&writer_done, 0, __ATOMIC_RELEASE);
  memset(readers, 0, N_READERS * sizeof(*readers));
  for (int i = 0; i < N_READERS; i++) {
    readers[i].raw = raw;
    if (pthread_create(&threads[i], NULL, reader_main, &readers[i]) != 0)
      TEST_SKIP("pthread_create failed");
  }

  start = mono_now();
  for (;;) {
    CST_State s;

    state_for(++n, &s);
    s.generation = 12345; /* CST_Publish sets the generation */
    CST_Publish(&s);
    if (n % 256 == 0) {
      double t = mono_now() - start;

      if (t >= TORTURE_MAX_SECONDS || (t >= seconds && (raw || readers_satisfied(readers))))
        break;
    }
  }
  *elapsed = mono_now() - start;
  __atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < N_READERS; i++)
    pthread_join(threads[i], NULL);
  return n;
}

static void test_torture(void)
{
  Reader readers[N_READERS];
  uint64_t published_n, raw_torn = 0, raw_reads = 0;
  double elapsed;
  CST_State last;

  published_n = torture(0, TORTURE_SECONDS, readers, &elapsed);
  fprintf(stderr, "seqlock torture: %.2f s, %llu generations published (%.1f M/s)\n", elapsed,
          (unsigned long long) published_n, published_n / elapsed / 1e6);
  for (int i = 0; i < N_READERS; i++) {
    Reader *r = &readers[i];

    fprintf(stderr,
            "  reader %d: %llu reads (%.1f M/s), %llu distinct generations seen, "
            "%llu torn, %llu backwards\n",
            i, (unsigned long long) r->reads, r->reads / elapsed / 1e6,
            (unsigned long long) r->distinct, (unsigned long long) r->torn,
            (unsigned long long) r->backwards);
    TEST_CHECK(r->torn == 0);
    TEST_CHECK(r->backwards == 0);
    /* not vacuous: the readers ran a lot and really overlapped the writer */
    TEST_CHECKF(r->reads >= 10000, "reader %d: only %llu reads", i,
                (unsigned long long) r->reads);
    TEST_CHECKF(r->distinct >= MIN_DISTINCT, "reader %d: only %llu distinct generations", i,
                (unsigned long long) r->distinct);
    TEST_CHECK(r->last_gen <= published_n);
  }
  TEST_CHECKF(published_n >= 10000, "only %llu generations published",
              (unsigned long long) published_n);

  /* the last publish is what a reader sees now, with the generation CST_Publish gave it */
  CST_Read(&last);
  TEST_CHECK(last.generation == published_n);
  TEST_CHECK(inconsistent_fields(&last) == 0);

  /* The same storage read without the seqlock: how often the checker catches a torn copy.
     Only reported: whether tears show up depends on the machine's scheduling. */
  torture(1, 0.2, readers, &elapsed);
  for (int i = 0; i < N_READERS; i++) {
    raw_torn += readers[i].torn;
    raw_reads += readers[i].reads;
  }
  fprintf(stderr, "without the seqlock: %llu of %llu reads torn in %.2f s\n",
          (unsigned long long) raw_torn, (unsigned long long) raw_reads, elapsed);
}

/* The checker itself must flag snapshots that mix publishes. */
static void test_checker_catches_tears(void)
{
  CST_State s, next;

  for (uint64_t n = 0; n < 100; n++) {
    state_for(n, &s);
    TEST_CHECK(inconsistent_fields(&s) == 0);
  }

  /* first half from generation 1000, rest (generation included) from 1001 */
  state_for(1000, &s);
  state_for(1001, &next);
  memcpy((char *) &s + sizeof(s) / 2, (char *) &next + sizeof(s) / 2, sizeof(s) / 2);
  TEST_CHECK(inconsistent_fields(&s) > 0);

  /* a single field from the next publish */
  state_for(1000, &s);
  s.offset = next.offset;
  TEST_CHECK(inconsistent_fields(&s) == 1);
  state_for(1000, &s);
  s.reference_time.tv_nsec = next.reference_time.tv_nsec;
  TEST_CHECK(inconsistent_fields(&s) == 1);
  state_for(1000, &s);
  s.generation = 1001;
  TEST_CHECK(inconsistent_fields(&s) > 0);

  /* the state before any publish, with one field of the first publish */
  state_for(0, &s);
  state_for(1, &next);
  s.refid = next.refid;
  TEST_CHECK(inconsistent_fields(&s) == 1);
}

static void test_publish_read(void)
{
  CST_State s, r;

  CST_Initialise();
  CST_Read(&r);
  TEST_CHECK(r.generation == 0);
  TEST_CHECK(r.leap == 3 && r.stratum == 16 && !r.synchronised);
  TEST_CHECK(inconsistent_fields(&r) == 0);

  state_for(77, &s);
  s.generation = 999;
  CST_Publish(&s);
  CST_Read(&r);
  TEST_CHECK(r.generation == 1);
  s.generation = 1;
  TEST_CHECK(memcmp(&r, &s, sizeof(s)) == 0);
  CST_Publish(&s);
  CST_Read(&r);
  TEST_CHECK(r.generation == 2);
  CST_Finalise();
}

static int64_t served_minus_ns(const CST_State *s, struct timespec sys, struct timespec want)
{
  struct timespec out;

  CST_ServedTime(s, &sys, &out);
  TEST_CHECKF(out.tv_nsec >= 0 && out.tv_nsec < 1000000000, "unnormalised tv_nsec %ld",
              out.tv_nsec);
  return ((int64_t) out.tv_sec - want.tv_sec) * 1000000000 + (out.tv_nsec - want.tv_nsec);
}

#define CHECK_SERVED(s, sys, want)                                                            \
  do {                                                                                        \
    int64_t err_ = served_minus_ns(s, sys, want);                                             \
    TEST_CHECKF(err_ >= -1 && err_ <= 1, "served time off by %lld ns", (long long) err_);     \
  } while (0)

static void test_served_time(void)
{
  CST_State s;
  struct timespec out, in;

  memset(&s, 0, sizeof(s));
  s.base = (struct timespec){ 1000, 0 };

  /* identity */
  CHECK_SERVED(&s, ((struct timespec){ 1000, 123456789 }),
               ((struct timespec){ 1000, 123456789 }));

  /* offset only, carrying into the next second */
  s.offset = 0.25;
  CHECK_SERVED(&s, ((struct timespec){ 1000, 500000000 }),
               ((struct timespec){ 1000, 750000000 }));
  CHECK_SERVED(&s, ((struct timespec){ 1000, 900000000 }),
               ((struct timespec){ 1001, 150000000 }));

  /* negative offset crossing a second boundary, and more than a second */
  s.offset = -0.3;
  CHECK_SERVED(&s, ((struct timespec){ 1000, 100000000 }),
               ((struct timespec){ 999, 800000000 }));
  s.offset = -1.5;
  CHECK_SERVED(&s, ((struct timespec){ 1000, 100000000 }),
               ((struct timespec){ 998, 600000000 }));
  s.offset = -0.000000001;
  CHECK_SERVED(&s, ((struct timespec){ 1000, 0 }), ((struct timespec){ 999, 999999999 }));

  /* frequency: 1 ppm over 100 s after base is +100 us; before base it is -100 us */
  s.offset = 0.0;
  s.freq = 1e-6;
  CHECK_SERVED(&s, ((struct timespec){ 1100, 0 }), ((struct timespec){ 1100, 100000 }));
  CHECK_SERVED(&s, ((struct timespec){ 900, 0 }), ((struct timespec){ 899, 999900000 }));

  /* both, with a negative frequency: 0.5 s - 20 ppm x 2500.5 s = 0.44999 s */
  s.offset = 0.5;
  s.freq = -20e-6;
  CHECK_SERVED(&s, ((struct timespec){ 3500, 500000000 }),
               ((struct timespec){ 3500, 949990000 }));

  /* a realistic system time, base in the past with nanoseconds */
  s.base = (struct timespec){ 1700000000, 999999999 };
  s.offset = -0.000123456;
  s.freq = 12.5e-6;
  /* elapsed 64 s + 1 ns: correction -123456 ns + 800 us = 676544 ns */
  CHECK_SERVED(&s, ((struct timespec){ 1700000065, 0 }),
               ((struct timespec){ 1700000065, 676544 }));

  /* a broken model serves the system time */
  s.offset = NAN;
  CHECK_SERVED(&s, ((struct timespec){ 5, 5 }), ((struct timespec){ 5, 5 }));
  s.offset = 1e300;
  CHECK_SERVED(&s, ((struct timespec){ 5, 5 }), ((struct timespec){ 5, 5 }));

  /* served may alias system */
  memset(&s, 0, sizeof(s));
  s.offset = -0.75;
  in = (struct timespec){ 10, 500000000 };
  out = in;
  CST_ServedTime(&s, &out, &out);
  TEST_CHECK(out.tv_sec == 9 && out.tv_nsec == 750000000);
}

int main(void)
{
  test_checker_catches_tears();
  test_publish_read();
  test_served_time();
  test_torture();
  TEST_EXIT();
}
