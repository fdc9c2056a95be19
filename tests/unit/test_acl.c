/* test_acl.c - allow/deny rules: chrony.conf(5)'s examples, ordering, `all`, default deny,
   IPv4-mapped IPv6, IPv6, and 100k random lookups over random rule sets checked against a
   slow reference that walks the rules in order for each address. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/acl.h"
#include "test.h"

static uint64_t rng_state = 0x61636c5f74657374ULL;

static uint64_t rnd(void)
{
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static unsigned rnd_below(unsigned n)
{
  return (unsigned) (rnd() % n);
}

/* An address in text to a sockaddr (AF_INET or AF_INET6) */
static void to_sockaddr(const char *text, struct sockaddr_storage *ss)
{
  memset(ss, 0, sizeof(*ss));
  if (strchr(text, ':')) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;

    in6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1)
      fprintf(stderr, "bad test address %s\n", text);
  } else {
    struct sockaddr_in *in = (struct sockaddr_in *) ss;

    in->sin_family = AF_INET;
    if (inet_pton(AF_INET, text, &in->sin_addr) != 1)
      fprintf(stderr, "bad test address %s\n", text);
  }
}

static ACL_Action check(const ACL_Table *t, const char *text)
{
  struct sockaddr_storage ss;

  to_sockaddr(text, &ss);
  return ACL_Check(t, (const struct sockaddr *) &ss);
}

/* "allow [all] [subnet]" / "deny [all] [subnet]" */
static int add(ACL_Table *t, const char *line)
{
  char buf[128], *words[3] = { "deny", NULL, NULL };
  int n = 0, all = 0;
  ACL_Action action;
  char *save = NULL, *w;

  snprintf(buf, sizeof(buf), "%s", line);
  for (w = strtok_r(buf, " ", &save); w && n < 3; w = strtok_r(NULL, " ", &save))
    words[n++] = w;
  action = strcmp(words[0], "allow") == 0 ? ACL_ALLOW : ACL_DENY;
  if (n > 1 && strcmp(words[1], "all") == 0)
    all = 1;
  return ACL_AddRule(t, action, all, n > 1 + all ? words[1 + all] : NULL);
}

static ACL_Table *build(const char *const *lines, size_t n)
{
  ACL_Table *t = ACL_Create();
  size_t i;

  TEST_CHECK(t != NULL);
  for (i = 0; i < n; i++)
    TEST_CHECKF(add(t, lines[i]) == 0, "%s", lines[i]);
  return t;
}

