/* ntpwire.c - the NTP packet header on the wire (see ntpwire.h). */
#include "engine/ntpwire.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>

/* times after 2038 and before 1901 need it; the era arithmetic below assumes it */
_Static_assert(sizeof(time_t) == 8, "kairos needs a 64-bit time_t");

#define NS_PER_SEC 1000000000U
#define ERA_HALF   ((int64_t) 1 << 31)

static uint32_t get32(const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) (v >> 24);
  p[1] = (uint8_t) (v >> 16);
  p[2] = (uint8_t) (v >> 8);
  p[3] = (uint8_t) v;
}

void NWR_GetTs64(const uint8_t in[8], NWR_Ts64 *ts)
{
  ts->sec = get32(in);
  ts->frac = get32(in + 4);
}

void NWR_PutTs64(const NWR_Ts64 *ts, uint8_t out[8])
{
  put32(out, ts->sec);
  put32(out + 4, ts->frac);
}

int NWR_DecodeHeader(const uint8_t *buf, size_t len, NWR_Header *h)
{
  if (len < NWR_HEADER_LEN)
    return -EINVAL;

  h->leap = buf[0] >> 6;
  h->version = (buf[0] >> 3) & 7;
  h->mode = buf[0] & 7;
  h->stratum = buf[1];
  h->poll = (int8_t) buf[2];
  h->precision = (int8_t) buf[3];
  h->root_delay = get32(buf + 4);
  h->root_dispersion = get32(buf + 8);
  h->refid = get32(buf + 12);
  NWR_GetTs64(buf + 16, &h->reference);
  NWR_GetTs64(buf + 24, &h->origin);
  NWR_GetTs64(buf + 32, &h->receive);
  NWR_GetTs64(buf + 40, &h->transmit);
  return 0;
}

void NWR_EncodeHeader(const NWR_Header *h, uint8_t out[NWR_HEADER_LEN])
{
  out[0] = (uint8_t) ((h->leap & 3) << 6 | (h->version & 7) << 3 | (h->mode & 7));
  out[1] = h->stratum;
  out[2] = (uint8_t) h->poll;
  out[3] = (uint8_t) h->precision;
  put32(out + 4, h->root_delay);
  put32(out + 8, h->root_dispersion);
  put32(out + 12, h->refid);
  NWR_PutTs64(&h->reference, out + 16);
  NWR_PutTs64(&h->origin, out + 24);
  NWR_PutTs64(&h->receive, out + 32);
  NWR_PutTs64(&h->transmit, out + 40);
}

int NWR_Ts64IsZero(const NWR_Ts64 *ts)
{
  return ts->sec == 0 && ts->frac == 0;
}

int NWR_Ts64Equal(const NWR_Ts64 *a, const NWR_Ts64 *b)
{
  return a->sec == b->sec && a->frac == b->frac;
}

uint64_t NWR_Ts64ToU64(const NWR_Ts64 *ts)
{
  return (uint64_t) ts->sec << 32 | ts->frac;
}

void NWR_U64ToTs64(uint64_t v, NWR_Ts64 *ts)
{
  ts->sec = (uint32_t) (v >> 32);
  ts->frac = (uint32_t) v;
}

uint32_t NWR_NsToFrac(uint32_t ns)
{
  /* ns * 2^32 / 1e9, to nearest; below 2^32 for every ns < 1e9 (999999999 -> 2^32 - 4) */
  return (uint32_t) ((((uint64_t) ns << 32) + NS_PER_SEC / 2) / NS_PER_SEC);
}

uint32_t NWR_FracToNs(uint32_t frac)
{
  /* One fraction step is 0.23 ns and one ns is 4.29 steps, so rounding both ways to
     nearest brings every ns back to itself. */
  return (uint32_t) (((uint64_t) frac * NS_PER_SEC + ((uint64_t) 1 << 31)) >> 32);
}

void NWR_TimespecToTs64(const struct timespec *t, NWR_Ts64 *ts)
{
  int64_t sec = (int64_t) t->tv_sec;
  long nsec = t->tv_nsec;

  if (nsec < 0 || nsec >= (long) NS_PER_SEC) {
    int64_t carry = nsec / (long) NS_PER_SEC;

    nsec -= (long) (carry * NS_PER_SEC);
    if (nsec < 0) {
      nsec += NS_PER_SEC;
      carry--;
    }
    sec = (int64_t) ((uint64_t) sec + (uint64_t) carry);
  }

  /* unsigned arithmetic: the era is whatever wraps off the top 32 bits */
  ts->sec = (uint32_t) ((uint64_t) sec + NWR_UNIX_EPOCH_OFFSET);
  ts->frac = NWR_NsToFrac((uint32_t) nsec);
  if (NWR_Ts64IsZero(ts))
    ts->frac = 1;
}

