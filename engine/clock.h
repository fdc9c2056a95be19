/* clock.h - the clock driver interface: the only way kairos reads or steers the system
   clock. One driver is chosen at startup: the Linux driver (adjtimex/clock_adjtime; in
   this release it only reads) or the virtual driver (a software clock used with -x, in
   tests and in the simulator, which never touches the system clock).
   Engine thread only: workers read time through the published ClockState. */
#ifndef KAIROS_CLOCK_H
#define KAIROS_CLOCK_H

#include <time.h>

typedef struct {
  const char *name;
  /* read the (possibly corrected) real-time clock */
  void (*read_time)(struct timespec *ts);
  /* read a monotonic clock that steps and slews never move backwards */
  void (*read_mono)(struct timespec *ts);
  /* frequency offset in ppm (positive: the clock runs faster) */
  double (*get_frequency)(void);
  /* each returns 0 or a negative errno (-EPERM from a driver that may not steer) */
  int (*set_frequency)(double ppm);
  int (*step)(double offset); /* add offset seconds to the clock */
} CLK_Driver;

/* The driver stays in use until CLK_Finalise. */
void CLK_Initialise(const CLK_Driver *driver);
void CLK_Finalise(void);
const CLK_Driver *CLK_GetDriver(void);

void CLK_ReadTime(struct timespec *ts);
void CLK_ReadMono(struct timespec *ts);
double CLK_ReadMonoSeconds(void);
double CLK_GetFrequency(void);
int CLK_SetFrequency(double ppm);
int CLK_Step(double offset);

/* The Linux system clock: reads with clock_gettime and adjtimex(modes = 0) only. */
const CLK_Driver *CLK_LinuxDriver(void);

/* The virtual clock: the base clock (the system clock unless a test sets another) corrected
   in software by the frequency and steps applied to it. */
const CLK_Driver *CLK_VirtualDriver(void);
/* Tests and the simulator: read real and monotonic base time from these functions instead
   of clock_gettime (pass NULL to restore). Resets the virtual clock's corrections. */
void CLK_VirtualSetBase(void (*read_real)(struct timespec *ts),
                        void (*read_mono)(struct timespec *ts));

#endif
