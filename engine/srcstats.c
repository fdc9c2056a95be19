/* srcstats.c - per-source sample history and its regression. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/regress.h"
#include "engine/srcstats.h"

struct SST_Stats_Record {
  int max_samples;
  int n;                               /* samples held */
  SST_Sample samples[SST_MAX_SAMPLES]; /* oldest first */
};

SST_Stats *SST_Create(int max_samples)
{
  SST_Stats *s;

  if (max_samples < 3 || max_samples > SST_MAX_SAMPLES)
    return NULL;
  s = calloc(1, sizeof(*s));
  if (s)
    s->max_samples = max_samples;
  return s;
}

void SST_Destroy(SST_Stats *stats)
{
  free(stats);
}

void SST_Reset(SST_Stats *stats)
{
  stats->n = 0;
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
  return (double) (b->tv_sec - a->tv_sec) + 1e-9 * (double) (b->tv_nsec - a->tv_nsec);
}

int SST_AddSample(SST_Stats *stats, const SST_Sample *sample)
{
  if (!isfinite(sample->offset) || !(sample->delay >= 0.0) || !(sample->dispersion >= 0.0))
    return -EINVAL;
  if (stats->n > 0 && seconds_between(&stats->samples[stats->n - 1].time, &sample->time) < 0.0)
    return -EINVAL;
  if (stats->n == stats->max_samples) {
    memmove(stats->samples, stats->samples + 1, (size_t) (stats->n - 1) * sizeof(SST_Sample));
    stats->n--;
  }
  stats->samples[stats->n++] = *sample;
  return 0;
}

void SST_CorrectClock(SST_Stats *stats, const struct timespec *when, double dfreq,
                      double doffset)
{
  int i;

  /* a sample taken dt before `when` was measured against a clock that, corrected, would
     have read dfreq * dt less behind it, and is now doffset further off */
  for (i = 0; i < stats->n; i++) {
    double dt = seconds_between(&stats->samples[i].time, when);

    stats->samples[i].offset -= doffset - dfreq * dt;
  }
}

/* Two-sided 95 % Student t coefficient for `dof` degrees of freedom. */
static double t_coefficient(size_t dof)
{
  static const double table[] = {
    12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14, 2.13,
    2.12,  2.11, 2.10, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05, 2.04
  };

  if (dof == 0)
    return table[0];
  return dof <= sizeof(table) / sizeof(table[0]) ? table[dof - 1] : 1.96;
}

int SST_GetReport(SST_Stats *stats, const struct timespec *now, SST_Report *report)
{
  double x[SST_MAX_SAMPLES], y[SST_MAX_SAMPLES], w[SST_MAX_SAMPLES], min_dist = INFINITY;
  const struct timespec *t0;
  size_t first;
  RGR_Fit fit;
  int i, r;

  memset(report, 0, sizeof(*report));
  report->n_samples = stats->n;
  if (stats->n < 3)
    return -EAGAIN;

  t0 = &stats->samples[stats->n - 1].time;
  for (i = 0; i < stats->n; i++) {
    const SST_Sample *s = &stats->samples[i];
    double dist = s->delay / 2.0 + s->dispersion;

    if (dist < min_dist)
      min_dist = dist;
  }
  /* weights: samples whose path was slow or uncertain count less, relative to the best */
  for (i = 0; i < stats->n; i++) {
    const SST_Sample *s = &stats->samples[i];
    double rel = (s->delay / 2.0 + s->dispersion) / (min_dist > 0.0 ? min_dist : 1e-9);

    x[i] = seconds_between(t0, &s->time); /* <= 0: the newest sample is at 0 */
    y[i] = s->offset;
    w[i] = min_dist > 0.0 ? 1.0 / (rel * rel) : 1.0;
  }

  r = RGR_FindBestFit(x, y, w, (size_t) stats->n,
                      stats->n < SST_MIN_SAMPLES ? (size_t) stats->n : SST_MIN_SAMPLES, &fit,
                      &first);
  if (r < 0)
    return r;

  {
    double at = seconds_between(t0, now), dx = at - fit.x_mean;

    report->n_samples = (int) fit.n;
    report->n_runs = (int) fit.runs;
    report->span = -x[first];
    /* offset = source - ours grows at b1: the source runs fast against us by b1 */
    report->frequency = fit.b1 * 1e6;
    report->skew = t_coefficient(fit.n - 2) * fit.sb1 * 1e6;
    report->offset = fit.b0 + fit.b1 * at;
    report->std_dev = sqrt(fit.s2);
    report->offset_sd = sqrt(fit.sb1 * fit.sb1 * dx * dx + fit.s2 / (double) fit.n);
  }
  return 0;
}
