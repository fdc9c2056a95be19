/* fuzz_ntp_ext.c - the extension field walker under every flag combination: fields lie
   inside the buffer, in order and back to back; on success fields and MAC account for
   every octet, and NEF_AddMin rebuilds the input exactly. Violated invariants abort(). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ntpext.h"
#include "engine/ntpwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  int result;
  unsigned fields;
  size_t mac_len;
} Outcome;

static Outcome walk(const uint8_t *data, size_t size, int flags, uint8_t *rebuilt)
{
  size_t start = flags & NEF_F_BARE ? 0 : NWR_HEADER_LEN, end = start, len = start;
  size_t min_len = flags & NEF_F_ANY_LEN ? NEF_HEADER_LEN : NEF_MIN_LEN;
  Outcome o = { 0, 0, 0 };
  NEF_Iter it;
  NEF_Field f;
  int r;

  NEF_IterInit(&it, data, size, flags);
  while ((r = NEF_IterNext(&it, &f)) == 1) {
    if (f.offset != end || f.offset + f.length > size || f.length % 4 != 0 ||
        f.length < min_len || f.body != data + f.offset + NEF_HEADER_LEN ||
        f.body_len != (size_t) f.length - NEF_HEADER_LEN)
      abort();
    /* the last-field rule: a short field never ends the buffer unless allowed */
    if (!(flags & NEF_F_ANY_LAST) && f.length < NEF_MIN_LAST_LEN &&
        f.offset + f.length == size)
      abort();
    end = f.offset + f.length;
    o.fields++;
    if (NEF_AddMin(rebuilt, size, &len, f.type, f.body, f.body_len, NEF_HEADER_LEN) !=
        f.length)
      abort();
  }
  if (NEF_IterNext(&it, &f) != r) /* sticky */
    abort();
  o.result = r;

  if (r == 0) {
    if (it.mac_len) {
      if (flags & NEF_F_NO_MAC || it.mac_offset != end ||
          (it.mac_len != NEF_MAC_LEN_MD5 && it.mac_len != NEF_MAC_LEN_SHA1 &&
           it.mac_len != NEF_MAC_LEN_NAK))
        abort();
      memcpy(rebuilt + len, data + it.mac_offset, it.mac_len);
      len += it.mac_len;
    }
    if (end + it.mac_len != size || len != size || it.fields != o.fields)
      abort();
    if (start)
      memcpy(rebuilt, data, start);
    if (memcmp(rebuilt, data, size) != 0)
      abort();
    o.mac_len = it.mac_len;
  } else if (r != -EINVAL && r != -EMSGSIZE) {
    abort();
  } else if (!start && size == 0) {
    abort(); /* an empty bare buffer is valid */
  }
  return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  Outcome o[16];
  uint8_t *rebuilt = malloc(size ? size : 1);
  int flags;

  if (!rebuilt)
    return 0;
  for (flags = 0; flags < 16; flags++)
    o[flags] = walk(data, size, flags, rebuilt);

  /* loosening the length rules never turns a good walk bad or changes what it found */
  for (flags = 0; flags < 16; flags++) {
    int loose = flags | NEF_F_ANY_LAST | NEF_F_ANY_LEN;

    if (o[flags].result == 0 && (o[loose].result != 0 || o[loose].fields != o[flags].fields ||
                                 o[loose].mac_len != o[flags].mac_len))
      abort();
  }
  if (NEF_Count(data, size, NEF_RFC7822, NULL) !=
      (o[0].result < 0 ? o[0].result : (int) o[0].fields))
    abort();
  free(rebuilt);
  return 0;
}
