/* fuzz_ntp_reply.c - the client's reply checks on arbitrary bytes: no crash, and a reply
   accepted only if it passes the checks it claims to. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/ntpsample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  NSM_Exchange x;
  NSM_Sample s;
  NWR_Header h;
  NSM_Verdict v;

  memset(&x, 0, sizeof(x));
  /* the exchange: our request's transmit is whatever the packet's origin says, so the
     checks past the origin are reached; times around 2026 */
  if (size >= 48)
    NWR_GetTs64(data + 24, &x.sent_transmit);
  x.local_tx.tv_sec = 1795000000;
  x.local_rx.tv_sec = 1795000000;
  x.local_rx.tv_nsec = 20000000;
  x.precision = 1e-7;
  x.max_clock_error = 1e-6;

  v = NSM_ProcessReply(data, size, &x, &s);
  if (v == NSM_OK) {
    if (NWR_DecodeHeader(data, size, &h) < 0 || !NWR_IsServerReply(&h) ||
        NWR_IsUnsynchronised(&h) || !isfinite(s.offset) || !(s.delay >= x.precision) ||
        !(s.dispersion > 0.0))
      abort();
  }
  if (NSM_VerdictName(v)[0] == '?')
    abort();
  return 0;
}
