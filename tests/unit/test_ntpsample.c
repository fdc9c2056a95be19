/* test_ntpsample.c - offsets, delays and dispersion from four timestamps, and every reason
   a reply is refused. */
#include <math.h>
#include <string.h>

#include "client/ntpsample.h"
#include "test.h"

/* base + t seconds, exactly to the nanosecond: a double holding 1.8e9 + t would keep
   only about 0.2 us */
static struct timespec ts(time_t base, double t)
{
  struct timespec r;
  long long ns = llround(t * 1e9);

  r.tv_sec = base + (time_t) (ns / 1000000000LL);
  r.tv_nsec = (long) (ns % 1000000000LL);
  if (r.tv_nsec < 0) {
    r.tv_sec--;
    r.tv_nsec += 1000000000L;
  }
  return r;
}

/* An exchange at Unix time base + t1: `out` and `back` one-way delays, `proc` seconds in
   the server, whose clock is `ahead` seconds ahead of ours. */
static void exchange(time_t base, double t1, double out, double back, double proc,
                     double ahead, NSM_Exchange *x, uint8_t pkt[48], NWR_Header *h)
{
  struct timespec t;

  memset(x, 0, sizeof(*x));
  memset(h, 0, sizeof(*h));
  x->sent_transmit.sec = 0x12345678;
  x->sent_transmit.frac = 0x9abcdef0;
  x->local_tx = ts(base, t1);
  x->local_rx = ts(base, t1 + out + proc + back);
  x->precision = ldexp(1.0, -20);
  x->max_clock_error = 1e-6;
  h->leap = 0;
  h->version = 4;
  h->mode = NWR_MODE_SERVER;
  h->stratum = 2;
  h->poll = 6;
  h->precision = -20;
  h->root_delay = NWR_DoubleToShort(0.002);
  h->root_dispersion = NWR_DoubleToShort(0.001);
  h->refid = 0x0a000001;
  h->origin = x->sent_transmit;
  t = ts(base, t1 + out + ahead);
  NWR_TimespecToTs64(&t, &h->receive);
  t = ts(base, t1 + out + proc + ahead);
  NWR_TimespecToTs64(&t, &h->transmit);
  NWR_EncodeHeader(h, pkt);
}

static void test_figures(void)
{
  NSM_Exchange x;
  NSM_Sample s;
  NWR_Header h;
  uint8_t p[48];
  double eps = 3e-9; /* nanosecond inputs, 2^-32 s timestamps */

  /* symmetric 10 ms paths, 1 ms in the server, its clock 0.25 s ahead */
  exchange(1800000000, 100.0, 0.010, 0.010, 0.001, 0.25, &x, p, &h);
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_OK);
  TEST_CHECKF(fabs(s.offset - 0.25) < eps, "offset %.12f", s.offset);
  TEST_CHECKF(fabs(s.delay - 0.020) < eps, "delay %.12f", s.delay);
  TEST_CHECK(s.stratum == 2 && s.poll == 6 && s.refid == 0x0a000001);
  TEST_CHECKF(fabs(s.root_delay - 0.002) < 1e-4 && fabs(s.root_dispersion - 0.001) < 1e-4,
              "root %g %g", s.root_delay, s.root_dispersion);
  /* our precision + the server's + 1 ppm of the 21 ms exchange */
  TEST_CHECKF(fabs(s.dispersion - (2 * ldexp(1.0, -20) + 21e-9)) < 1e-12, "disp %.12g",
              s.dispersion);

  /* asymmetric paths (15 ms out, 5 ms back) bias the offset by half the difference */
  exchange(1800000000, 100.0, 0.015, 0.005, 0.001, -0.5, &x, p, &h);
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_OK);
  TEST_CHECKF(fabs(s.offset - (-0.5 + 0.005)) < eps, "offset %.12f", s.offset);
  TEST_CHECKF(fabs(s.delay - 0.020) < eps, "delay %.12f", s.delay);

  /* nanosecond resolution survives absolute times of 1.8e9 s */
  exchange(1800000000, 100.0, 0.000010, 0.000010, 0.000001, 0.000000123, &x, p, &h);
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_OK);
  TEST_CHECKF(fabs(s.offset - 123e-9) < eps, "offset %.12f", s.offset);

  /* across the 2036 era rollover (2^32 s after 1900 = Unix 2085978496) */
  exchange(2085978496, -0.005, 0.010, 0.010, 0.001, 0.0, &x, p, &h);
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_OK);
  TEST_CHECKF(fabs(s.offset) < eps && fabs(s.delay - 0.020) < eps, "offset %g delay %g",
              s.offset, s.delay);
}

static void test_refusals(void)
{
  NSM_Exchange x;
  NSM_Sample s;
  NWR_Header h;
  uint8_t p[48];

  exchange(1800000000, 100.0, 0.01, 0.01, 0.001, 0.0, &x, p, &h);
  TEST_CHECK(NSM_ProcessReply(p, 47, &x, &s) == NSM_MALFORMED);

  h.mode = NWR_MODE_CLIENT;
  NWR_EncodeHeader(&h, p);
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_NOT_REPLY);
  h.mode = NWR_MODE_SERVER;

  h.origin.frac ^= 1; /* not our request: not even its kiss code counts */
  h.stratum = 0;
  h.refid = NWR_KOD_RATE;
  NWR_EncodeHeader(&h, p);
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_BOGUS);
  h.origin = x.sent_transmit;
  NWR_EncodeHeader(&h, p);
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_KOD && s.kod_code == NWR_KOD_RATE);

  h.stratum = 2;
  h.refid = 0x0a000001;
  NWR_EncodeHeader(&h, p);
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_OK);
  x.last_transmit = s.transmit;
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_DUPLICATE);
  memset(&x.last_transmit, 0, sizeof(x.last_transmit));

  h.leap = NWR_LEAP_UNSYNC;
  NWR_EncodeHeader(&h, p);
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_UNSYNCHRONISED);
  h.leap = 0;
  h.stratum = 16;
  NWR_EncodeHeader(&h, p);
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_UNSYNCHRONISED);
  h.stratum = 2;

  h.root_dispersion = NWR_DoubleToShort(16.0);
  NWR_EncodeHeader(&h, p);
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_BAD_ROOT);
  h.root_dispersion = NWR_DoubleToShort(0.001);

  /* the server says it sent before it received */
  {
    NWR_Ts64 t = h.receive;

    h.receive = h.transmit;
    h.transmit = t;
    NWR_EncodeHeader(&h, p);
    TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_BAD_TIMESTAMPS);
  }
  /* the server's processing took longer than the whole round trip */
  exchange(1800000000, 100.0, 0.001, 0.001, 0.001, 0.0, &x, p, &h);
  x.local_rx = x.local_tx;
  x.local_rx.tv_nsec += 500000;
  TEST_CHECK(NSM_ProcessReply(p, 48, &x, &s) == NSM_BAD_TIMESTAMPS);
  TEST_CHECK(strcmp(NSM_VerdictName(NSM_BAD_ROOT), "bad root distance") == 0);
}

int main(void)
{
  test_figures();
  test_refusals();
  TEST_EXIT();
}
