/* test_clock.c - the clock driver interface: the virtual clock over a fake base clock, and
   the read-only Linux driver. Nothing here may write the system clock. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "engine/clock.h"
#include "test.h"

static struct timespec fake_real, fake_mono;

static void read_fake_real(struct timespec *ts)
{
  *ts = fake_real;
}

static void read_fake_mono(struct timespec *ts)
{
  *ts = fake_mono;
}

static void advance(double seconds)
{
  int64_t ns = llround(seconds * 1e9);

  fake_real.tv_sec += ns / 1000000000;
  fake_real.tv_nsec += ns % 1000000000;
  fake_mono.tv_sec += ns / 1000000000;
  fake_mono.tv_nsec += ns % 1000000000;
  if (fake_real.tv_nsec >= 1000000000) {
    fake_real.tv_nsec -= 1000000000;
    fake_real.tv_sec++;
  }
  if (fake_mono.tv_nsec >= 1000000000) {
    fake_mono.tv_nsec -= 1000000000;
    fake_mono.tv_sec++;
  }
}

/* a - b in nanoseconds */
static int64_t diff_ns(const struct timespec *a, const struct timespec *b)
{
  return ((int64_t) a->tv_sec - b->tv_sec) * 1000000000 + (a->tv_nsec - b->tv_nsec);
}

/* virtual time minus fake real time, in ns */
static int64_t virtual_error_ns(void)
{
  struct timespec ts;

  CLK_ReadTime(&ts);
  TEST_CHECKF(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000, "unnormalised tv_nsec %ld",
              ts.tv_nsec);
  return diff_ns(&ts, &fake_real);
}

static void test_virtual_frequency(void)
{
  int64_t e;

  fake_real = (struct timespec){ 1700000000, 250000000 };
  fake_mono = (struct timespec){ 5000, 999000000 };
  CLK_VirtualSetBase(read_fake_real, read_fake_mono);
  CLK_Initialise(CLK_VirtualDriver());
  TEST_CHECK(strcmp(CLK_GetDriver()->name, "virtual") == 0);

  TEST_CHECK(virtual_error_ns() == 0);
  TEST_CHECK(CLK_GetFrequency() == 0.0);

  /* 100 ppm for 1000 fake seconds: +0.1 s */
  TEST_CHECK(CLK_SetFrequency(100.0) == 0);
  TEST_CHECK(CLK_GetFrequency() == 100.0);
  TEST_CHECK(virtual_error_ns() == 0);
  advance(1000.0);
  e = virtual_error_ns();
  TEST_CHECKF(llabs(e - 100000000) <= 1, "100 ppm x 1000 s: %lld ns, want 100000000",
              (long long) e);

  /* continuity: changing the frequency does not move the time */
  advance(500.0); /* +0.05 s more: 0.15 s */
  e = virtual_error_ns();
  TEST_CHECKF(llabs(e - 150000000) <= 1, "after 1500 s: %lld ns", (long long) e);
  TEST_CHECK(CLK_SetFrequency(-50.0) == 0);
  TEST_CHECKF(llabs(virtual_error_ns() - e) <= 1, "jump at set_frequency: %lld -> %lld ns",
              (long long) e, (long long) virtual_error_ns());
  /* -50 ppm for 1000 s takes 0.05 s back */
  advance(1000.0);
  e = virtual_error_ns();
  TEST_CHECKF(llabs(e - 100000000) <= 1, "after -50 ppm x 1000 s: %lld ns", (long long) e);

  /* the same frequency set twice is not a change */
  TEST_CHECK(CLK_SetFrequency(-50.0) == 0);
  advance(2000.0);
  e = virtual_error_ns();
  TEST_CHECKF(llabs(e - 0) <= 1, "after another 2000 s at -50 ppm: %lld ns", (long long) e);

  /* out-of-range and non-finite frequencies are refused and change nothing */
  TEST_CHECK(CLK_SetFrequency(NAN) == -EINVAL);
  TEST_CHECK(CLK_SetFrequency(INFINITY) == -EINVAL);
  TEST_CHECK(CLK_SetFrequency(2e6) == -EINVAL);
  TEST_CHECK(CLK_GetFrequency() == -50.0);
}

