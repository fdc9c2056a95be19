/* clockstate.c - ClockState publication: one writer (the engine thread), lock-free readers
   (the server workers) through a Concurrency Kit seqlock.

   Why the copy is safe: the reader copies the whole snapshot between
   ck_sequence_read_begin and ck_sequence_read_retry and looks at none of it until the
   retry check says no publish overlapped the copy; a torn copy is thrown away and taken
   again. ck's fences order the copy against the sequence loads (a compiler barrier on
   x86's TSO, real load/store fences elsewhere), so neither the compiler nor the CPU can
   move the copy out of the section.
   The snapshot is stored as an array of 64-bit words, written and read with relaxed
   atomic stores and loads. On x86-64 these are the plain moves a memcpy would make, but
   they make the concurrent accesses defined behaviour in C11 (a plain memcpy racing the
   writer is formally a data race that the compiler may assume away), each word is copied
   exactly once, and nothing interprets a possibly torn double as a number (it is only bits
   until the retry check passes). */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <ck_sequence.h>

#include "engine/clockstate.h"

#define MAX_CORRECTION 1e15 /* seconds */

#define STATE_WORDS ((sizeof(CST_State) + sizeof(uint64_t) - 1) / sizeof(uint64_t))

typedef union {
  CST_State state;
  uint64_t words[STATE_WORDS];
} StateWords;

/* One cache line or two to itself: readers on every worker share it read-mostly, and it
   should not share a line with anything the engine writes more often. */
static struct {
  _Alignas(64) ck_sequence_t seq;
  uint64_t words[STATE_WORDS];
} published;

/* only the writer touches this */
static uint64_t generation;

static void store_words(const StateWords *src)
{
  for (size_t i = 0; i < STATE_WORDS; i++)
    __atomic_store_n(&published.words[i], src->words[i], __ATOMIC_RELAXED);
}

static void load_words(StateWords *dst)
{
  for (size_t i = 0; i < STATE_WORDS; i++)
    dst->words[i] = __atomic_load_n(&published.words[i], __ATOMIC_RELAXED);
}

void CST_Initialise(void)
{
  StateWords w;

  /* Until the first publish, readers see an unsynchronised clock with generation 0. */
  memset(&w, 0, sizeof(w));
  w.state.leap = 3;
  w.state.stratum = 16;
  generation = 0;
  ck_sequence_init(&published.seq);
  store_words(&w);
}

void CST_Finalise(void)
{
}

void CST_Publish(const CST_State *state)
{
  StateWords w;

  memset(&w, 0, sizeof(w)); /* no stray bytes in the published copy */
  memcpy(&w.state, state, sizeof(*state));
  w.state.generation = ++generation;

  ck_sequence_write_begin(&published.seq);
  store_words(&w);
  ck_sequence_write_end(&published.seq);
}

void CST_Read(CST_State *state)
{
  StateWords w;
  unsigned int version;

  do {
    version = ck_sequence_read_begin(&published.seq);
    load_words(&w);
  } while (ck_sequence_read_retry(&published.seq, version));

  *state = w.state;
}

void CST_ServedTime(const CST_State *state, const struct timespec *system,
                    struct timespec *served)
{
  double elapsed, corr, whole;
  int64_t sec, nsec;

  elapsed = (double) (system->tv_sec - state->base.tv_sec) +
            (system->tv_nsec - state->base.tv_nsec) * 1e-9;
  corr = state->offset + state->freq * elapsed;
  /* A broken model (NaN, or a correction of more than 30 million years, which would also
     overflow the conversions below) must not produce a garbage timestamp: serve the
     system time. */
  if (!(fabs(corr) < MAX_CORRECTION))
    corr = 0.0;

  /* split into whole seconds (rounded down, also for negative values) and a fraction in
     [0, 1), so the nanoseconds are added without going negative */
  whole = floor(corr);
  sec = (int64_t) system->tv_sec + (int64_t) whole;
  nsec = (int64_t) system->tv_nsec + llround((corr - whole) * 1e9);
  while (nsec >= 1000000000) {
    nsec -= 1000000000;
    sec++;
  }
  served->tv_sec = (time_t) sec;
  served->tv_nsec = (long) nsec;
}
