/* kairos-perf-hist.h - a fixed-size log-linear histogram of durations in nanoseconds for
   kairos-perf's response times: 64 sub-buckets per power of two (1.6% resolution), no
   allocation per sample. One thread adds (single-writer counters); any thread may read. */
#ifndef KAIROS_PERF_HIST_H
#define KAIROS_PERF_HIST_H

#include <stdatomic.h>
#include <stdint.h>

#define PHI_SUB_BITS 6
#define PHI_SUB      (1 << PHI_SUB_BITS)
#define PHI_MAX_EXP                                                                           \
  40 /* values at or above 2^41 ns (about 37 minutes) share the top bucket                    \
      */
#define PHI_BUCKETS (PHI_SUB + (PHI_MAX_EXP - PHI_SUB_BITS + 1) * PHI_SUB)

typedef struct {
  _Atomic uint64_t count;
  _Atomic uint64_t sum_ns;
  _Atomic uint64_t min_ns;
  _Atomic uint64_t max_ns;
  _Atomic uint64_t bucket[PHI_BUCKETS];
} PHI_Hist;

void PHI_Reset(PHI_Hist *h);

/* Only one thread may add to a given histogram. */
void PHI_Add(PHI_Hist *h, uint64_t ns);

/* dst += src (dst must not be written concurrently). */
void PHI_Merge(PHI_Hist *dst, const PHI_Hist *src);

/* The value below which a fraction q (0..1) of the samples lie, as the midpoint of its
   bucket; 0 when the histogram is empty. */
uint64_t PHI_Quantile(const PHI_Hist *h, double q);

uint64_t PHI_Count(const PHI_Hist *h);

#endif
