/* selection.h - choosing which sources to trust: the intersection of the sources'
   correctness intervals (offset ± root distance) that the most of them share, the sources
   outside it marked falsetickers, a majority required, and the survivors combined into one
   offset weighted by their distances. Pure function: any thread (the engine calls it). */
#ifndef KAIROS_SELECTION_H
#define KAIROS_SELECTION_H

typedef struct {
  double offset;   /* source minus our clock, seconds */
  double distance; /* root distance: half width of the interval the true time is in */
  int noselect;    /* never selected (chrony's noselect) */
  int prefer;      /* chrony's prefer */
  int trust;       /* chrony's trust: assumed correct when the others disagree with it */
  int require;     /* chrony's require: no selection unless one such source agrees */
} SEL_Source;

typedef struct {
  int min_sources;      /* chrony's minsources (default 1) */
  double max_distance;  /* chrony's maxdistance (default 3 s): farther sources are unusable */
  double combine_limit; /* chrony's combinelimit (default 3) */
} SEL_Options;

typedef enum {
  SEL_UNUSABLE,     /* noselect, or distance over max_distance */
  SEL_FALSETICKER,  /* outside the agreed interval */
  SEL_NOT_COMBINED, /* a truechimer too far from the best to be combined */
  SEL_COMBINED,     /* used in the combined offset */
  SEL_SELECTED,     /* the best source (the reference) */
} SEL_State;

typedef enum {
  SEL_OK,
  SEL_NO_SOURCES,  /* fewer usable sources than min_sources */
  SEL_NO_MAJORITY, /* no interval shared by more than half of the usable sources */
  SEL_NO_REQUIRED, /* require sources exist and none is a truechimer */
} SEL_Status;

typedef struct {
  SEL_Status status;
  int selected;     /* index of the best source, -1 if none */
  int n_agree;      /* sources sharing the agreed interval */
  double low, high; /* the agreed interval */
  double offset;    /* combined offset of the combined and selected sources */
  double distance;  /* the selected source's distance */
} SEL_Result;

void SEL_DefaultOptions(SEL_Options *opts);

/* states[i] receives each source's SEL_State. Returns result->status. */
SEL_Status SEL_Select(const SEL_Source *sources, int n, const SEL_Options *opts,
                      SEL_State *states, SEL_Result *result);

#endif
