/* ntpsample.c - reply checks and the four-timestamp arithmetic. */
#include <math.h>
#include <string.h>

#include "client/ntpsample.h"

#define MAX_ROOT_DISTANCE 16.0 /* RFC 5905 MAXDISP */

static double timespec_diff(const struct timespec *a, const struct timespec *b)
{
  return (double) (a->tv_sec - b->tv_sec) + 1e-9 * (double) (a->tv_nsec - b->tv_nsec);
}

NSM_Verdict NSM_ProcessReply(const uint8_t *packet, size_t len, const NSM_Exchange *x,
                             NSM_Sample *s)
{
  NWR_Ts64 t1, t4;
  NWR_Header h;
  double t21, t34, t41, t32;

  memset(s, 0, sizeof(*s));
  if (NWR_DecodeHeader(packet, len, &h) < 0)
    return NSM_MALFORMED;
  if (!NWR_IsServerReply(&h))
    return NSM_NOT_REPLY;
  /* nothing in a reply is believed, a kiss code included, unless it answers our request */
  if (!NWR_OriginMatches(&h, &x->sent_transmit))
    return NSM_BOGUS;

  s->stratum = h.stratum;
  s->leap = h.leap;
  s->poll = h.poll;
  s->refid = h.refid;
  s->transmit = h.transmit;
  s->root_delay = NWR_ShortToDouble(h.root_delay);
  s->root_dispersion = NWR_ShortToDouble(h.root_dispersion);

  if (NWR_IsKoD(&h)) {
    s->kod_code = h.refid;
    return NSM_KOD;
  }
  if (NWR_Ts64Equal(&h.transmit, &x->last_transmit))
    return NSM_DUPLICATE;
  if (NWR_IsUnsynchronised(&h) || h.stratum == 0)
    return NSM_UNSYNCHRONISED;
  if (NWR_Ts64IsZero(&h.receive) || NWR_Ts64IsZero(&h.transmit))
    return NSM_BAD_TIMESTAMPS;
  if (s->root_delay / 2.0 + s->root_dispersion >= MAX_ROOT_DISTANCE)
    return NSM_BAD_ROOT;

  /* differences of 64-bit timestamps keep their 2^-32 s resolution; doubles holding
     absolute times would keep only about 0.2 us */
  NWR_TimespecToTs64(&x->local_tx, &t1);
  NWR_TimespecToTs64(&x->local_rx, &t4);
  t21 = NWR_Ts64Diff(&h.receive, &t1);
  t34 = NWR_Ts64Diff(&h.transmit, &t4);
  t32 = NWR_Ts64Diff(&h.transmit, &h.receive);
  t41 = timespec_diff(&x->local_rx, &x->local_tx);

  s->offset = (t21 + t34) / 2.0;
  s->delay = t41 - t32;
  s->dispersion = x->precision + ldexp(1.0, h.precision) + x->max_clock_error * fabs(t41);
  /* a delay below zero beyond what the two clocks' precision explains means timestamps
     that contradict each other */
  if (s->delay < -(x->precision + ldexp(1.0, h.precision)) || t32 < 0.0 || t41 < 0.0)
    return NSM_BAD_TIMESTAMPS;
  if (s->delay < x->precision)
    s->delay = x->precision;
  return NSM_OK;
}

const char *NSM_VerdictName(NSM_Verdict v)
{
  static const char *const names[] = { "ok",
                                       "malformed",
                                       "not a reply",
                                       "bogus",
                                       "kiss-o'-death",
                                       "duplicate",
                                       "unsynchronised",
                                       "bad timestamps",
                                       "bad root distance" };

  return (unsigned) v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}
