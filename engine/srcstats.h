/* srcstats.h - the measurement history of one time source and what it says: the offset of
   our clock from the source now, its frequency against ours and that frequency's error
   bound (skew), the spread of the samples, as chronyc's sourcestats reports them.
   Engine thread only (an SST_Stats belongs to one source). */
#ifndef KAIROS_SRCSTATS_H
#define KAIROS_SRCSTATS_H

#include <stddef.h>
#include <time.h>

#define SST_MAX_SAMPLES 64 /* chrony's default maxsamples */
#define SST_MIN_SAMPLES 6  /* fewer than this, and only a mean is trusted */

typedef struct {
  struct timespec time; /* local time of the measurement */
  double offset;        /* seconds the source is ahead of our clock */
  double delay;         /* round-trip delay to the source, seconds */
  double dispersion;    /* error bound of the measurement itself, seconds */
} SST_Sample;

typedef struct SST_Stats_Record SST_Stats;

typedef struct {
  int n_samples;    /* NP */
  int n_runs;       /* NR */
  double span;      /* seconds from the oldest sample used to the newest */
  double frequency; /* the source's rate against ours, ppm (positive: ours is slow) */
  double skew;      /* error bound of the frequency, ppm */
  double offset;    /* estimated offset at the time asked for, seconds */
  double offset_sd; /* standard error of that offset, seconds */
  double std_dev;   /* spread of the samples about the fit, seconds */
} SST_Report;

/* max_samples: 3..SST_MAX_SAMPLES history kept (older samples fall out). NULL on
   allocation failure. */
SST_Stats *SST_Create(int max_samples);
void SST_Destroy(SST_Stats *stats);

/* Samples must come in time order; one older than the newest is refused (-EINVAL). */
int SST_AddSample(SST_Stats *stats, const SST_Sample *sample);

/* Our clock was stepped or its frequency changed at `when`: keep the history consistent
   with the corrected clock (offsets measured before are shifted as the correction would
   have shifted them). dfreq is fractional (1e-6 = 1 ppm), doffset in seconds. */
void SST_CorrectClock(SST_Stats *stats, const struct timespec *when, double dfreq,
                      double doffset);

/* Drop the whole history. */
void SST_Reset(SST_Stats *stats);

/* The estimates at `now` from the longest recent span of samples a straight line
   describes. Returns 0, or -EAGAIN with fewer than 3 samples (n_samples is still set). */
int SST_GetReport(SST_Stats *stats, const struct timespec *now, SST_Report *report);

#endif