static void test_virtual_step(void)
{
  struct timespec mono_before, mono_after;
  int64_t e;

  fake_real = (struct timespec){ 1700000000, 900000000 };
  fake_mono = (struct timespec){ 100, 0 };
  CLK_VirtualSetBase(read_fake_real, read_fake_mono);
  CLK_Initialise(CLK_VirtualDriver());

  CLK_ReadMono(&mono_before);
  TEST_CHECK(CLK_Step(0.5) == 0);
  e = virtual_error_ns();
  TEST_CHECKF(e == 500000000, "step +0.5: %lld ns", (long long) e);
  /* a negative step crossing the second boundary of the fake time */
  TEST_CHECK(CLK_Step(-1.25) == 0);
  e = virtual_error_ns();
  TEST_CHECKF(e == -750000000, "step -1.25 more: %lld ns", (long long) e);
  /* a large step keeps nanosecond resolution */
  TEST_CHECK(CLK_Step(86400.0 * 365 * 100) == 0);
  TEST_CHECK(CLK_Step(0.000000001) == 0);
  e = virtual_error_ns();
  TEST_CHECKF(e == (int64_t) 86400 * 365 * 100 * 1000000000 - 750000000 + 1,
              "after 100 years + 1 ns: %lld ns", (long long) e);
  TEST_CHECK(CLK_Step(-86400.0 * 365 * 100) == 0);
  TEST_CHECK(CLK_Step(-0.000000001) == 0);
  TEST_CHECKF(virtual_error_ns() == -750000000, "back: %lld ns",
              (long long) virtual_error_ns());
  TEST_CHECK(CLK_Step(NAN) == -EINVAL);
  TEST_CHECK(CLK_Step(1e300) == -EINVAL);

  /* steps and frequency do not move the monotonic clock */
  CLK_ReadMono(&mono_after);
  TEST_CHECK(diff_ns(&mono_after, &mono_before) == 0);
  TEST_CHECK(CLK_SetFrequency(400.0) == 0);
  advance(10.0);
  CLK_ReadMono(&mono_after);
  TEST_CHECK(diff_ns(&mono_after, &mono_before) == 10000000000);
  TEST_CHECK(diff_ns(&mono_after, &fake_mono) == 0);
  TEST_CHECK(fabs(CLK_ReadMonoSeconds() - 110.0) < 1e-9);
  /* the step and the frequency combine: -0.75 s + 400 ppm x 10 s */
  e = virtual_error_ns();
  TEST_CHECKF(llabs(e - (-750000000 + 4000000)) <= 1, "step + freq: %lld ns", (long long) e);

  /* a new base resets the corrections */
  CLK_VirtualSetBase(read_fake_real, read_fake_mono);
  TEST_CHECK(virtual_error_ns() == 0);
  TEST_CHECK(CLK_GetFrequency() == 0.0);
}

static void test_virtual_reset_to_system(void)
{
  struct timespec v, sys, vm, sysm;

  CLK_VirtualSetBase(read_fake_real, read_fake_mono);
  CLK_Initialise(CLK_VirtualDriver());
  TEST_CHECK(CLK_Step(1000.0) == 0);
  TEST_CHECK(CLK_SetFrequency(10.0) == 0);

  CLK_VirtualSetBase(NULL, NULL);
  TEST_CHECK(CLK_GetFrequency() == 0.0);
  CLK_ReadTime(&v);
  clock_gettime(CLOCK_REALTIME, &sys);
  CLK_ReadMono(&vm);
  clock_gettime(CLOCK_MONOTONIC, &sysm);
  TEST_CHECKF(llabs(diff_ns(&sys, &v)) < 1000000000, "virtual over system: %lld ns off",
              (long long) diff_ns(&sys, &v));
  TEST_CHECK(diff_ns(&sysm, &vm) >= 0 && diff_ns(&sysm, &vm) < 1000000000);
  CLK_Finalise();
}

static void test_linux_driver(void)
{
  const CLK_Driver *d = CLK_LinuxDriver();
  struct timespec t, sys, m, sysm;
  double f1, f2;

  /* before CLK_Initialise the wrappers use the read-only Linux driver */
  CLK_Finalise();
  TEST_CHECK(CLK_GetDriver() == d);

  CLK_Initialise(d);
  TEST_CHECK(strcmp(CLK_GetDriver()->name, "linux") == 0);
  CLK_ReadTime(&t);
  clock_gettime(CLOCK_REALTIME, &sys);
  TEST_CHECKF(diff_ns(&sys, &t) >= 0 && diff_ns(&sys, &t) < 1000000000, "%lld ns",
              (long long) diff_ns(&sys, &t));
  TEST_CHECK(t.tv_sec > 1600000000); /* after 2020 */
  CLK_ReadMono(&m);
  clock_gettime(CLOCK_MONOTONIC, &sysm);
  TEST_CHECK(diff_ns(&sysm, &m) >= 0 && diff_ns(&sysm, &m) < 1000000000);

  f1 = CLK_GetFrequency();
  fprintf(stderr, "linux driver: system clock frequency offset %.3f ppm\n", f1);
  /* the kernel keeps the frequency within +-500 ppm */
  TEST_CHECKF(isfinite(f1) && fabs(f1) <= 500.0, "frequency %f ppm", f1);

  /* the driver may not steer: refused, and the frequency is what it was */
  TEST_CHECK(CLK_SetFrequency(f1 + 1.0) == -EPERM);
  TEST_CHECK(CLK_Step(0.0) == -EPERM);
  TEST_CHECK(CLK_Step(1.0) == -EPERM);
  /* (a daemon on the host may slew it a little between the reads, never by 1 ppm) */
  f2 = CLK_GetFrequency();
  TEST_CHECKF(fabs(f2 - f1) < 0.5, "frequency moved from %f to %f ppm", f1, f2);
  CLK_Finalise();
}

int main(void)
{
  test_virtual_frequency();
  test_virtual_step();
  test_virtual_reset_to_system();
  test_linux_driver();
  TEST_EXIT();
}
