/* clock_linux.c - the Linux system clock driver. Engine thread only.

   In this release kairos never steers the system clock: time is read with clock_gettime
   (CLOCK_REALTIME, CLOCK_MONOTONIC only, which the LD_PRELOAD simulator intercepts), the
   frequency with ntp_adjtime() and modes = 0, which reads and writes nothing. set_frequency
   and step refuse with -EPERM without making any call. This file will be the only caller
   of ntp_adjtime/clock_adjtime with non-zero modes when steering is added. */
#include <errno.h>
#include <string.h>
#include <sys/timex.h>

#include "engine/clock.h"
#include "engine/logging.h"

static void read_time(struct timespec *ts)
{
  clock_gettime(CLOCK_REALTIME, ts);
}

static void read_mono(struct timespec *ts)
{
  clock_gettime(CLOCK_MONOTONIC, ts);
}

static double get_frequency(void)
{
  struct timex tx;

  memset(&tx, 0, sizeof(tx));
  tx.modes = 0; /* read only: never anything else here */
  if (ntp_adjtime(&tx) < 0) {
    LOG_RATE_LIMITED(LOGS_ERR, "ntp_adjtime() failed: %s", strerror(errno));
    return 0.0;
  }
  /* the kernel's freq is in ppm with a 16-bit fraction; positive makes the clock faster */
  return tx.freq / 65536.0;
}

static int set_frequency(double ppm)
{
  (void) ppm;
  return -EPERM;
}

static int step(double offset)
{
  (void) offset;
  return -EPERM;
}

static const CLK_Driver linux_driver = {
  .name = "linux",
  .read_time = read_time,
  .read_mono = read_mono,
  .get_frequency = get_frequency,
  .set_frequency = set_frequency,
  .step = step,
};

const CLK_Driver *CLK_LinuxDriver(void)
{
  return &linux_driver;
}