#define BUILD(...)                                                                            \
  build((const char *const[]){ __VA_ARGS__ },                                                 \
        sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

#define EXPECT(t, addr, action) TEST_CHECKF(check(t, addr) == (action), "%s", addr)

static void test_default_deny(void)
{
  ACL_Table *t = ACL_Create();
  struct sockaddr_storage ss;

  EXPECT(t, "192.0.2.1", ACL_DENY);
  EXPECT(t, "0.0.0.0", ACL_DENY);
  EXPECT(t, "255.255.255.255", ACL_DENY);
  EXPECT(t, "2001:db8::1", ACL_DENY);
  EXPECT(t, "::ffff:192.0.2.1", ACL_DENY);
  TEST_CHECK(!ACL_IsAnyAllowed(t, AF_INET));
  TEST_CHECK(!ACL_IsAnyAllowed(t, AF_INET6));

  /* anything that is not an IP address, and no address at all */
  TEST_CHECK(add(t, "allow") == 0);
  EXPECT(t, "192.0.2.1", ACL_ALLOW);
  memset(&ss, 0, sizeof(ss));
  ss.ss_family = AF_UNIX;
  TEST_CHECK(ACL_Check(t, (const struct sockaddr *) &ss) == ACL_DENY);
  TEST_CHECK(ACL_Check(t, NULL) == ACL_DENY);
  TEST_CHECK(ACL_Check(NULL, (const struct sockaddr *) &ss) == ACL_DENY);
  ACL_Destroy(t);
  ACL_Destroy(NULL);
}

/* chrony.conf(5), allow: the forms of the directive */
static void test_doc_forms(void)
{
  ACL_Table *t;

  t = BUILD("allow 1.2.3.4");
  EXPECT(t, "1.2.3.4", ACL_ALLOW);
  EXPECT(t, "1.2.3.5", ACL_DENY);
  EXPECT(t, "::ffff:1.2.3.4", ACL_ALLOW);
  TEST_CHECK(ACL_IsAnyAllowed(t, AF_INET) && !ACL_IsAnyAllowed(t, AF_INET6));
  ACL_Destroy(t);

  /* "allow 3.4.5" is what the parser stores as 3.4.5.0/24 */
  t = BUILD("allow 3.4.5.0/24");
  EXPECT(t, "3.4.5.0", ACL_ALLOW);
  EXPECT(t, "3.4.5.255", ACL_ALLOW);
  EXPECT(t, "3.4.6.0", ACL_DENY);
  EXPECT(t, "3.4.4.255", ACL_DENY);
  ACL_Destroy(t);

  t = BUILD("allow 2001:db8::/32");
  EXPECT(t, "2001:db8::", ACL_ALLOW);
  EXPECT(t, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", ACL_ALLOW);
  EXPECT(t, "2001:db9::", ACL_DENY);
  EXPECT(t, "2001:db7:ffff::1", ACL_DENY);
  EXPECT(t, "1.2.3.4", ACL_DENY);
  ACL_Destroy(t);

  t = BUILD("allow 0.0.0.0/0");
  EXPECT(t, "0.0.0.0", ACL_ALLOW);
  EXPECT(t, "255.255.255.255", ACL_ALLOW);
  EXPECT(t, "::ffff:10.0.0.1", ACL_ALLOW);
  EXPECT(t, "::1", ACL_DENY);
  EXPECT(t, "2001:db8::1", ACL_DENY);
  ACL_Destroy(t);

  t = BUILD("allow ::/0");
  EXPECT(t, "::1", ACL_ALLOW);
  EXPECT(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ACL_ALLOW);
  EXPECT(t, "1.2.3.4", ACL_DENY);
  /* a mapped client is checked as IPv4, and no IPv4 rule allows it */
  EXPECT(t, "::ffff:1.2.3.4", ACL_DENY);
  ACL_Destroy(t);

  t = BUILD("allow");
  EXPECT(t, "1.2.3.4", ACL_ALLOW);
  EXPECT(t, "::ffff:1.2.3.4", ACL_ALLOW);
  EXPECT(t, "2001:db8::1", ACL_ALLOW);
  EXPECT(t, "::", ACL_ALLOW);
  TEST_CHECK(ACL_IsAnyAllowed(t, AF_INET) && ACL_IsAnyAllowed(t, AF_INET6));
  ACL_Destroy(t);

  /* bits after the prefix length are ignored: 6.7.8.9/22 is 6.7.8.0/22 */
  t = BUILD("allow 6.7.8.9/22");
  EXPECT(t, "6.7.8.0", ACL_ALLOW);
  EXPECT(t, "6.7.11.255", ACL_ALLOW);
  EXPECT(t, "6.7.12.0", ACL_DENY);
  EXPECT(t, "6.7.7.255", ACL_DENY);
  ACL_Destroy(t);
}

/* chrony.conf(5): the first example gives the same result in any order */
static void test_doc_specificity(void)
{
  static const char *const lines[3] = { "allow 1.2.3.4", "deny 1.2.3.0/24",
                                        "allow 1.2.0.0/16" };
  static const int perms[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
                                   { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
  int p;

  for (p = 0; p < 6; p++) {
    ACL_Table *t = BUILD(lines[perms[p][0]], lines[perms[p][1]], lines[perms[p][2]]);

    EXPECT(t, "1.2.3.4", ACL_ALLOW);
    EXPECT(t, "1.2.3.5", ACL_DENY);
    EXPECT(t, "1.2.3.0", ACL_DENY);
    EXPECT(t, "1.2.4.1", ACL_ALLOW);
    EXPECT(t, "1.2.255.255", ACL_ALLOW);
    EXPECT(t, "1.3.0.0", ACL_DENY);
    EXPECT(t, "1.1.255.255", ACL_DENY);
    ACL_Destroy(t);
  }
}

/* chrony.conf(5): the second example, `allow all` clears what came before inside it */
static void test_doc_all(void)
{
  ACL_Table *t;

  t = BUILD("allow 1.2.3.4", "deny 1.2.3.0/24", "allow all 1.2.0.0/16");
  EXPECT(t, "1.2.3.4", ACL_ALLOW);
  EXPECT(t, "1.2.3.5", ACL_ALLOW);
  EXPECT(t, "1.2.200.1", ACL_ALLOW);
  EXPECT(t, "1.3.0.1", ACL_DENY);
  ACL_Destroy(t);

  /* only what came before: later, more specific rules still count */
  t = BUILD("allow all 1.2.0.0/16", "deny 1.2.3.0/24", "allow 1.2.3.4");
  EXPECT(t, "1.2.3.4", ACL_ALLOW);
  EXPECT(t, "1.2.3.5", ACL_DENY);
  EXPECT(t, "1.2.4.1", ACL_ALLOW);
  ACL_Destroy(t);

  /* and only inside its subnet: a rule outside, or a wider one, stays */
  t = BUILD("deny 10.0.0.0/8", "allow 10.1.2.3", "allow 192.0.2.1", "deny all 10.1.0.0/16");
  EXPECT(t, "10.1.2.3", ACL_DENY);
  EXPECT(t, "192.0.2.1", ACL_ALLOW);
  EXPECT(t, "10.2.0.1", ACL_DENY);
  ACL_Destroy(t);

  t = BUILD("allow 10.0.0.0/8", "deny 10.1.0.0/16", "allow 192.0.2.1", "allow all 10.0.0.0/8");
  EXPECT(t, "10.1.2.3", ACL_ALLOW);
  EXPECT(t, "192.0.2.1", ACL_ALLOW);
  ACL_Destroy(t);

  /* `deny all` with no subnet: everything before is gone, both families */
  t = BUILD("allow 1.2.3.4", "allow 2001:db8::/32", "allow", "deny all");
  EXPECT(t, "1.2.3.4", ACL_DENY);
  EXPECT(t, "2001:db8::1", ACL_DENY);
  EXPECT(t, "8.8.8.8", ACL_DENY);
  TEST_CHECK(!ACL_IsAnyAllowed(t, AF_INET) && !ACL_IsAnyAllowed(t, AF_INET6));
  TEST_CHECK(add(t, "allow 1.2.3.4") == 0);
  EXPECT(t, "1.2.3.4", ACL_ALLOW);
  EXPECT(t, "1.2.3.5", ACL_DENY);
  ACL_Destroy(t);

  /* `allow all`, no subnet: everything allowed, whatever came before */
  t = BUILD("deny 1.2.3.4", "deny 2001:db8::1", "allow all");
  EXPECT(t, "1.2.3.4", ACL_ALLOW);
  EXPECT(t, "2001:db8::1", ACL_ALLOW);
  ACL_Destroy(t);

  /* while plain `allow` leaves the more specific rules alone */
  t = BUILD("deny 1.2.3.4", "deny 2001:db8::1", "allow");
  EXPECT(t, "1.2.3.4", ACL_DENY);
  EXPECT(t, "1.2.3.5", ACL_ALLOW);
  EXPECT(t, "2001:db8::1", ACL_DENY);
  EXPECT(t, "2001:db8::2", ACL_ALLOW);
  ACL_Destroy(t);
}

/* The same subnet twice: the later rule wins */
static void test_same_subnet(void)
{
  ACL_Table *t;

  t = BUILD("allow 10.0.0.0/8", "deny 10.0.0.0/8");
  EXPECT(t, "10.9.9.9", ACL_DENY);
  ACL_Destroy(t);
  t = BUILD("deny 10.0.0.0/8", "allow 10.0.0.0/8");
  EXPECT(t, "10.9.9.9", ACL_ALLOW);
  ACL_Destroy(t);
  /* spelt differently, the same subnet */
  t = BUILD("deny 10.0.0.0/8", "allow 10.20.30.40/8");
  EXPECT(t, "10.9.9.9", ACL_ALLOW);
  ACL_Destroy(t);
  t = BUILD("allow 2001:db8::/48", "deny 2001:0db8:0000::/48");
  EXPECT(t, "2001:db8::5", ACL_DENY);
  ACL_Destroy(t);
  t = BUILD("allow 1.2.3.4", "deny 1.2.3.4", "allow 1.2.3.4");
  EXPECT(t, "1.2.3.4", ACL_ALLOW);
  ACL_Destroy(t);
}

/* chrony.conf(5): rules live in tables of 4 address bits. 1.2.3.0/25 and 1.2.3.0/28 write
   the same table, so their order matters; 1.2.3.0/28 and 1.2.3.0/29 do not. */
static void test_nibble_levels(void)
{
  ACL_Table *t;

  t = BUILD("deny 1.2.3.0/28", "allow 1.2.3.0/25");
  EXPECT(t, "1.2.3.1", ACL_ALLOW);
  EXPECT(t, "1.2.3.100", ACL_ALLOW);
  ACL_Destroy(t);
  t = BUILD("allow 1.2.3.0/25", "deny 1.2.3.0/28");
  EXPECT(t, "1.2.3.1", ACL_DENY);
  EXPECT(t, "1.2.3.16", ACL_ALLOW);
  EXPECT(t, "1.2.3.127", ACL_ALLOW);
  EXPECT(t, "1.2.3.128", ACL_DENY);
  ACL_Destroy(t);

  /* different tables: the more specific wins in both orders */
  t = BUILD("deny 1.2.3.0/29", "allow 1.2.3.0/28");
  EXPECT(t, "1.2.3.1", ACL_DENY);
  EXPECT(t, "1.2.3.9", ACL_ALLOW);
  ACL_Destroy(t);
  t = BUILD("allow 1.2.3.0/28", "deny 1.2.3.0/29");
  EXPECT(t, "1.2.3.1", ACL_DENY);
  EXPECT(t, "1.2.3.9", ACL_ALLOW);
  ACL_Destroy(t);

  /* a /22 writes four /24 records: a later one replaces one of them, an earlier one is
     replaced */
  t = BUILD("allow 6.7.8.0/22", "deny 6.7.9.0/24");
  EXPECT(t, "6.7.8.1", ACL_ALLOW);
  EXPECT(t, "6.7.9.1", ACL_DENY);
  EXPECT(t, "6.7.10.1", ACL_ALLOW);
  ACL_Destroy(t);
  t = BUILD("deny 6.7.9.0/24", "allow 6.7.8.0/22");
  EXPECT(t, "6.7.9.1", ACL_ALLOW);
  ACL_Destroy(t);

  /* IPv6, at the 64-bit boundary and at /1 */
  t = BUILD("allow 2001:db8::/62", "deny 2001:db8:0:1::/64", "deny 8000::/1");
  EXPECT(t, "2001:db8::1", ACL_ALLOW);
  EXPECT(t, "2001:db8:0:1::1", ACL_DENY);
  EXPECT(t, "2001:db8:0:3:ffff::", ACL_ALLOW);
  EXPECT(t, "2001:db8:0:4::", ACL_DENY);
  EXPECT(t, "8000::", ACL_DENY);
  EXPECT(t, "::1", ACL_DENY);
  ACL_Destroy(t);
}

static void test_mapped_and_v6(void)
{
  ACL_Table *t;

  t = BUILD("allow 192.0.2.0/24", "deny 192.0.2.128/25", "allow 2001:db8::/32",
            "deny 2001:db8:1::/48");
  EXPECT(t, "192.0.2.7", ACL_ALLOW);
  EXPECT(t, "::ffff:192.0.2.7", ACL_ALLOW);
  EXPECT(t, "::ffff:192.0.2.200", ACL_DENY);
  EXPECT(t, "::ffff:198.51.100.1", ACL_DENY);
  EXPECT(t, "2001:db8::7", ACL_ALLOW);
  EXPECT(t, "2001:db8:1::7", ACL_DENY);
  EXPECT(t, "2001:db8:2::7", ACL_ALLOW);
  /* not mapped: IPv4-compatible and NAT64 forms are plain IPv6 */
  EXPECT(t, "::192.0.2.7", ACL_DENY);
  EXPECT(t, "64:ff9b::192.0.2.7", ACL_DENY);
  ACL_Destroy(t);

  /* a rule written as a mapped subnet applies to the IPv4 clients it maps */
  t = BUILD("allow ::ffff:192.0.2.0/120", "deny ::ffff:192.0.2.9");
  EXPECT(t, "192.0.2.1", ACL_ALLOW);
  EXPECT(t, "::ffff:192.0.2.1", ACL_ALLOW);
  EXPECT(t, "192.0.2.9", ACL_DENY);
  EXPECT(t, "192.0.3.1", ACL_DENY);
  TEST_CHECK(!ACL_IsAnyAllowed(t, AF_INET6));
  ACL_Destroy(t);

  /* wider than /96 it stays an IPv6 rule, which mapped clients never meet */
  t = BUILD("allow ::ffff:0:0/95");
  EXPECT(t, "192.0.2.1", ACL_DENY);
  EXPECT(t, "::ffff:192.0.2.1", ACL_DENY);
  EXPECT(t, "::fffe:192.0.2.1", ACL_ALLOW);
  ACL_Destroy(t);

  t = BUILD("allow ::1", "allow fe80::/10");
  EXPECT(t, "::1", ACL_ALLOW);
  EXPECT(t, "::2", ACL_DENY);
  EXPECT(t, "fe80::1", ACL_ALLOW);
  EXPECT(t, "febf:ffff::1", ACL_ALLOW);
  EXPECT(t, "fec0::1", ACL_DENY);
  ACL_Destroy(t);
}

static void test_bad_rules(void)
{
  static const char *const bad[] = { "1.2.3.4/33",  "::/129",       "1.2.3.4/",  "1.2.3.4/x",
                                     "1.2.3.4/-1",  "1.2.3.4/1000", "1.2.3",     "1.2.3.256",
                                     "/8",          "1.2.3.4/8/",   "::1/12a",   "-host",
                                     "a b",         "1.2.3.4 ",     "gggg::/16", "host/8",
                                     "2001:db8:::1" };
  ACL_Table *t = BUILD("allow 10.0.0.0/8");
  size_t i;

  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    TEST_CHECKF(ACL_AddRule(t, ACL_DENY, 0, bad[i]) == -EINVAL, "%s", bad[i]);
  TEST_CHECK(ACL_AddRule(t, (ACL_Action) 7, 0, "10.0.0.0/8") == -EINVAL);
  TEST_CHECK(ACL_AddRule(NULL, ACL_DENY, 0, "10.0.0.0/8") == -EINVAL);
  /* unchanged by the failures */
  EXPECT(t, "10.1.1.1", ACL_ALLOW);
  EXPECT(t, "11.1.1.1", ACL_DENY);
  /* a name that cannot resolve (.invalid is reserved, RFC 6761) */
  TEST_CHECK(ACL_AddRule(t, ACL_DENY, 0, "no-such-host.invalid") == -ENOENT);
  EXPECT(t, "10.1.1.1", ACL_ALLOW);
  ACL_Destroy(t);
}

/* A host name is resolved once and its first address used */
static void test_host_name(void)
{
  ACL_Table *t = ACL_Create();
  int r = ACL_AddRule(t, ACL_ALLOW, 0, "localhost");

  if (r == -ENOENT) {
    fprintf(stderr, "localhost does not resolve here: name check skipped\n");
  } else {
    TEST_CHECK(r == 0);
    TEST_CHECK(check(t, "127.0.0.1") == ACL_ALLOW || check(t, "::1") == ACL_ALLOW);
    EXPECT(t, "127.0.0.2", ACL_DENY);
  }
  ACL_Destroy(t);
}

/* ---- the random cross-check ---------------------------------------------------------- */

/* The reference sees both families as 128-bit addresses: IPv4 as ::ffff:a.b.c.d. Rules
   and lookups are of one of two classes: IPv4 (and mapped) or other IPv6. */
enum { CLASS4 = 0, CLASS6 = 1, BOTH = 2 };

typedef struct {
  char text[64];
  ACL_Action action;
  int all;
  int cls; /* CLASS4, CLASS6 or BOTH (no subnet) */
  uint8_t prefix[16];
  int len; /* in the 128-bit space */
} RefRule;

static int ref_match(const uint8_t *a, const uint8_t *prefix, int len)
{
  int i;

  for (i = 0; i < len; i++) {
    int bit = 7 - i % 8;

    if (((a[i / 8] >> bit) & 1) != ((prefix[i / 8] >> bit) & 1))
      return 0;
  }
  return 1;
}

/* Walk the rules in order along the address's path through chrony's tables: a matching
   rule sets the record at its level (the length rounded up to 4 bits), an `all` rule also
   clears everything deeper. The deepest record set decides. */
static ACL_Action ref_check(const RefRule *rules, int n, int cls, const uint8_t addr[16])
{
  int levels[33], i, l, root = cls == CLASS4 ? 96 / 4 : 0;

  for (l = 0; l < 33; l++)
    levels[l] = -1;
  for (i = 0; i < n; i++) {
    const RefRule *r = &rules[i];
    int level;

    if (r->cls == BOTH) {
      level = root;
    } else {
      if (r->cls != cls || !ref_match(addr, r->prefix, r->len))
        continue;
      level = (r->len + 3) / 4;
    }
    levels[level] = (int) r->action;
    if (r->all) {
      for (l = level + 1; l < 33; l++)
        levels[l] = -1;
    }
  }
  for (l = 32; l >= 0; l--) {
    if (levels[l] >= 0)
      return (ACL_Action) levels[l];
  }
  return ACL_DENY;
}

static void random_bytes(uint8_t *b, int n)
{
  int i;

  for (i = 0; i < n; i++)
    b[i] = (uint8_t) rnd();
}

static void mapped(uint8_t a[16], const uint8_t v4[4])
{
  memset(a, 0, 10);
  a[10] = a[11] = 0xff;
  memcpy(a + 12, v4, 4);
}

/* A few anchors per set, so that the random rules and addresses overlap a lot */
typedef struct {
  uint8_t v4[4][4];
  uint8_t v6[4][16];
} Anchors;

/* a copy of `a` with its bits from `from` on (of `total`) randomised */
static void perturb(uint8_t *a, int total, int from)
{
  int i;

  for (i = from; i < total; i++) {
    if (rnd() & 1)
      a[i / 8] ^= (uint8_t) (0x80 >> (i % 8));
  }
}

static void random_rule(const Anchors *an, RefRule *r)
{
  unsigned kind = rnd_below(100);
  char addr[INET6_ADDRSTRLEN];
  uint8_t v4[4], v6[16];
  int len;

  r->action = rnd() & 1 ? ACL_ALLOW : ACL_DENY;
  r->all = rnd_below(4) == 0;
  if (kind < 4) {
    r->cls = BOTH;
    r->text[0] = '\0';
    r->len = 0;
  } else if (kind < 64) {
    /* IPv4, host bits random too (the table must ignore them) */
    len = (int) rnd_below(33);
    memcpy(v4, an->v4[rnd_below(4)], 4);
    perturb(v4, 32, (int) rnd_below(33));
    inet_ntop(AF_INET, v4, addr, sizeof(addr));
    snprintf(r->text, sizeof(r->text), "%s/%d", addr, len);
    r->cls = CLASS4;
    mapped(r->prefix, v4);
    r->len = 96 + len;
  } else if (kind < 72) {
    /* IPv4 written as a mapped IPv6 subnet */
    len = (int) rnd_below(33);
    memcpy(v4, an->v4[rnd_below(4)], 4);
    perturb(v4, 32, (int) rnd_below(33));
    mapped(v6, v4);
    inet_ntop(AF_INET6, v6, addr, sizeof(addr));
    snprintf(r->text, sizeof(r->text), "%s/%d", addr, 96 + len);
    r->cls = CLASS4;
    memcpy(r->prefix, v6, 16);
    r->len = 96 + len;
  } else {
    len = (int) rnd_below(129);
    memcpy(v6, an->v6[rnd_below(4)], 16);
    perturb(v6, 128, (int) rnd_below(129));
    inet_ntop(AF_INET6, v6, addr, sizeof(addr));
    snprintf(r->text, sizeof(r->text), "%s/%d", addr, len);
    r->cls = CLASS6;
    memcpy(r->prefix, v6, 16);
    r->len = len;
  }
}

/* An address near a rule of the set (or an anchor), in one of the classes */
static void random_address(const Anchors *an, const RefRule *rules, int n, int *cls,
                           uint8_t a[16])
{
  const RefRule *r = &rules[rnd_below((unsigned) n)];
  int from;

  if (r->cls != BOTH && rnd_below(3) != 0) {
    /* inside the rule's subnet, or just outside it */
    memcpy(a, r->prefix, 16);
    from = r->len;
    if (from > (r->cls == CLASS4 ? 96 : 0) && rnd_below(4) == 0)
      from--;
    perturb(a, 128, from);
    *cls = r->cls;
  } else if (rnd() & 1) {
    uint8_t v4[4];

    memcpy(v4, an->v4[rnd_below(4)], 4);
    perturb(v4, 32, (int) rnd_below(33));
    mapped(a, v4);
    *cls = CLASS4;
  } else {
    memcpy(a, an->v6[rnd_below(4)], 16);
    perturb(a, 128, (int) rnd_below(129));
    *cls = CLASS6;
  }
  /* an IPv6 address that happens to be mapped is IPv4 to the table too */
  if (*cls == CLASS6 && a[10] == 0xff && a[11] == 0xff && !memcmp(a, "\0\0\0\0\0\0\0\0\0", 10))
    *cls = CLASS4;
}

static ACL_Action table_check(const ACL_Table *t, int cls, const uint8_t a[16])
{
  struct sockaddr_storage ss;

  memset(&ss, 0, sizeof(ss));
  if (cls == CLASS4 && rnd() & 1) {
    struct sockaddr_in *in = (struct sockaddr_in *) &ss;

    in->sin_family = AF_INET;
    memcpy(&in->sin_addr, a + 12, 4);
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;

    in6->sin6_family = AF_INET6;
    memcpy(&in6->sin6_addr, a, 16);
  }
  return ACL_Check(t, (const struct sockaddr *) &ss);
}

#define SETS            200
#define MAX_RULES       40
#define LOOKUPS_PER_SET 500

static void test_random_cross_check(void)
{
  RefRule rules[MAX_RULES];
  long lookups = 0, mismatches = 0, allowed = 0;
  int set, i;

  for (set = 0; set < SETS; set++) {
    int n = 1 + (int) rnd_below(MAX_RULES);
    ACL_Table *t = ACL_Create();
    Anchors an;

    for (i = 0; i < 4; i++) {
      random_bytes(an.v4[i], 4);
      random_bytes(an.v6[i], 16);
      /* keep the IPv6 anchors out of the mapped range */
      an.v6[i][0] |= 0x20;
    }
    for (i = 0; i < n; i++) {
      random_rule(&an, &rules[i]);
      if (ACL_AddRule(t, rules[i].action, rules[i].all,
                      rules[i].text[0] ? rules[i].text : NULL) != 0) {
        TEST_CHECKF(0, "rule %s rejected", rules[i].text);
        rules[i].cls = -1; /* never matches */
        rules[i].all = 0;
      }
    }
    for (i = 0; i < LOOKUPS_PER_SET; i++) {
      uint8_t a[16];
      int cls;
      ACL_Action want, got;

      random_address(&an, rules, n, &cls, a);
      want = ref_check(rules, n, cls, a);
      got = table_check(t, cls, a);
      lookups++;
      allowed += want == ACL_ALLOW;
      if (want != got && mismatches++ < 5) {
        char text[INET6_ADDRSTRLEN];
        int j;

        inet_ntop(AF_INET6, a, text, sizeof(text));
        fprintf(stderr, "set %d: %s: want %d got %d; rules:\n", set, text, want, got);
        for (j = 0; j < n; j++)
          fprintf(stderr, "  %s%s %s\n", rules[j].action == ACL_ALLOW ? "allow" : "deny",
                  rules[j].all ? " all" : "", rules[j].text);
      }
    }
    ACL_Destroy(t);
  }
  TEST_CHECKF(mismatches == 0, "%ld of %ld lookups differ from the reference", mismatches,
              lookups);
  /* the sets must exercise both answers, not only the default */
  TEST_CHECKF(allowed > lookups / 5 && allowed < lookups * 4 / 5, "%ld of %ld allowed",
              allowed, lookups);
  fprintf(stderr, "cross-check: %ld lookups over %d rule sets, %ld allowed\n", lookups, SETS,
          allowed);
}

/* Figures only (the perf/ benchmarks own the numbers): a 1000-rule table */
static void report_speed(void)
{
  ACL_Table *t = ACL_Create();
  struct sockaddr_in in;
  struct timespec t0, t1;
  char text[64];
  long i, hits = 0;
  const long n = 2000000;

  for (i = 0; i < 1000; i++) {
    snprintf(text, sizeof(text), "10.%ld.%ld.0/%d", i / 256, i % 256, 20 + (int) (i % 13));
    TEST_CHECK(ACL_AddRule(t, i % 3 ? ACL_ALLOW : ACL_DENY, 0, text) == 0);
  }
  memset(&in, 0, sizeof(in));
  in.sin_family = AF_INET;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (i = 0; i < n; i++) {
    in.sin_addr.s_addr = htonl(0x0a000000U | ((uint32_t) (i * 2654435761U) & 0x3ffff));
    hits += ACL_Check(t, (const struct sockaddr *) &in) == ACL_ALLOW;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  fprintf(stderr, "1000 IPv4 rules: %.1f ns per lookup (%ld allowed)\n",
          ((double) (t1.tv_sec - t0.tv_sec) * 1e9 + (double) (t1.tv_nsec - t0.tv_nsec)) / n,
          hits);
  ACL_Destroy(t);
}

int main(void)
{
  test_default_deny();
  test_doc_forms();
  test_doc_specificity();
  test_doc_all();
  test_same_subnet();
  test_nibble_levels();
  test_mapped_and_v6();
  test_bad_rules();
  test_host_name();
  test_random_cross_check();
  report_speed();
  TEST_EXIT();
}