/* Unix seconds of the era-0 reading of ts->sec moved into [pivot - 2^31, pivot + 2^31) */
static int64_t resolve_seconds(uint32_t ntp_sec, time_t pivot)
{
  int64_t p = (int64_t) pivot, delta;
  uint32_t d;

  /* keep p + delta inside int64_t (time_t is 64-bit here) */
  if (p > INT64_MAX - ERA_HALF)
    p = INT64_MAX - ERA_HALF;
  if (p < INT64_MIN + ERA_HALF)
    p = INT64_MIN + ERA_HALF;

  d = ntp_sec - (uint32_t) ((uint64_t) p + NWR_UNIX_EPOCH_OFFSET);
  delta = d >= (uint32_t) ERA_HALF ? (int64_t) d - ((int64_t) 1 << 32) : (int64_t) d;
  return p + delta;
}

int NWR_Ts64ToTimespec(const NWR_Ts64 *ts, time_t pivot, struct timespec *t)
{
  int64_t sec;
  uint32_t ns;

  if (NWR_Ts64IsZero(ts)) {
    t->tv_sec = 0;
    t->tv_nsec = 0;
    return -ENODATA;
  }

  sec = resolve_seconds(ts->sec, pivot);
  ns = NWR_FracToNs(ts->frac);
  if (ns >= NS_PER_SEC) {
    ns -= NS_PER_SEC;
    if (sec < INT64_MAX)
      sec++;
  }
  t->tv_sec = (time_t) sec;
  t->tv_nsec = (long) ns;
  return 0;
}

double NWR_Ts64Diff(const NWR_Ts64 *a, const NWR_Ts64 *b)
{
  uint64_t d = NWR_Ts64ToU64(a) - NWR_Ts64ToU64(b);

  /* two's complement reading of the 64-bit difference, without implementation-defined
     conversion of out-of-range values */
  if (d >> 63)
    return -ldexp((double) (~d + 1), -32);
  return ldexp((double) d, -32);
}

double NWR_Ts64ToDouble(const NWR_Ts64 *ts, time_t pivot)
{
  return (double) resolve_seconds(ts->sec, pivot) + ldexp((double) ts->frac, -32);
}

NWR_Short NWR_DoubleToShort(double seconds)
{
  double units;

  if (!(seconds > 0.0))
    return 0;
  units = ceil(seconds * 65536.0);
  if (units >= (double) NWR_SHORT_MAX)
    return NWR_SHORT_MAX;
  return (NWR_Short) units;
}

double NWR_ShortToDouble(NWR_Short s)
{
  return s / 65536.0;
}

static int is_kiss_char(unsigned c)
{
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int NWR_IsKoD(const NWR_Header *h)
{
  return h->stratum == NWR_STRATUM_KOD && is_kiss_char(h->refid >> 24) &&
         is_kiss_char((h->refid >> 16) & 0xff) && is_kiss_char((h->refid >> 8) & 0xff) &&
         is_kiss_char(h->refid & 0xff);
}

char *NWR_RefidToString(uint32_t refid, char out[5])
{
  int i, n = 4;

  while (n > 0 && ((refid >> (8 * (4 - n))) & 0xff) == 0)
    n--;
  for (i = 0; i < n; i++) {
    unsigned c = (refid >> (24 - 8 * i)) & 0xff;

    out[i] = c >= 0x20 && c < 0x7f ? (char) c : '.';
  }
  out[n] = '\0';
  return out;
}

NWR_RequestKind NWR_ClassifyRequest(const NWR_Header *h)
{
  if (h->version < NWR_VERSION_MIN || h->version > NWR_VERSION_MAX)
    return NWR_REQ_BAD_VERSION;

  switch (h->mode) {
  case NWR_MODE_CLIENT:
    return NWR_REQ_CLIENT;
  case NWR_MODE_RESERVED:
    return h->version == 1 ? NWR_REQ_CLIENT : NWR_REQ_OTHER;
  case NWR_MODE_SYMMETRIC_ACTIVE:
    return NWR_REQ_SYMMETRIC;
  case NWR_MODE_CONTROL:
    return NWR_REQ_CONTROL;
  case NWR_MODE_PRIVATE:
    return NWR_REQ_PRIVATE;
  default:
    return NWR_REQ_OTHER;
  }
}

int NWR_IsClientRequest(const NWR_Header *h)
{
  return NWR_ClassifyRequest(h) == NWR_REQ_CLIENT;
}

int NWR_IsServerReply(const NWR_Header *h)
{
  return h->version >= NWR_VERSION_MIN && h->version <= NWR_VERSION_MAX &&
         h->mode == NWR_MODE_SERVER;
}

int NWR_IsUnsynchronised(const NWR_Header *h)
{
  return h->leap == NWR_LEAP_UNSYNC || h->stratum >= NWR_STRATUM_UNSYNC;
}

int NWR_OriginMatches(const NWR_Header *reply, const NWR_Ts64 *sent)
{
  return !NWR_Ts64IsZero(sent) && NWR_Ts64Equal(&reply->origin, sent);
}
