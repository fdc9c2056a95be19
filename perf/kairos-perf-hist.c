/* kairos-perf-hist.c - log-linear histogram (see kairos-perf-hist.h). */
#include "perf/kairos-perf-hist.h"

#include <string.h>

#define LOAD(x)     atomic_load_explicit(&(x), memory_order_relaxed)
#define STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)

static unsigned int bucket_of(uint64_t v)
{
  unsigned int m, shift;

  if (v < PHI_SUB)
    return (unsigned int) v;
  m = 63 - (unsigned int) __builtin_clzll(v);
  if (m > PHI_MAX_EXP)
    return PHI_BUCKETS - 1;
  shift = m - PHI_SUB_BITS;
  return PHI_SUB + shift * PHI_SUB + (unsigned int) ((v >> shift) - PHI_SUB);
}

/* The lowest value of a bucket and its width */
static void bucket_range(unsigned int b, uint64_t *low, uint64_t *width)
{
  unsigned int shift;

  if (b < PHI_SUB) {
    *low = b;
    *width = 1;
    return;
  }
  shift = (b - PHI_SUB) / PHI_SUB;
  *low = ((uint64_t) PHI_SUB + (b - PHI_SUB) % PHI_SUB) << shift;
  *width = (uint64_t) 1 << shift;
}

void PHI_Reset(PHI_Hist *h)
{
  memset(h, 0, sizeof(*h));
  STORE(h->min_ns, UINT64_MAX);
}

void PHI_Add(PHI_Hist *h, uint64_t ns)
{
  unsigned int b = bucket_of(ns);

  /* Single writer: plain load + store, no locked instruction on the receive path */
  STORE(h->bucket[b], LOAD(h->bucket[b]) + 1);
  STORE(h->count, LOAD(h->count) + 1);
  STORE(h->sum_ns, LOAD(h->sum_ns) + ns);
  if (ns < LOAD(h->min_ns))
    STORE(h->min_ns, ns);
  if (ns > LOAD(h->max_ns))
    STORE(h->max_ns, ns);
}

void PHI_Merge(PHI_Hist *dst, const PHI_Hist *src)
{
  unsigned int b;

  for (b = 0; b < PHI_BUCKETS; b++)
    STORE(dst->bucket[b], LOAD(dst->bucket[b]) + LOAD(src->bucket[b]));
  STORE(dst->count, LOAD(dst->count) + LOAD(src->count));
  STORE(dst->sum_ns, LOAD(dst->sum_ns) + LOAD(src->sum_ns));
  if (LOAD(src->min_ns) < LOAD(dst->min_ns))
    STORE(dst->min_ns, LOAD(src->min_ns));
  if (LOAD(src->max_ns) > LOAD(dst->max_ns))
    STORE(dst->max_ns, LOAD(src->max_ns));
}

uint64_t PHI_Count(const PHI_Hist *h)
{
  return LOAD(h->count);
}

uint64_t PHI_Quantile(const PHI_Hist *h, double q)
{
  uint64_t total = 0, rank, seen = 0, low, width, c;
  unsigned int b;

  for (b = 0; b < PHI_BUCKETS; b++)
    total += LOAD(h->bucket[b]);
  if (total == 0)
    return 0;
  if (q < 0.0)
    q = 0.0;
  if (q > 1.0)
    q = 1.0;
  /* The smallest sample whose rank reaches q * total (rank counted from 1) */
  rank = (uint64_t) (q * (double) total + 0.5);
  if (rank < 1)
    rank = 1;
  for (b = 0; b < PHI_BUCKETS; b++) {
    c = LOAD(h->bucket[b]);
    if (c == 0)
      continue;
    seen += c;
    if (seen >= rank)
      break;
  }
  if (b >= PHI_BUCKETS)
    b = PHI_BUCKETS - 1;
  bucket_range(b, &low, &width);
  return low + width / 2;
}
