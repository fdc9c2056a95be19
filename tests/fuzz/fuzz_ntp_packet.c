/* fuzz_ntp_packet.c - a received NTP packet: header decode/encode must round-trip, the
   extension fields must walk without reading past the end, and every timestamp must
   convert to a time and back. Violated invariants abort(). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/ntpext.h"
#include "engine/ntpwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HALF_ERA ((int64_t) 1 << 31)

static void check_timestamp(const NWR_Ts64 *ts, int64_t pivot)
{
  struct timespec t;
  NWR_Ts64 back;
  int r = NWR_Ts64ToTimespec(ts, (time_t) pivot, &t);

  if (NWR_Ts64IsZero(ts)) {
    if (r != -ENODATA || t.tv_sec != 0 || t.tv_nsec != 0)
      abort();
    return;
  }
  if (r != 0 || t.tv_nsec < 0 || t.tv_nsec >= 1000000000)
    abort();
  /* inside the pivot's window (one second more after a rounding carry) */
  if ((int64_t) t.tv_sec < pivot - HALF_ERA || (int64_t) t.tv_sec > pivot + HALF_ERA)
    abort();
  /* and back to the same timestamp, give or take the ns rounding (3 fraction units) */
  NWR_TimespecToTs64(&t, &back);
  if (fabs(NWR_Ts64Diff(&back, ts)) > 3 * ldexp(1.0, -32))
    abort();
  if (fabs(NWR_Ts64ToDouble(ts, (time_t) pivot) - ((double) t.tv_sec + t.tv_nsec / 1e9)) >
      1e-6 * (1.0 + fabs((double) t.tv_sec) * 1e-9))
    abort();
}

/* 12 input octets read as a time and a pivot near it: time -> NTP -> time is exact */
static void check_time(const uint8_t *p)
{
  int64_t sec = 0, off;
  uint32_t ns, o;
  struct timespec in, out;
  NWR_Ts64 ts;
  int i;

  for (i = 0; i < 8; i++)
    sec = (int64_t) ((uint64_t) sec << 8 | p[i]);
  sec >>= 2; /* within +-2^61: room for the pivot window */
  ns = ((uint32_t) p[8] << 24 | (uint32_t) p[9] << 16 | (uint32_t) p[10] << 8 | p[11]) %
       1000000000U;
  o = (uint32_t) p[0] << 24 | (uint32_t) p[3] << 16 | (uint32_t) p[5] << 8 | p[11];
  off = (int64_t) o - HALF_ERA; /* the time lies in [pivot - 2^31, pivot + 2^31) */

  in.tv_sec = (time_t) sec;
  in.tv_nsec = (long) ns;
  NWR_TimespecToTs64(&in, &ts);
  if (NWR_Ts64IsZero(&ts))
    abort();
  if (NWR_Ts64ToTimespec(&ts, (time_t) (sec - off), &out) != 0)
    abort();
  if ((int64_t) out.tv_sec != sec || out.tv_nsec != (long) ns)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const int64_t pivots[] = {
    0, 1704067200, 2085978496, 4294967296LL, -2208988800LL, (int64_t) 1 << 40
  };
  uint8_t out[NWR_HEADER_LEN];
  NWR_Header h;
  NEF_Iter it;
  NEF_Field f;
  NWR_Short s;
  char refid[5];
  unsigned i;
  int r;

  if (size >= 12)
    check_time(data);

  if (NWR_DecodeHeader(data, size, &h) < 0) {
    if (size >= NWR_HEADER_LEN)
      abort();
    return 0;
  }
  if (size < NWR_HEADER_LEN)
    abort();
  NWR_EncodeHeader(&h, out);
  if (memcmp(out, data, NWR_HEADER_LEN) != 0)
    abort();

  /* the helpers must answer for any header */
  if (NWR_IsClientRequest(&h) != (NWR_ClassifyRequest(&h) == NWR_REQ_CLIENT))
    abort();
  if (NWR_IsKoD(&h) && h.stratum != 0)
    abort();
  if (NWR_IsServerReply(&h) && h.mode != NWR_MODE_SERVER)
    abort();
  (void) NWR_IsUnsynchronised(&h);
  (void) NWR_OriginMatches(&h, &h.transmit);
  if (strlen(NWR_RefidToString(h.refid, refid)) > 4)
    abort();

  /* short format: exact back and forth */
  s = NWR_DoubleToShort(NWR_ShortToDouble(h.root_delay));
  if (s != h.root_delay)
    abort();

  for (i = 0; i < sizeof(pivots) / sizeof(pivots[0]); i++) {
    check_timestamp(&h.reference, pivots[i]);
    check_timestamp(&h.origin, pivots[i]);
    check_timestamp(&h.receive, pivots[i]);
    check_timestamp(&h.transmit, pivots[i]);
  }
  if (NWR_Ts64Diff(&h.receive, &h.transmit) != -NWR_Ts64Diff(&h.transmit, &h.receive) &&
      NWR_Ts64ToU64(&h.receive) - NWR_Ts64ToU64(&h.transmit) != (uint64_t) 1 << 63)
    abort();

  /* the fields after the header, as a server would walk a request */
  NEF_IterInit(&it, data, size, NEF_RFC7822);
  while ((r = NEF_IterNext(&it, &f)) > 0) {
    if (f.offset < NWR_HEADER_LEN || f.offset + f.length > size)
      abort();
  }
  if (r == 0 && it.mac_len && it.mac_offset + it.mac_len != size)
    abort();
  return 0;
}
