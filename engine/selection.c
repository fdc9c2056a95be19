/* selection.c - intersection of correctness intervals, falsetickers, combining. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/selection.h"

void SEL_DefaultOptions(SEL_Options *opts)
{
  opts->min_sources = 1;
  opts->max_distance = 3.0;
  opts->combine_limit = 3.0;
}

typedef struct {
  double at;
  int kind; /* -1: an interval starts, +1: one ends (starts sort first at equal points) */
} Edge;

static int compare_edges(const void *a, const void *b)
{
  const Edge *x = a, *y = b;

  if (x->at != y->at)
    return x->at < y->at ? -1 : 1;
  return x->kind - y->kind;
}

/* The interval covered by the most of the usable sources' intervals (the first such,
   scanning upwards) within [clip_low, clip_high]; returns how many cover it. */
static int best_intersection(const SEL_Source *s, const SEL_State *states, int n,
                             double clip_low, double clip_high, double *low, double *high)
{
  Edge *e = malloc(sizeof(*e) * 2 * (size_t) (n > 0 ? n : 1));
  int i, m = 0, depth = 0, best = 0;

  if (!e)
    return 0;
  for (i = 0; i < n; i++) {
    double lo = fmax(s[i].offset - s[i].distance, clip_low);
    double hi = fmin(s[i].offset + s[i].distance, clip_high);

    if (states[i] == SEL_UNUSABLE || lo > hi)
      continue;
    e[m].at = lo;
    e[m++].kind = -1;
    e[m].at = hi;
    e[m++].kind = 1;
  }
  qsort(e, (size_t) m, sizeof(*e), compare_edges);
  for (i = 0; i < m; i++) {
    if (e[i].kind < 0) {
      depth++;
      if (depth > best) {
        best = depth;
        *low = e[i].at;
        *high = e[i + 1].at; /* the next edge closes the deepest stretch */
      }
    } else {
      depth--;
    }
  }
  free(e);
  return best;
}

SEL_Status SEL_Select(const SEL_Source *s, int n, const SEL_Options *opts, SEL_State *states,
                      SEL_Result *result)
{
  double low = 0.0, high = 0.0, wsum = 0.0, osum = 0.0;
  int i, usable = 0, agree, best = -1, any_require = 0, require_ok = 0, any_prefer = 0;

  memset(result, 0, sizeof(*result));
  result->selected = -1;

  for (i = 0; i < n; i++) {
    int ok = !s[i].noselect && s[i].distance >= 0.0 && s[i].distance <= opts->max_distance &&
             isfinite(s[i].offset);

    states[i] = ok ? SEL_FALSETICKER : SEL_UNUSABLE;
    usable += ok;
  }
  if (usable == 0 || usable < opts->min_sources)
    return result->status = SEL_NO_SOURCES;

  agree = best_intersection(s, states, n, -INFINITY, INFINITY, &low, &high);

  /* no majority: a trusted source is assumed correct, so the best agreement inside its
     interval decides (the camp it belongs to) */
  if (2 * agree <= usable) {
    int found = 0;

    for (i = 0; i < n; i++) {
      double lo, hi;
      int k;

      if (states[i] == SEL_UNUSABLE || !s[i].trust)
        continue;
      k = best_intersection(s, states, n, s[i].offset - s[i].distance,
                            s[i].offset + s[i].distance, &lo, &hi);
      if (!found || k > agree) {
        agree = k;
        low = lo;
        high = hi;
        found = 1;
      }
    }
    if (!found) {
      result->n_agree = agree;
      return result->status = SEL_NO_MAJORITY;
    }
  }
  result->n_agree = agree;
  result->low = low;
  result->high = high;

  for (i = 0; i < n; i++) {
    if (states[i] == SEL_UNUSABLE)
      continue;
    if (s[i].offset - s[i].distance > high || s[i].offset + s[i].distance < low)
      continue; /* stays a falseticker */
    states[i] = SEL_NOT_COMBINED;
    require_ok |= s[i].require;
    any_prefer |= s[i].prefer;
  }
  for (i = 0; i < n; i++)
    any_require |= s[i].require && states[i] != SEL_UNUSABLE;
  if (any_require && !require_ok)
    return result->status = SEL_NO_REQUIRED;

  /* the best truechimer: the smallest distance, among the preferred ones if any agree */
  for (i = 0; i < n; i++) {
    if (states[i] != SEL_NOT_COMBINED || (any_prefer && !s[i].prefer))
      continue;
    if (best < 0 || s[i].distance < s[best].distance)
      best = i;
  }
  if (best < 0 || agree < opts->min_sources)
    return result->status = SEL_NO_SOURCES;

  /* combine the truechimers not much worse than the best, weighted by 1 / distance */
  for (i = 0; i < n; i++) {
    double w;

    if (states[i] != SEL_NOT_COMBINED || (any_prefer && !s[i].prefer))
      continue;
    if (s[i].distance > opts->combine_limit * s[best].distance && i != best)
      continue;
    w = 1.0 / (s[i].distance > 1e-9 ? s[i].distance : 1e-9);
    wsum += w;
    osum += w * s[i].offset;
    states[i] = SEL_COMBINED;
  }
  states[best] = SEL_SELECTED;
  result->selected = best;
  result->offset = osum / wsum;
  result->distance = s[best].distance;
  return result->status = SEL_OK;
}
