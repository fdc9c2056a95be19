/* clock_virtual.c - a software clock over a base clock. Engine thread only.

     time = base_real(now) + offset + freq * (base_mono(now) - mono_ref)

   where mono_ref is the base monotonic time of the last frequency change. Changing the
   frequency first folds the correction accumulated at the old frequency into the offset,
   so time stays continuous; a step adds to the offset; the monotonic clock is the base's,
   untouched by either. The offset is kept as whole seconds plus a fraction in [0, 1) so
   that large steps do not cost nanosecond resolution. */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "engine/clock.h"

/* Limits that keep every conversion in range: a frequency offset of 100% and steps of
   30 million years are far beyond anything a working discipline asks for. */
#define MAX_FREQ_PPM 1e6
#define MAX_STEP     1e15

static void system_real(struct timespec *ts)
{
  clock_gettime(CLOCK_REALTIME, ts);
}

static void system_mono(struct timespec *ts)
{
  clock_gettime(CLOCK_MONOTONIC, ts);
}

static void (*base_real)(struct timespec *ts) = system_real;
static void (*base_mono)(struct timespec *ts) = system_mono;

static int64_t offset_sec;
static double offset_frac; /* [0, 1) */
static double freq_ppm;
static struct timespec mono_ref; /* meaningless while freq_ppm == 0 */

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
  return (double) (a->tv_sec - b->tv_sec) + (a->tv_nsec - b->tv_nsec) * 1e-9;
}

static void add_offset(double seconds)
{
  /* whole seconds and fraction separately: x - floor(x) is exact, while adding a large
     value to the small fraction first would round nanoseconds away */
  double whole = floor(seconds);

  offset_sec += (int64_t) whole;
  offset_frac += seconds - whole;
  if (offset_frac >= 1.0) {
    offset_frac -= 1.0;
    offset_sec++;
  }
}

static void read_time(struct timespec *ts)
{
  struct timespec real, mono;
  double corr, whole;
  int64_t sec, nsec;

  base_real(&real);
  base_mono(&mono);
  corr = offset_frac + freq_ppm * 1e-6 * ts_diff(&mono, &mono_ref);
  whole = floor(corr);
  sec = (int64_t) real.tv_sec + offset_sec + (int64_t) whole;
  nsec = real.tv_nsec + llround((corr - whole) * 1e9);
  /* corr - whole is in [0, 1): at most one carry */
  if (nsec >= 1000000000) {
    nsec -= 1000000000;
    sec++;
  }
  ts->tv_sec = (time_t) sec;
  ts->tv_nsec = (long) nsec;
}

static void read_mono(struct timespec *ts)
{
  base_mono(ts);
}

static double get_frequency(void)
{
  return freq_ppm;
}

static int set_frequency(double ppm)
{
  struct timespec mono;

  if (!(fabs(ppm) <= MAX_FREQ_PPM))
    return -EINVAL;
  base_mono(&mono);
  add_offset(freq_ppm * 1e-6 * ts_diff(&mono, &mono_ref));
  mono_ref = mono;
  freq_ppm = ppm;
  return 0;
}

static int step(double offset)
{
  if (!(fabs(offset) <= MAX_STEP))
    return -EINVAL;
  add_offset(offset);
  return 0;
}

static const CLK_Driver virtual_driver = {
  .name = "virtual",
  .read_time = read_time,
  .read_mono = read_mono,
  .get_frequency = get_frequency,
  .set_frequency = set_frequency,
  .step = step,
};

const CLK_Driver *CLK_VirtualDriver(void)
{
  return &virtual_driver;
}

void CLK_VirtualSetBase(void (*read_real)(struct timespec *ts),
                        void (*read_mono_fn)(struct timespec *ts))
{
  base_real = read_real ? read_real : system_real;
  base_mono = read_mono_fn ? read_mono_fn : system_mono;
  offset_sec = 0;
  offset_frac = 0.0;
  freq_ppm = 0.0;
  base_mono(&mono_ref);
}
