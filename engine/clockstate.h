/* clockstate.h - the clock state the engine publishes for the server workers: what to put
   in a reply header, and the model that turns the system clock into the served NTP clock.
   Single writer (the engine thread calls CST_Publish), any number of readers on any thread
   (CST_Read never blocks and never takes a lock: a ck_sequence seqlock). */
#ifndef KAIROS_CLOCKSTATE_H
#define KAIROS_CLOCKSTATE_H

#include <stdint.h>
#include <time.h>

typedef struct {
  /* served time = system time + offset + freq * (system time - base) */
  struct timespec base;           /* system time at which `offset` applies */
  double offset;                  /* seconds */
  double freq;                    /* fractional frequency correction (1e-6 = 1 ppm) */
  struct timespec reference_time; /* when the clock was last updated (NTP reftime) */
  double root_delay;              /* seconds */
  double root_dispersion;         /* seconds, at reference_time */
  double dispersion_rate; /* seconds of dispersion added per second since reference_time */
  uint32_t refid;
  uint8_t leap;     /* NTP leap indicator: 0..2, 3 = unsynchronised */
  uint8_t stratum;  /* 1..15, 16 = unsynchronised */
  int8_t precision; /* log2 seconds */
  uint8_t synchronised;
  uint64_t generation; /* bumped by every CST_Publish */
} CST_State;

/* Publishes the state of an unsynchronised clock (leap 3, stratum 16, all else 0) with
   generation 0, which readers see until the first CST_Publish. */
void CST_Initialise(void);
void CST_Finalise(void);

/* Engine thread only. The published copy gets the next generation (1, 2, ...), whatever
   state->generation holds. */
void CST_Publish(const CST_State *state);

/* Any thread. Copies a consistent snapshot (retries while a publish is in progress). */
void CST_Read(CST_State *state);

/* Served time for a system time under a snapshot. Pure function. */
void CST_ServedTime(const CST_State *state, const struct timespec *system,
                    struct timespec *served);

#endif
