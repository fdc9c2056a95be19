/* test_regress.c - least-squares figures, the runs test, the best recent span, medians. */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "engine/regress.h"
#include "test.h"

/* deterministic normal noise (Box-Muller over a 64-bit LCG) */
static uint64_t lcg = 12345;

static double uniform(void)
{
  lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
  return ((double) (lcg >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void)
{
  return sqrt(-2.0 * log(uniform())) * cos(2.0 * M_PI * uniform());
}

static void test_exact_line(void)
{
  double x[10], y[10];
  RGR_Fit f;
  int i;

  for (i = 0; i < 10; i++) {
    x[i] = 1.8e9 + 16.0 * i; /* timestamps: centred sums keep the slope exact */
    y[i] = 2.0 + 0.5 * (x[i] - 1.8e9);
  }
  TEST_CHECK(RGR_FitLine(x, y, NULL, 10, &f) == 0);
  TEST_CHECKF(fabs(f.b1 - 0.5) < 1e-12, "b1 %.15g", f.b1);
  TEST_CHECKF(fabs(f.b0 + f.b1 * 1.8e9 - 2.0) < 1e-3, "at 1.8e9: %.15g", f.b0 + f.b1 * 1.8e9);
  TEST_CHECK(f.s2 < 1e-12 && f.n == 10);
}

static void test_noisy_line(void)
{
  double x[64], y[64], sigma = 1e-5;
  RGR_Fit f;
  size_t first;
  int i, inside = 0, rep;

  /* over 200 data sets the slope lies within 2 standard errors about 95 % of the time,
     and s2 estimates sigma^2 */
  for (rep = 0; rep < 200; rep++) {
    for (i = 0; i < 64; i++) {
      x[i] = 64.0 * i;
      y[i] = 1e-3 + 1e-6 * x[i] + sigma * normal();
    }
    TEST_CHECK(RGR_FitLine(x, y, NULL, 64, &f) == 0);
    inside += fabs(f.b1 - 1e-6) < 2.0 * f.sb1;
    if (rep == 0) {
      TEST_CHECKF(f.s2 > 0.5 * sigma * sigma && f.s2 < 2.0 * sigma * sigma, "s2 %g", f.s2);
      /* noise passes the runs test: the whole span is kept */
      TEST_CHECK(RGR_FindBestFit(x, y, NULL, 64, 6, &f, &first) == 0);
      TEST_CHECKF(first == 0, "first %zu", first);
    }
  }
  TEST_CHECKF(inside >= 180 && inside <= 200, "%d of 200 within 2 sb1", inside);
}

static void test_weights(void)
{
  double x[20], y[20], w[20];
  RGR_Fit f;
  int i;

  /* five wild points with tiny weights barely move the line the others define */
  for (i = 0; i < 20; i++) {
    x[i] = i;
    y[i] = 3.0 - 0.25 * i;
    w[i] = 1.0;
    if (i % 4 == 0) {
      y[i] += 100.0;
      w[i] = 1e-9;
    }
  }
  TEST_CHECK(RGR_FitLine(x, y, w, 20, &f) == 0);
  TEST_CHECKF(fabs(f.b1 + 0.25) < 1e-5 && fabs(f.b0 - 3.0) < 1e-4, "b0 %g b1 %g", f.b0, f.b1);
  /* equal weights: the same points pull the line far away */
  TEST_CHECK(RGR_FitLine(x, y, NULL, 20, &f) == 0);
  TEST_CHECK(fabs(f.b0 - 3.0) > 1.0);
}

static void test_runs(void)
{
  double r[20];
  int i;

  for (i = 0; i < 20; i++)
    r[i] = i < 10 ? 1.0 : -1.0;
  TEST_CHECK(RGR_CountRuns(r, 20) == 2);
  TEST_CHECK(RGR_TooFewRuns(2, 20, 10) == 1);
  for (i = 0; i < 20; i++)
    r[i] = i % 2 ? 1.0 : -1.0;
  TEST_CHECK(RGR_CountRuns(r, 20) == 20);
  TEST_CHECK(RGR_TooFewRuns(20, 20, 10) == 0);
  /* the expected count for 10+10 is 11 (sd 2.18): 8 is fine, 6 is too few */
  TEST_CHECK(RGR_TooFewRuns(8, 20, 10) == 0);
  TEST_CHECK(RGR_TooFewRuns(6, 20, 10) == 1);
  TEST_CHECK(RGR_CountRuns(r, 0) == 0 && RGR_CountRuns(r, 1) == 1);
  TEST_CHECK(RGR_TooFewRuns(1, 5, 5) == 1);
}

static void test_best_span(void)
{
  double x[40], y[40];
  RGR_Fit f;
  size_t first = 99;
  int i;

  /* the clock's frequency changed at sample 20: the old half bends away from the line of
     the new half, so the oldest samples are dropped */
  for (i = 0; i < 40; i++) {
    x[i] = 8.0 * i;
    y[i] = i < 20 ? 5e-6 * (x[i] - 160.0) : 1e-6 * (x[i] - 160.0);
    y[i] += 1e-7 * normal();
  }
  TEST_CHECK(RGR_FindBestFit(x, y, NULL, 40, 6, &f, &first) == 0);
  TEST_CHECKF(first >= 10 && first <= 22, "first %zu", first);
  TEST_CHECKF(fabs(f.b1 - 1e-6) < 1e-6, "slope %g", f.b1);

  TEST_CHECK(RGR_FindBestFit(x, y, NULL, 5, 6, &f, &first) == -EINVAL);
}

static void test_errors_and_median(void)
{
  double x[4] = { 1, 1, 1, 1 }, y[4] = { 1, 2, 3, 4 }, w[4] = { 1, 0, 1, 1 };
  double v[5] = { 5, 1, 4, 2, 3 }, e[4] = { 4, 1, 3, 2 };
  RGR_Fit f;

  TEST_CHECK(RGR_FitLine(x, y, NULL, 4, &f) == -EINVAL); /* all x equal */
  TEST_CHECK(RGR_FitLine(y, x, NULL, 2, &f) == -EINVAL); /* too few */
  TEST_CHECK(RGR_FitLine(y, x, w, 4, &f) == -EINVAL);    /* zero weight */
  TEST_CHECK(RGR_Median(v, 5) == 3.0);
  TEST_CHECK(RGR_Median(e, 4) == 2.5);
}

int main(void)
{
  test_exact_line();
  test_noisy_line();
  test_weights();
  test_runs();
  test_best_span();
  test_errors_and_median();
  TEST_EXIT();
}
