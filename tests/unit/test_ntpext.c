/* test_ntpext.c - the extension field walker and builder. Every walk runs on a copy at the
   end of a malloc'd block of exactly its length, so that ASan catches any read past it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ntpext.h"
#include "engine/ntpwire.h"
#include "test.h"

#define MAX_FIELDS 64

typedef struct {
  int result; /* 0 or the walker's negative errno */
  int n;      /* fields handed out before the end or the error */
  NEF_Field f[MAX_FIELDS];
  size_t field_offset[MAX_FIELDS]; /* f[i].body - buffer start, checked against offset */
  size_t mac_offset, mac_len;
} Walk;

static uint64_t rng_state = 0x6e65665f74657374ULL;

static uint64_t rnd(void)
{
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static void walk(const uint8_t *src, size_t len, int flags, Walk *w)
{
  uint8_t *copy = malloc(len ? len : 1);
  NEF_Iter it;
  NEF_Field f;
  int r;

  if (len)
    memcpy(copy, src, len);
  memset(w, 0, sizeof(*w));
  NEF_IterInit(&it, copy, len, flags);
  while ((r = NEF_IterNext(&it, &f)) == 1) {
    if (w->n < MAX_FIELDS) {
      w->f[w->n] = f;
      w->field_offset[w->n] = (size_t) (f.body - copy) - NEF_HEADER_LEN;
      w->f[w->n].body = src + (f.body - copy); /* the copy is freed below */
    }
    w->n++;
  }
  w->result = r;
  w->mac_offset = it.mac_offset;
  w->mac_len = it.mac_len;
  /* the end and the errors are sticky */
  TEST_CHECK(NEF_IterNext(&it, &f) == r);
  free(copy);
}

/* A 48-octet NTPv4 client header, then the fields appended by the caller */
static size_t start_packet(uint8_t *buf)
{
  memset(buf, 0, NWR_HEADER_LEN);
  buf[0] = 0x23;
  buf[47] = 0x01;
  return NWR_HEADER_LEN;
}

/* A raw field header with any Length, for malformed cases */
static size_t put_raw(uint8_t *buf, size_t pos, unsigned type, unsigned length, size_t fill)
{
  buf[pos] = (uint8_t) (type >> 8);
  buf[pos + 1] = (uint8_t) type;
  buf[pos + 2] = (uint8_t) (length >> 8);
  buf[pos + 3] = (uint8_t) length;
  memset(buf + pos + 4, 0x77, fill);
  return pos + 4 + fill;
}

static void test_valid_chain(void)
{
  uint8_t buf[256], body[32];
  size_t len, i;
  Walk w;

  for (i = 0; i < sizeof(body); i++)
    body[i] = (uint8_t) (i + 1);
  len = start_packet(buf);
  TEST_CHECK(NEF_Add(buf, sizeof(buf), &len, 0x1234, body, 12) == 16);
  TEST_CHECK(NEF_Add(buf, sizeof(buf), &len, 0x5678, body, 20) == 24);
  TEST_CHECK(NEF_Add(buf, sizeof(buf), &len, NEF_TYPE_NTS_UNIQUE_ID, body, 32) == 36);
  TEST_CHECK(len == 48 + 16 + 24 + 36);

  walk(buf, len, NEF_RFC7822, &w);
  TEST_CHECK(w.result == 0);
  TEST_CHECK(w.n == 3);
  TEST_CHECK(w.mac_len == 0);
  TEST_CHECK(w.f[0].type == 0x1234 && w.f[0].length == 16 && w.f[0].offset == 48);
  TEST_CHECK(w.f[1].type == 0x5678 && w.f[1].length == 24 && w.f[1].offset == 64);
  TEST_CHECK(w.f[2].type == NEF_TYPE_NTS_UNIQUE_ID && w.f[2].length == 36);
  TEST_CHECK(w.f[2].offset == 88);
  for (i = 0; i < 3; i++) {
    TEST_CHECK(w.field_offset[i] == w.f[i].offset);
    TEST_CHECK(w.f[i].body_len == (size_t) w.f[i].length - 4);
  }
  TEST_CHECK(memcmp(w.f[0].body, body, 12) == 0);
  TEST_CHECK(memcmp(w.f[2].body, body, 32) == 0);
  TEST_CHECK(NEF_Count(buf, len, NEF_RFC7822, NULL) == 3);

  /* the header alone: no fields, no MAC */
  walk(buf, 48, NEF_RFC7822, &w);
  TEST_CHECK(w.result == 0 && w.n == 0 && w.mac_len == 0);
  /* shorter than a header */
  walk(buf, 47, NEF_RFC7822, &w);
  TEST_CHECK(w.result == -EINVAL && w.n == 0);
  walk(buf, 0, NEF_RFC7822, &w);
  TEST_CHECK(w.result == -EINVAL);
  /* a bare buffer may be empty */
  walk(buf, 0, NEF_NTS_PLAINTEXT, &w);
  TEST_CHECK(w.result == 0 && w.n == 0);
}

/* A client request as RFC 8915 section 5.7 lays it out: unique identifier, cookie, two
   cookie placeholders, authenticator (fabricated nonce and ciphertext). */
static size_t nts_request(uint8_t *buf, size_t size)
{
  uint8_t uid[32], cookie[100], auth[4 + 16 + 16];
  size_t len = start_packet(buf), i;

  for (i = 0; i < sizeof(uid); i++)
    uid[i] = (uint8_t) (0xa0 + i);
  for (i = 0; i < sizeof(cookie); i++)
    cookie[i] = (uint8_t) (i * 7);
  memset(auth, 0x5c, sizeof(auth));
  auth[0] = 0;
  auth[1] = 16; /* nonce length */
  auth[2] = 0;
  auth[3] = 16; /* ciphertext length: the SIV tag alone */
  NEF_Add(buf, size, &len, NEF_TYPE_NTS_UNIQUE_ID, uid, sizeof(uid));
  NEF_Add(buf, size, &len, NEF_TYPE_NTS_COOKIE, cookie, sizeof(cookie));
  NEF_Add(buf, size, &len, NEF_TYPE_NTS_PLACEHOLDER, NULL, sizeof(cookie));
  NEF_Add(buf, size, &len, NEF_TYPE_NTS_PLACEHOLDER, NULL, sizeof(cookie));
  NEF_Add(buf, size, &len, NEF_TYPE_NTS_AUTH, auth, sizeof(auth));
  return len;
}

static void test_nts_packets(void)
{
  static const uint16_t types[] = { NEF_TYPE_NTS_UNIQUE_ID, NEF_TYPE_NTS_COOKIE,
                                    NEF_TYPE_NTS_PLACEHOLDER, NEF_TYPE_NTS_PLACEHOLDER,
                                    NEF_TYPE_NTS_AUTH };
  uint8_t buf[512], plain[64];
  size_t len = nts_request(buf, sizeof(buf)), plen = 0, i;
  int flags;
  Walk w;

  TEST_CHECK(len == 48 + 36 + 104 + 104 + 104 + 40);
  for (flags = 0; flags < 8; flags++) {
    if (flags & NEF_F_BARE)
      continue;
    walk(buf, len, flags, &w);
    TEST_CHECKF(w.result == 0 && w.n == 5 && w.mac_len == 0, "flags %d", flags);
    for (i = 0; i < 5 && i < (size_t) w.n; i++)
      TEST_CHECK(w.f[i].type == types[i]);
  }
  walk(buf, len, NEF_RFC7822, &w);
  TEST_CHECK(w.f[2].body_len == 100);
  for (i = 0; i < 100; i++)
    TEST_CHECK(w.f[2].body[i] == 0);

  /* the plaintext of a server's authenticator: fields as short as their header (RFC
     8915 section 5.6). RFC 7822 rules reject it, the NTS plaintext rules take it. */
  NEF_AddMin(plain, sizeof(plain), &plen, 0xf00d, NULL, 0, NEF_HEADER_LEN);
  NEF_AddMin(plain, sizeof(plain), &plen, NEF_TYPE_NTS_COOKIE, "abcd", 4, NEF_HEADER_LEN);
  NEF_AddMin(plain, sizeof(plain), &plen, NEF_TYPE_NTS_COOKIE, "xyz", 3, NEF_HEADER_LEN);
  TEST_CHECK(plen == 4 + 8 + 8);
  walk(plain, plen, NEF_NTS_PLAINTEXT, &w);
  TEST_CHECK(w.result == 0 && w.n == 3 && w.mac_len == 0);
  TEST_CHECK(w.f[0].type == 0xf00d && w.f[0].length == 4 && w.f[0].body_len == 0);
  TEST_CHECK(w.f[2].length == 8 && memcmp(w.f[2].body, "xyz\0", 4) == 0);
  walk(plain, plen, NEF_F_BARE | NEF_F_NO_MAC, &w);
  TEST_CHECK(w.result == -EINVAL && w.n == 0);
  /* with MAC detection on, these 20 octets would be read as a legacy MAC */
  walk(plain, plen, NEF_F_BARE | NEF_F_ANY_LEN | NEF_F_ANY_LAST, &w);
  TEST_CHECK(w.result == 0 && w.n == 0 && w.mac_len == 20);
  /* an empty plaintext (a client's request) */
  walk(plain, 0, NEF_NTS_PLAINTEXT, &w);
  TEST_CHECK(w.result == 0 && w.n == 0);
}

static void test_legacy_mac(void)
{
  uint8_t buf[256];
  size_t len, field_len;
  Walk w;

  /* NTPv4 with a MAC and no fields: key id + MD5, key id + SHA-1 */
  len = start_packet(buf);
  memset(buf + len, 0xab, 24);
  walk(buf, len + 20, NEF_RFC7822, &w);
  TEST_CHECK(w.result == 0 && w.n == 0 && w.mac_offset == 48 && w.mac_len == 20);
  walk(buf, len + 24, NEF_RFC7822, &w);
  TEST_CHECK(w.result == 0 && w.n == 0 && w.mac_offset == 48 && w.mac_len == 24);
  /* MAC lengths between and beyond are not MACs (and not fields either) */
  walk(buf, len + 22, NEF_RFC7822, &w);
  TEST_CHECK(w.result == -EINVAL);
  walk(buf, len + 28, NEF_RFC7822, &w);
  TEST_CHECK(w.result < 0);

  /* a crypto-NAK: a zero key id alone */
  memset(buf + len, 0, 4);
  walk(buf, len + 4, NEF_RFC7822, &w);
  TEST_CHECK(w.result == 0 && w.mac_len == 4);
  buf[len + 3] = 1;
  walk(buf, len + 4, NEF_RFC7822, &w);
  TEST_CHECK(w.result == -EINVAL);

  /* fields, then a MAC: a 16-octet field may come last before a MAC */
  len = start_packet(buf);
  NEF_Add(buf, sizeof(buf), &len, 0x2005, "0123456789ab", 12);
  field_len = len;
  memset(buf + len, 0xcd, 24);
  walk(buf, field_len + 20, NEF_RFC7822, &w);
  TEST_CHECK(w.result == 0 && w.n == 1 && w.mac_offset == 64 && w.mac_len == 20);
  walk(buf, field_len + 24, NEF_RFC7822, &w);
  TEST_CHECK(w.result == 0 && w.n == 1 && w.mac_offset == 64 && w.mac_len == 24);
  TEST_CHECK(w.f[0].type == 0x2005 && w.f[0].length == 16);
  {
    size_t mac_len = 99;

    TEST_CHECK(NEF_Count(buf, field_len + 24, NEF_RFC7822, &mac_len) == 1);
    TEST_CHECK(mac_len == 24);
    TEST_CHECK(NEF_Count(buf, field_len + 23, NEF_RFC7822, &mac_len) < 0);
    TEST_CHECK(mac_len == 0);
  }

  /* NEF_F_NO_MAC: the same 24 octets must parse as a field */
  walk(buf, field_len + 24, NEF_F_NO_MAC, &w);
  TEST_CHECK(w.result < 0 && w.mac_len == 0);
  len = start_packet(buf);
  NEF_AddMin(buf, sizeof(buf), &len, 0x7777, NULL, 20, 0);
  TEST_CHECK(len == 48 + 24);
  walk(buf, len, NEF_RFC7822, &w);
  TEST_CHECK(w.result == 0 && w.n == 0 && w.mac_len == 24); /* why the 28 rule exists */
  walk(buf, len, NEF_F_NO_MAC, &w);
  TEST_CHECK(w.result == -EINVAL && w.n == 0);
  walk(buf, len, NEF_F_NO_MAC | NEF_F_ANY_LAST, &w);
  TEST_CHECK(w.result == 0 && w.n == 1 && w.f[0].type == 0x7777 && w.mac_len == 0);
}

static void test_bad_lengths(void)
{
  static const unsigned bad[] = { 0, 1, 2, 3, 4, 8, 12, 15, 17, 30, 33, 62 };
  uint8_t buf[256];
  size_t len, pos;
  Walk w;
  unsigned l;
  int flags;

  /* Length 0, 2, 15, not a multiple of 4, below the minimum: -EINVAL, and no field is
     handed out (a Length of 0 must not loop forever either) */
  for (l = 0; l < sizeof(bad) / sizeof(bad[0]); l++) {
    pos = put_raw(buf, start_packet(buf), 0x1111, bad[l], 60);
    walk(buf, pos, NEF_RFC7822, &w);
    TEST_CHECKF(w.result == -EINVAL && w.n == 0, "Length %u: %d", bad[l], w.result);
  }
  /* the same lengths, each field alone in a bare buffer, under the NTS plaintext rules:
     4, 8 and 12 are now fields */
  for (l = 0; l < sizeof(bad) / sizeof(bad[0]); l++) {
    pos = put_raw(buf, 0, 0x1111, bad[l], bad[l] >= 4 ? bad[l] - 4 : 0);
    walk(buf, pos, NEF_NTS_PLAINTEXT, &w);
    if (bad[l] >= 4 && bad[l] % 4 == 0)
      TEST_CHECKF(w.result == 0 && w.n == 1, "Length %u", bad[l]);
    else
      TEST_CHECKF(w.result == -EINVAL || w.result == -EMSGSIZE, "Length %u", bad[l]);
  }

  /* longer than the packet */
  pos = put_raw(buf, start_packet(buf), 0x2222, 64, 28);
  walk(buf, pos, NEF_RFC7822, &w);
  TEST_CHECK(w.result == -EMSGSIZE && w.n == 0);
  pos = put_raw(buf, start_packet(buf), 0x2222, 0xfffc, 60);
  walk(buf, pos, NEF_RFC7822, &w);
  TEST_CHECK(w.result == -EMSGSIZE && w.n == 0);
  /* exactly to the end */
  pos = put_raw(buf, start_packet(buf), 0x2222, 64, 60);
  walk(buf, pos, NEF_RFC7822, &w);
  TEST_CHECK(w.result == 0 && w.n == 1 && w.f[0].length == 64 && w.f[0].body_len == 60);
  /* one octet short of the end, one octet over */
  walk(buf, pos - 1, NEF_RFC7822, &w);
  TEST_CHECK(w.result == -EMSGSIZE && w.n == 0);
  pos = put_raw(buf, start_packet(buf), 0x2222, 32, 28);
  buf[pos] = 0;
  walk(buf, pos + 1, NEF_RFC7822, &w);
  TEST_CHECK(w.result == -EMSGSIZE && w.n == 1);

  /* 1..3 octets left after a good field: too short for a header */
  for (l = 1; l <= 3; l++) {
    len = start_packet(buf);
    NEF_AddMin(buf, sizeof(buf), &len, 0x3333, NULL, 24, 0);
    memset(buf + len, 0, 3);
    for (flags = 0; flags < 16; flags++) {
      if (flags & NEF_F_BARE)
        continue;
      walk(buf, len + l, flags, &w);
      TEST_CHECKF(w.result == -EMSGSIZE && w.n == 1, "%u left, flags %d", l, flags);
    }
  }

  /* a good field, then a bad one: the first is handed out, then the error */
  len = start_packet(buf);
  NEF_Add(buf, sizeof(buf), &len, 0x4444, NULL, 12);
  pos = put_raw(buf, len, 0x5555, 18, 40);
  walk(buf, pos, NEF_RFC7822, &w);
  TEST_CHECK(w.result == -EINVAL && w.n == 1 && w.f[0].type == 0x4444);
}

static void test_last_field_rule(void)
{
  uint8_t buf[256];
  size_t len;
  Walk w;

  /* a lone 16-octet field ending the packet */
  len = start_packet(buf);
  NEF_Add(buf, sizeof(buf), &len, 0x0a0a, NULL, 0);
  TEST_CHECK(len == 64);
  walk(buf, len, NEF_RFC7822, &w);
  TEST_CHECK(w.result == -EINVAL && w.n == 0);
  walk(buf, len, NEF_F_ANY_LAST, &w);
  TEST_CHECK(w.result == 0 && w.n == 1 && w.f[0].length == 16);

  /* 28 octets is enough */
  len = start_packet(buf);
  NEF_AddMin(buf, sizeof(buf), &len, 0x0a0a, NULL, 0, NEF_MIN_LAST_LEN);
  TEST_CHECK(len == 48 + 28);
  walk(buf, len, NEF_RFC7822, &w);
  TEST_CHECK(w.result == 0 && w.n == 1 && w.f[0].length == 28);

  /* 16 + 16: the first is fine (more follows), the last is too short */
  len = start_packet(buf);
  NEF_Add(buf, sizeof(buf), &len, 0x0b0b, NULL, 0);
  NEF_Add(buf, sizeof(buf), &len, 0x0c0c, NULL, 0);
  walk(buf, len, NEF_RFC7822, &w);
  TEST_CHECK(w.result == -EINVAL && w.n == 1 && w.f[0].type == 0x0b0b);
  walk(buf, len, NEF_F_ANY_LAST, &w);
  TEST_CHECK(w.result == 0 && w.n == 2);

  /* 16 + 28: fine */
  len = start_packet(buf);
  NEF_Add(buf, sizeof(buf), &len, 0x0b0b, NULL, 0);
  NEF_AddMin(buf, sizeof(buf), &len, 0x0c0c, NULL, 0, NEF_MIN_LAST_LEN);
  walk(buf, len, NEF_RFC7822, &w);
  TEST_CHECK(w.result == 0 && w.n == 2);

  /* the NTS plaintext rules drop both minimums */
  len = 0;
  NEF_AddMin(buf, sizeof(buf), &len, 1, NULL, 0, 0);
  NEF_AddMin(buf, sizeof(buf), &len, 2, NULL, 4, 0);
  walk(buf, len, NEF_NTS_PLAINTEXT, &w);
  TEST_CHECK(w.result == 0 && w.n == 2 && w.f[0].length == 4 && w.f[1].length == 8);
  walk(buf, len, NEF_F_BARE | NEF_F_NO_MAC | NEF_F_ANY_LEN, &w);
  TEST_CHECK(w.result == -EINVAL && w.n == 1);
  walk(buf, len, NEF_F_BARE | NEF_F_NO_MAC | NEF_F_ANY_LAST, &w);
  TEST_CHECK(w.result == -EINVAL && w.n == 0);
}

static void test_builder(void)
{
  uint8_t buf[128], body[64];
  size_t len, i;
  int ok;

  for (i = 0; i < sizeof(body); i++)
    body[i] = (uint8_t) (0x80 + i);

  /* padding to 4 and to the minimum of 16 */
  len = 0;
  memset(buf, 0xee, sizeof(buf));
  TEST_CHECK(NEF_Add(buf, sizeof(buf), &len, 0xabcd, NULL, 0) == 16);
  TEST_CHECK(len == 16);
  TEST_CHECK(buf[0] == 0xab && buf[1] == 0xcd && buf[2] == 0 && buf[3] == 16);
  for (ok = 1, i = 4; i < 16; i++)
    ok &= buf[i] == 0;
  TEST_CHECK(ok);
  TEST_CHECK(buf[16] == 0xee);

  TEST_CHECK(NEF_Add(buf, sizeof(buf), &len, 0x0001, body, 13) == 20);
  TEST_CHECK(len == 36);
  TEST_CHECK(buf[16 + 3] == 20);
  TEST_CHECK(memcmp(buf + 20, body, 13) == 0);
  TEST_CHECK(buf[33] == 0 && buf[34] == 0 && buf[35] == 0 && buf[36] == 0xee);

  len = 0;
  TEST_CHECK(NEF_Add(buf, sizeof(buf), &len, 1, body, 12) == 16);
  TEST_CHECK(NEF_Add(buf, sizeof(buf), &len, 1, body, 32) == 36);
  TEST_CHECK(NEF_Add(buf, sizeof(buf), &len, 1, body, 9) == 16);
  TEST_CHECK(len == 68);

  /* other minimums */
  len = 0;
  TEST_CHECK(NEF_AddMin(buf, sizeof(buf), &len, 1, body, 4, NEF_MIN_LAST_LEN) == 28);
  TEST_CHECK(NEF_AddMin(buf, sizeof(buf), &len, 1, NULL, 0, NEF_HEADER_LEN) == 4);
  TEST_CHECK(NEF_AddMin(buf, sizeof(buf), &len, 1, body, 5, 0) == 12);
  TEST_CHECK(NEF_AddMin(buf, sizeof(buf), &len, 1, NULL, 0, 30) == 32);
  TEST_CHECK(len == 28 + 4 + 12 + 32);

  /* a placeholder: body NULL means zeros */
  len = 0;
  memset(buf, 0xee, sizeof(buf));
  TEST_CHECK(NEF_Add(buf, sizeof(buf), &len, NEF_TYPE_NTS_PLACEHOLDER, NULL, 100) == 104);
  for (ok = 1, i = 4; i < 104; i++)
    ok &= buf[i] == 0;
  TEST_CHECK(ok && buf[104] == 0xee);

  /* -ENOSPC leaves buffer and length alone; an exact fit works */
  memset(buf, 0xee, sizeof(buf));
  len = 48;
  TEST_CHECK(NEF_Add(buf, 48 + 15, &len, 1, body, 12) == -ENOSPC);
  TEST_CHECK(len == 48);
  for (ok = 1, i = 0; i < sizeof(buf); i++)
    ok &= buf[i] == 0xee;
  TEST_CHECK(ok);
  TEST_CHECK(NEF_Add(buf, 48 + 16, &len, 1, body, 12) == 16);
  TEST_CHECK(len == 64);
  TEST_CHECK(NEF_Add(buf, 64, &len, 1, NULL, 0) == -ENOSPC);
  TEST_CHECK(NEF_AddMin(buf, 64 + 3, &len, 1, NULL, 0, 0) == -ENOSPC);
  TEST_CHECK(NEF_AddMin(buf, 64 + 4, &len, 1, NULL, 0, 0) == 4);

  /* misaligned or impossible positions */
  len = 50;
  TEST_CHECK(NEF_Add(buf, sizeof(buf), &len, 1, NULL, 0) == -EINVAL);
  TEST_CHECK(len == 50);
  len = 200;
  TEST_CHECK(NEF_Add(buf, sizeof(buf), &len, 1, NULL, 0) == -EINVAL);

  /* the 16-bit Length: 0xfffc is the longest field */
  {
    size_t big = 0x10000;
    uint8_t *p = malloc(big);

    len = 0;
    TEST_CHECK(NEF_Add(p, big, &len, 1, NULL, 0xfff8) == 0xfffc);
    TEST_CHECK(p[2] == 0xff && p[3] == 0xfc);
    len = 0;
    TEST_CHECK(NEF_Add(p, big, &len, 1, NULL, 0xfff9) == -EMSGSIZE);
    TEST_CHECK(NEF_Add(p, big, &len, 1, NULL, (size_t) -1) == -EMSGSIZE);
    TEST_CHECK(NEF_AddMin(p, big, &len, 1, NULL, 0, 0x10000) == -EMSGSIZE);
    TEST_CHECK(len == 0);
    free(p);
  }

  /* building into a block of exactly the packet's size (ASan watches the end) */
  {
    size_t size = 48 + 36 + 68 + 40 + 40;
    uint8_t *p = malloc(size);
    Walk w;

    len = start_packet(p);
    TEST_CHECK(NEF_Add(p, size, &len, NEF_TYPE_NTS_UNIQUE_ID, body, 32) == 36);
    TEST_CHECK(NEF_Add(p, size, &len, NEF_TYPE_NTS_COOKIE, body, 100 - 36) == 68);
    TEST_CHECK(NEF_Add(p, size, &len, NEF_TYPE_NTS_COOKIE, body, 33) == 40);
    TEST_CHECK(NEF_Add(p, size, &len, NEF_TYPE_NTS_AUTH, body, 36) == 40);
    TEST_CHECK(len == size);
    TEST_CHECK(NEF_Add(p, size, &len, 1, NULL, 0) == -ENOSPC);
    walk(p, len, NEF_RFC7822, &w);
    TEST_CHECK(w.result == 0 && w.n == 4 && w.f[3].type == NEF_TYPE_NTS_AUTH);
    free(p);
  }
}

/* Every prefix of a valid packet, every flag combination: the walker stays inside the
   buffer (ASan), ends with 0 or -EINVAL/-EMSGSIZE, and every field it hands out lies
   inside the prefix, in order. */
static void test_truncation_and_noise(void)
{
  uint8_t buf[512];
  size_t full = nts_request(buf, sizeof(buf)), len;
  int flags, i, bad = 0, ok_full = 0;

  for (len = 0; len <= full; len++)
    for (flags = 0; flags < 16; flags++) {
      Walk w;
      size_t end = flags & NEF_F_BARE ? 0 : NWR_HEADER_LEN;
      int k;

      walk(buf, len, flags, &w);
      if (w.result != 0 && w.result != -EINVAL && w.result != -EMSGSIZE)
        bad++;
      for (k = 0; k < w.n && k < MAX_FIELDS; k++) {
        if (w.f[k].offset != end || w.f[k].offset + w.f[k].length > len)
          bad++;
        end = w.f[k].offset + w.f[k].length;
      }
      if (w.result == 0 && end + w.mac_len != len)
        bad++;
      if (len == full && !(flags & NEF_F_BARE))
        ok_full += w.result == 0 && w.n == 5;
    }
  TEST_CHECKF(bad == 0, "%d violations", bad);
  TEST_CHECK(ok_full == 8);

  /* random buffers, built to look like fields often enough to go deep */
  for (i = 0; i < 30000; i++) {
    size_t n = 48 + (size_t) (rnd() % 200), pos;
    uint8_t pkt[256];

    for (pos = 0; pos < n; pos++)
      pkt[pos] = (uint8_t) rnd();
    for (pos = 48; pos + 4 <= n && rnd() % 4;) {
      unsigned l = (unsigned) (rnd() % 8 ? 4 * (1 + rnd() % 12) : rnd() % 64);

      pkt[pos + 2] = (uint8_t) (l >> 8);
      pkt[pos + 3] = (uint8_t) l;
      pos += l ? l : 4;
    }
    for (flags = 0; flags < 16; flags++) {
      Walk w;
      size_t end = flags & NEF_F_BARE ? 0 : NWR_HEADER_LEN;
      int k;

      walk(pkt, n, flags, &w);
      for (k = 0; k < w.n && k < MAX_FIELDS; k++) {
        if (w.f[k].offset != end || w.f[k].offset + w.f[k].length > n ||
            w.f[k].length % 4 != 0 || w.f[k].length < 4)
          bad++;
        end = w.f[k].offset + w.f[k].length;
      }
      if (w.result == 0 && end + w.mac_len != n)
        bad++;
      if (w.result != 0 && w.result != -EINVAL && w.result != -EMSGSIZE)
        bad++;
    }
  }
  TEST_CHECKF(bad == 0, "%d violations on random input", bad);
}

int main(void)
{
  test_valid_chain();
  test_nts_packets();
  test_legacy_mac();
  test_bad_lengths();
  test_last_field_rule();
  test_builder();
  test_truncation_and_noise();
  TEST_EXIT();
}
