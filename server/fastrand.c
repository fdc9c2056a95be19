/* fastrand.c - xoshiro256** (Blackman and Vigna) with getrandom(2) seeding (see
   fastrand.h). */
#include "server/fastrand.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t rotl(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

/* splitmix64: spreads a weak seed over all bits, and never maps a counter to zero twice */
static uint64_t splitmix(uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Mix 32 fresh bytes into the state. XOR rather than replace, so that a reseed can only
   add to what the state already has. Returns 0 or a negative errno. */
static int mix_entropy(FRD_State *st)
{
  uint64_t fresh[4], x;
  struct timespec rt, mono;
  ssize_t r;
  int err = 0, i;

  /* GRND_NONBLOCK: a daemon started early in boot must not hang on an uninitialised
     pool; the fallback below serves until the next reseed */
  do {
    r = getrandom(fresh, sizeof(fresh), GRND_NONBLOCK);
  } while (r < 0 && errno == EINTR);
  if (r != (ssize_t) sizeof(fresh)) {
    err = r < 0 ? -errno : -EIO;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    x = (uint64_t) rt.tv_sec * 1000000000ULL + (uint64_t) rt.tv_nsec;
    x ^= rotl((uint64_t) mono.tv_sec * 1000000000ULL + (uint64_t) mono.tv_nsec, 23);
    x ^= rotl((uint64_t) (uintptr_t) st, 41) ^ (uint64_t) getpid() ^ st->s[0];
    for (i = 0; i < 4; i++)
      fresh[i] = splitmix(&x);
  }
  for (i = 0; i < 4; i++)
    st->s[i] ^= fresh[i];
  /* the one state xoshiro cannot leave */
  if (!(st->s[0] | st->s[1] | st->s[2] | st->s[3]))
    st->s[0] = 0x9e3779b97f4a7c15ULL;
  st->left = FRD_RESEED_INTERVAL;
  st->has_spare = 0;
  return err;
}

int FRD_Init(FRD_State *st)
{
  memset(st, 0, sizeof(*st));
  return mix_entropy(st);
}

uint64_t FRD_Next64(FRD_State *st)
{
  uint64_t *s = st->s;
  uint64_t result, t;

  if (st->left == 0)
    (void) mix_entropy(st);
  st->left--;

  result = rotl(s[1] * 5, 7) * 9;
  t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint32_t FRD_Next32(FRD_State *st)
{
  uint64_t v;

  if (st->has_spare) {
    st->has_spare = 0;
    return (uint32_t) st->spare;
  }
  v = FRD_Next64(st);
  st->spare = v >> 32;
  st->has_spare = 1;
  return (uint32_t) v;
}
