/* test_srcstats.c - source statistics: frequency, skew, offset and spread from a sample
   history, history limits, clock corrections, delay weighting. */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "engine/srcstats.h"
#include "test.h"

static uint64_t lcg = 777;

static double normal(void)
{
  double u1, u2;

  lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
  u1 = ((double) (lcg >> 11) + 0.5) / 9007199254740992.0;
  lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
  u2 = ((double) (lcg >> 11) + 0.5) / 9007199254740992.0;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static struct timespec at(double t)
{
  struct timespec ts;

  ts.tv_sec = 1800000000 + (time_t) floor(t);
  ts.tv_nsec = (long) ((t - floor(t)) * 1e9);
  return ts;
}

static void add(SST_Stats *s, double t, double offset, double delay)
{
  SST_Sample x;

  x.time = at(t);
  x.offset = offset;
  x.delay = delay;
  x.dispersion = 1e-6;
  TEST_CHECK(SST_AddSample(s, &x) == 0);
}

static void test_frequency_and_offset(void)
{
  SST_Stats *s = SST_Create(64);
  SST_Report r;
  struct timespec now = at(64 * 16.0);
  int i;

  /* the source runs 5 ppm fast against us, 1 ms ahead at t = 0, 1 us of noise */
  for (i = 0; i < 64; i++)
    add(s, 16.0 * i, 1e-3 + 5e-6 * 16.0 * i + 1e-6 * normal(), 1e-4);
  TEST_CHECK(SST_GetReport(s, &now, &r) == 0);
  TEST_CHECKF(r.n_samples == 64 && r.span == 63 * 16.0, "np %d span %g", r.n_samples, r.span);
  TEST_CHECKF(fabs(r.frequency - 5.0) < r.skew, "freq %g skew %g", r.frequency, r.skew);
  TEST_CHECKF(r.skew > 0.0 && r.skew < 0.05, "skew %g ppm", r.skew);
  TEST_CHECKF(fabs(r.offset - (1e-3 + 5e-6 * 1024.0)) < 2e-6, "offset %g", r.offset);
  TEST_CHECKF(r.std_dev > 0.5e-6 && r.std_dev < 2e-6, "sd %g", r.std_dev);
  TEST_CHECKF(r.n_runs > 20, "runs %d", r.n_runs);

  /* our clock takes the correction: its frequency up by 5 ppm and the offset stepped out;
     the same history now describes a source with no offset and no frequency difference */
  SST_CorrectClock(s, &now, 5e-6, 1e-3 + 5e-6 * 1024.0);
  TEST_CHECK(SST_GetReport(s, &now, &r) == 0);
  TEST_CHECKF(fabs(r.frequency) < r.skew, "freq %g after correction", r.frequency);
  TEST_CHECKF(fabs(r.offset) < 2e-6, "offset %g after correction", r.offset);
  SST_Destroy(s);
}

static void test_limits(void)
{
  SST_Stats *s = SST_Create(16);
  SST_Report r;
  SST_Sample x;
  struct timespec now = at(1000.0);
  int i;

  TEST_CHECK(SST_Create(2) == NULL && SST_Create(SST_MAX_SAMPLES + 1) == NULL);
  add(s, 0.0, 0.0, 1e-3);
  add(s, 1.0, 0.0, 1e-3);
  TEST_CHECK(SST_GetReport(s, &now, &r) == -EAGAIN && r.n_samples == 2);
  for (i = 2; i < 100; i++)
    add(s, (double) i, 1e-6 * normal(), 1e-3);
  TEST_CHECK(SST_GetReport(s, &now, &r) == 0);
  TEST_CHECKF(r.n_samples <= 16 && r.span <= 15.0, "np %d span %g", r.n_samples, r.span);

  /* out of order, NaN, negative delay: refused */
  x.time = at(50.0);
  x.offset = 0.0;
  x.delay = 1e-3;
  x.dispersion = 0.0;
  TEST_CHECK(SST_AddSample(s, &x) == -EINVAL);
  x.time = at(200.0);
  x.offset = NAN;
  TEST_CHECK(SST_AddSample(s, &x) == -EINVAL);
  x.offset = 0.0;
  x.delay = -1.0;
  TEST_CHECK(SST_AddSample(s, &x) == -EINVAL);

  SST_Reset(s);
  TEST_CHECK(SST_GetReport(s, &now, &r) == -EAGAIN && r.n_samples == 0);
  SST_Destroy(s);
}

static void test_delay_weighting(void)
{
  SST_Stats *s = SST_Create(32);
  SST_Report r;
  struct timespec now = at(32 * 8.0);
  int i;

  /* every fourth sample crossed a congested path: 100 ms more delay and 20 ms off */
  for (i = 0; i < 32; i++) {
    int slow = i % 4 == 1;

    add(s, 8.0 * i, 2e-3 + (slow ? 0.02 : 0.0) + 1e-6 * normal(), slow ? 0.1 : 1e-4);
  }
  TEST_CHECK(SST_GetReport(s, &now, &r) == 0);
  TEST_CHECKF(fabs(r.offset - 2e-3) < 1e-4, "offset %g", r.offset);
  SST_Destroy(s);
}

static void test_frequency_change(void)
{
  SST_Stats *s = SST_Create(64);
  SST_Report r;
  struct timespec now = at(64 * 16.0);
  int i;

  /* the source's frequency against ours changed from +20 ppm to +2 ppm halfway: the old
     half is dropped and the frequency is the new one */
  for (i = 0; i < 64; i++) {
    double t = 16.0 * i, off = i < 32 ? 20e-6 * (t - 512.0) : 2e-6 * (t - 512.0);

    add(s, t, off + 1e-7 * normal(), 1e-4);
  }
  TEST_CHECK(SST_GetReport(s, &now, &r) == 0);
  TEST_CHECKF(r.n_samples <= 40, "np %d", r.n_samples);
  TEST_CHECKF(fabs(r.frequency - 2.0) < 0.5, "freq %g", r.frequency);
  SST_Destroy(s);
}

int main(void)
{
  test_frequency_and_offset();
  test_limits();
  test_delay_weighting();
  test_frequency_change();
  TEST_EXIT();
}
