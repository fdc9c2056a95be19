/* clock.c - the clock driver in use and thin wrappers over it. Engine thread only.

   Before CLK_Initialise and after CLK_Finalise the calls go to the Linux driver, which only
   reads: code that runs early (the scheduler in tests, logging of startup) still gets a
   sensible time, and nothing can steer a clock that was not chosen. */
#include <assert.h>
#include <stddef.h>

#include "engine/clock.h"

static const CLK_Driver *driver;

static const CLK_Driver *current(void)
{
  return driver ? driver : CLK_LinuxDriver();
}

void CLK_Initialise(const CLK_Driver *d)
{
  assert(d && d->read_time && d->read_mono && d->get_frequency && d->set_frequency && d->step);
  driver = d;
}

void CLK_Finalise(void)
{
  driver = NULL;
}

const CLK_Driver *CLK_GetDriver(void)
{
  return current();
}

void CLK_ReadTime(struct timespec *ts)
{
  current()->read_time(ts);
}

void CLK_ReadMono(struct timespec *ts)
{
  current()->read_mono(ts);
}

double CLK_ReadMonoSeconds(void)
{
  struct timespec ts;

  current()->read_mono(&ts);
  return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

double CLK_GetFrequency(void)
{
  return current()->get_frequency();
}

int CLK_SetFrequency(double ppm)
{
  return current()->set_frequency(ppm);
}

int CLK_Step(double offset)
{
  return current()->step(offset);
}
