/* fastrand.h - cheap random bits for the server's request path: timestamp noise below the
   clock precision and rate-limit leak decisions, never secrets. xoshiro256** seeded from
   getrandom(2), reseeded every FRD_RESEED_INTERVAL outputs. The state belongs to one
   thread (a worker's own struct): no locks, no globals, not safe to share. */
#ifndef KAIROS_FASTRAND_H
#define KAIROS_FASTRAND_H

#include <stdint.h>

/* 64-bit outputs between reseeds (about 16.8 million: one getrandom call per few seconds
   at full load, nothing measurable per request). */
#define FRD_RESEED_INTERVAL (1U << 24)

typedef struct {
  uint64_t s[4];  /* xoshiro256** state, never all zero */
  uint64_t spare; /* the unused upper half of the last 64-bit output */
  uint32_t has_spare;
  uint32_t left; /* 64-bit outputs until the next reseed */
} FRD_State;

/* Seed from getrandom(2). Returns 0, or a negative errno when getrandom failed and the
   state was seeded from the clocks and addresses instead (good enough for noise, and
   the next reseed tries getrandom again). */
int FRD_Init(FRD_State *st);

uint64_t FRD_Next64(FRD_State *st);

/* Hands out both halves of one 64-bit output before drawing the next. */
uint32_t FRD_Next32(FRD_State *st);

#endif
