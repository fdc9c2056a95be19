/* ntpext.c - NTPv4 extension fields (see ntpext.h). */
#include "engine/ntpext.h"

#include <errno.h>
#include <string.h>

#include "engine/ntpwire.h"

static unsigned get16(const uint8_t *p)
{
  return (unsigned) p[0] << 8 | p[1];
}

static int fail(NEF_Iter *it, int error)
{
  it->error = error;
  return error;
}

static int is_mac(const NEF_Iter *it, size_t remaining)
{
  const uint8_t *p = it->buf + it->pos;

  if (it->flags & NEF_F_NO_MAC)
    return 0;
  if (remaining == NEF_MAC_LEN_MD5 || remaining == NEF_MAC_LEN_SHA1)
    return 1;
  return remaining == NEF_MAC_LEN_NAK && !(p[0] | p[1] | p[2] | p[3]);
}

void NEF_IterInit(NEF_Iter *it, const uint8_t *packet, size_t len, int flags)
{
  memset(it, 0, sizeof(*it));
  it->buf = packet;
  it->len = len;
  it->flags = flags;
  if (flags & NEF_F_BARE)
    it->pos = 0;
  else if (len >= NWR_HEADER_LEN)
    it->pos = NWR_HEADER_LEN;
  else
    it->error = -EINVAL;
}

int NEF_IterNext(NEF_Iter *it, NEF_Field *field)
{
  size_t remaining, length, min_len;

  if (it->error)
    return it->error;
  if (it->done)
    return 0;

  remaining = it->len - it->pos;
  if (remaining == 0 || is_mac(it, remaining)) {
    if (remaining) {
      it->mac_offset = it->pos;
      it->mac_len = remaining;
      it->pos = it->len;
    }
    it->done = 1;
    return 0;
  }

  if (remaining < NEF_HEADER_LEN)
    return fail(it, -EMSGSIZE);

  length = get16(it->buf + it->pos + 2);
  min_len = it->flags & NEF_F_ANY_LEN ? NEF_HEADER_LEN : NEF_MIN_LEN;
  if (length % 4 != 0 || length < min_len)
    return fail(it, -EINVAL);
  if (length > remaining)
    return fail(it, -EMSGSIZE);

  /* A short field that ends the packet could be mistaken for a MAC by other parsers:
     RFC 7822 wants the last field, when no MAC follows, at least 28 octets. A field
     followed by a MAC or by more fields is judged by what follows it. */
  if (length < NEF_MIN_LAST_LEN && length == remaining && !(it->flags & NEF_F_ANY_LAST))
    return fail(it, -EINVAL);

  field->type = (uint16_t) get16(it->buf + it->pos);
  field->length = (uint16_t) length;
  field->body = it->buf + it->pos + NEF_HEADER_LEN;
  field->body_len = length - NEF_HEADER_LEN;
  field->offset = it->pos;
  it->pos += length;
  it->fields++;
  return 1;
}

int NEF_Count(const uint8_t *packet, size_t len, int flags, size_t *mac_len)
{
  NEF_Iter it;
  NEF_Field field;
  int r;

  NEF_IterInit(&it, packet, len, flags);
  while ((r = NEF_IterNext(&it, &field)) > 0)
    ;
  if (mac_len)
    *mac_len = r == 0 ? it.mac_len : 0;
  return r < 0 ? r : (int) it.fields;
}

int NEF_AddMin(uint8_t *buf, size_t size, size_t *len, uint16_t type, const void *body,
               size_t body_len, size_t min_len)
{
  size_t total;
  uint8_t *p;

  if (*len % 4 != 0 || *len > size)
    return -EINVAL;
  if (body_len > NEF_MAX_LEN || min_len > NEF_MAX_LEN)
    return -EMSGSIZE;

  total = (NEF_HEADER_LEN + body_len + 3) & ~(size_t) 3;
  if (total < min_len)
    total = (min_len + 3) & ~(size_t) 3;
  if (total > NEF_MAX_LEN)
    return -EMSGSIZE;
  if (total > size - *len)
    return -ENOSPC;

  p = buf + *len;
  p[0] = (uint8_t) (type >> 8);
  p[1] = (uint8_t) type;
  p[2] = (uint8_t) (total >> 8);
  p[3] = (uint8_t) total;
  if (body && body_len)
    memcpy(p + NEF_HEADER_LEN, body, body_len);
  else
    memset(p + NEF_HEADER_LEN, 0, body_len);
  memset(p + NEF_HEADER_LEN + body_len, 0, total - NEF_HEADER_LEN - body_len);
  *len += total;
  return (int) total;
}

int NEF_Add(uint8_t *buf, size_t size, size_t *len, uint16_t type, const void *body,
            size_t body_len)
{
  return NEF_AddMin(buf, size, len, type, body, body_len, NEF_MIN_LEN);
}
