/* kairos-perf-track.h - the table of outstanding requests, keyed by the random transmit
   timestamp each request carries, so that a reply is matched through its origin timestamp
   in O(1) without allocation. Contract: one inserting thread (the sender) and one matching
   thread (the receiver), which may be the same thread; a slot is a small seqlock. */
#ifndef KAIROS_PERF_TRACK_H
#define KAIROS_PERF_TRACK_H

#include <stdatomic.h>
#include <stdint.h>

enum { PTK_FREE = 0, PTK_PENDING = 1, PTK_ANSWERED = 2 };

/* What a request was: client index, step of the run, socket index, state */
typedef struct {
  uint32_t client;
  uint16_t step;
  uint8_t sock;
  uint8_t state;
} PTK_Meta;

typedef struct {
  _Atomic uint64_t key;     /* the transmit timestamp as sent (nonzero) */
  _Atomic uint64_t meta;    /* PTK_Meta packed */
  _Atomic uint64_t sent_ns; /* user-space send time, CLOCK_REALTIME */
  _Atomic uint64_t tx_ns;   /* kernel TX timestamp, 0 until it arrives */
} PTK_Slot;

typedef struct {
  PTK_Slot *slots;
  uint64_t mask;
  uint64_t timeout_ns; /* a pending slot older than this may be reused */
} PTK_Table;

/* Room for about `outstanding` requests in flight at half load (2^16..2^22 slots).
   Returns 0 or -ENOMEM. */
int PTK_Init(PTK_Table *t, double outstanding, uint64_t timeout_ns);
void PTK_Finalise(PTK_Table *t);

/* Sender: claim the slot of `key` for a new request. Returns NULL when the slot holds a
   request still waiting for its reply: draw another key. */
PTK_Slot *PTK_Insert(PTK_Table *t, uint64_t key, PTK_Meta m, uint64_t now_ns);

/* Sender: the request of a claimed slot was not sent after all. */
void PTK_Release(PTK_Slot *s);

/* Receiver: the slot holding `key`, with a consistent copy of its fields, or NULL. */
PTK_Slot *PTK_Find(PTK_Table *t, uint64_t key, PTK_Meta *m, uint64_t *sent_ns,
                   uint64_t *tx_ns);

/* Receiver: mark a found request answered. Returns 1 the first time, 0 for a duplicate,
   -1 when the slot was reused meanwhile. */
int PTK_Answer(PTK_Slot *s, uint64_t key);

/* Receiver: record the kernel TX timestamp of the request with `key`. */
void PTK_SetTx(PTK_Table *t, uint64_t key, uint64_t tx_ns);

#endif
