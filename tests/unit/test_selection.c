/* test_selection.c - falsetickers, majorities, minsources, maxdistance, prefer, trust,
   require and combining. */
#include <math.h>
#include <string.h>

#include "engine/selection.h"
#include "test.h"

static SEL_Source src(double offset, double distance)
{
  SEL_Source s;

  memset(&s, 0, sizeof(s));
  s.offset = offset;
  s.distance = distance;
  return s;
}

static void test_falsetickers(void)
{
  SEL_Options o;
  SEL_Result r;
  SEL_State st[5];
  SEL_Source s[5];

  SEL_DefaultOptions(&o);
  /* five sources around +1 ms, one of them 50 ms wrong */
  s[0] = src(0.0010, 0.002);
  s[1] = src(0.0012, 0.003);
  s[2] = src(0.0508, 0.002);
  s[3] = src(0.0009, 0.004);
  s[4] = src(0.0011, 0.001);
  TEST_CHECK(SEL_Select(s, 5, &o, st, &r) == SEL_OK);
  TEST_CHECK(st[2] == SEL_FALSETICKER);
  TEST_CHECKF(r.selected == 4 && st[4] == SEL_SELECTED, "selected %d", r.selected);
  TEST_CHECK(r.n_agree == 4 && r.low <= 0.0010 && r.high >= 0.0010);
  TEST_CHECKF(fabs(r.offset - 0.00105) < 2e-4, "combined %g", r.offset);

  /* two of five wrong (and disagreeing with each other): still a majority of three */
  s[1] = src(-0.080, 0.002);
  TEST_CHECK(SEL_Select(s, 5, &o, st, &r) == SEL_OK);
  TEST_CHECK(st[1] == SEL_FALSETICKER && st[2] == SEL_FALSETICKER);
  TEST_CHECK(r.n_agree == 3);

  /* three of five wrong, in two camps of 2 and 1 beside the 2 right: no majority */
  s[0] = src(0.300, 0.002);
  s[2] = src(0.301, 0.002);
  TEST_CHECK(SEL_Select(s, 5, &o, st, &r) == SEL_NO_MAJORITY);
  TEST_CHECK(r.selected == -1);

  /* three of five wrong and agreeing: they are the majority (chrony would follow them) */
  s[1] = src(0.302, 0.002);
  TEST_CHECK(SEL_Select(s, 5, &o, st, &r) == SEL_OK);
  TEST_CHECK(st[3] == SEL_FALSETICKER && st[4] == SEL_FALSETICKER);
}

static void test_minsources_maxdistance(void)
{
  SEL_Options o;
  SEL_Result r;
  SEL_State st[3];
  SEL_Source s[3] = { src(0.001, 0.01), src(0.0011, 0.01), src(0.0009, 5.0) };

  SEL_DefaultOptions(&o);
  TEST_CHECK(SEL_Select(s, 3, &o, st, &r) == SEL_OK);
  TEST_CHECK(st[2] == SEL_UNUSABLE); /* 5 s of root distance > maxdistance 3 */
  o.min_sources = 3;
  TEST_CHECK(SEL_Select(s, 3, &o, st, &r) == SEL_NO_SOURCES);
  o.min_sources = 2;
  TEST_CHECK(SEL_Select(s, 3, &o, st, &r) == SEL_OK);
  s[1].noselect = 1;
  TEST_CHECK(SEL_Select(s, 3, &o, st, &r) == SEL_NO_SOURCES && st[1] == SEL_UNUSABLE);
  TEST_CHECK(SEL_Select(s, 0, &o, st, &r) == SEL_NO_SOURCES);
}

static void test_prefer_trust_require_combine(void)
{
  SEL_Options o;
  SEL_Result r;
  SEL_State st[4];
  SEL_Source s[4];

  SEL_DefaultOptions(&o);
  s[0] = src(0.0010, 0.001);
  s[1] = src(0.0012, 0.002);
  s[2] = src(0.0011, 0.010); /* agrees, but more than combinelimit x the best's distance */
  s[3] = src(0.0013, 0.002);
  TEST_CHECK(SEL_Select(s, 4, &o, st, &r) == SEL_OK);
  TEST_CHECK(r.selected == 0 && st[2] == SEL_NOT_COMBINED && st[1] == SEL_COMBINED);

  /* prefer: the preferred truechimer is selected even with a larger distance */
  s[3].prefer = 1;
  TEST_CHECK(SEL_Select(s, 4, &o, st, &r) == SEL_OK);
  TEST_CHECK(r.selected == 3 && r.offset == s[3].offset);
  s[3].prefer = 0;

  /* trust: two camps of two; the one with the trusted source wins */
  s[0] = src(0.0010, 0.001);
  s[1] = src(0.0011, 0.001);
  s[2] = src(0.2000, 0.001);
  s[3] = src(0.2001, 0.001);
  TEST_CHECK(SEL_Select(s, 4, &o, st, &r) == SEL_NO_MAJORITY);
  s[2].trust = 1;
  TEST_CHECK(SEL_Select(s, 4, &o, st, &r) == SEL_OK);
  TEST_CHECK(st[0] == SEL_FALSETICKER && (r.selected == 2 || r.selected == 3));

  /* require: a required source that is a falseticker blocks selection */
  s[2].trust = 0;
  s[3] = src(0.0012, 0.001);
  s[2].require = 1;
  TEST_CHECK(SEL_Select(s, 4, &o, st, &r) == SEL_NO_REQUIRED);
  s[0].require = 1;
  TEST_CHECK(SEL_Select(s, 4, &o, st, &r) == SEL_OK);
}

int main(void)
{
  test_falsetickers();
  test_minsources_maxdistance();
  test_prefer_trust_require_combine();
  TEST_EXIT();
}
