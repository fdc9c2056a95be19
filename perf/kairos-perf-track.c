/* kairos-perf-track.c - outstanding requests (see kairos-perf-track.h). The slot of a
   request is chosen by its random key, so the key stays uniformly random: a draw that
   lands on a busy slot is simply redrawn. */
#include "perf/kairos-perf-track.h"

#include <errno.h>
#include <stdlib.h>

#define LOAD(x)     atomic_load_explicit(&(x), memory_order_relaxed)
#define STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)

static uint64_t pack(PTK_Meta m)
{
  return (uint64_t) m.client | (uint64_t) m.step << 32 | (uint64_t) m.sock << 48 |
         (uint64_t) m.state << 56;
}

static PTK_Meta unpack(uint64_t v)
{
  PTK_Meta m;

  m.client = (uint32_t) v;
  m.step = (uint16_t) (v >> 32);
  m.sock = (uint8_t) (v >> 48);
  m.state = (uint8_t) (v >> 56);
  return m;
}

int PTK_Init(PTK_Table *t, double outstanding, uint64_t timeout_ns)
{
  unsigned int bits = 16;

  while (bits < 22 && (double) ((uint64_t) 1 << bits) < 2.0 * outstanding)
    bits++;
  /* calloc: the pages of a large table are only touched as they are used */
  t->slots = calloc((size_t) 1 << bits, sizeof(PTK_Slot));
  if (!t->slots)
    return -ENOMEM;
  t->mask = ((uint64_t) 1 << bits) - 1;
  t->timeout_ns = timeout_ns;
  return 0;
}

void PTK_Finalise(PTK_Table *t)
{
  free(t->slots);
  t->slots = NULL;
}

PTK_Slot *PTK_Insert(PTK_Table *t, uint64_t key, PTK_Meta m, uint64_t now_ns)
{
  PTK_Slot *s = &t->slots[key & t->mask];
  PTK_Meta old = unpack(LOAD(s->meta));

  if (old.state == PTK_PENDING && now_ns - LOAD(s->sent_ns) < t->timeout_ns)
    return NULL;

  /* Seqlock write with the key as the sequence: readers that saw the old key notice the
     change when they load it again after reading the fields. */
  STORE(s->key, 0);
  atomic_thread_fence(memory_order_release);
  m.state = PTK_PENDING;
  STORE(s->meta, pack(m));
  STORE(s->sent_ns, now_ns);
  STORE(s->tx_ns, 0);
  atomic_store_explicit(&s->key, key, memory_order_release);
  return s;
}

void PTK_Release(PTK_Slot *s)
{
  PTK_Meta m = unpack(LOAD(s->meta));

  m.state = PTK_FREE;
  STORE(s->meta, pack(m));
}

PTK_Slot *PTK_Find(PTK_Table *t, uint64_t key, PTK_Meta *m, uint64_t *sent_ns, uint64_t *tx_ns)
{
  PTK_Slot *s = &t->slots[key & t->mask];
  uint64_t meta;

  if (key == 0 || atomic_load_explicit(&s->key, memory_order_acquire) != key)
    return NULL;
  meta = LOAD(s->meta);
  *sent_ns = LOAD(s->sent_ns);
  *tx_ns = LOAD(s->tx_ns);
  atomic_thread_fence(memory_order_acquire);
  if (LOAD(s->key) != key)
    return NULL;
  *m = unpack(meta);
  if (m->state == PTK_FREE)
    return NULL;
  return s;
}

int PTK_Answer(PTK_Slot *s, uint64_t key)
{
  uint64_t v = LOAD(s->meta);
  PTK_Meta m;

  for (;;) {
    m = unpack(v);
    if (m.state == PTK_ANSWERED)
      return LOAD(s->key) == key ? 0 : -1;
    if (m.state != PTK_PENDING)
      return -1;
    m.state = PTK_ANSWERED;
    if (atomic_compare_exchange_weak_explicit(&s->meta, &v, pack(m), memory_order_relaxed,
                                              memory_order_relaxed))
      break;
  }
  return LOAD(s->key) == key ? 1 : -1;
}

void PTK_SetTx(PTK_Table *t, uint64_t key, uint64_t tx_ns)
{
  PTK_Slot *s = &t->slots[key & t->mask];

  if (key != 0 && atomic_load_explicit(&s->key, memory_order_acquire) == key)
    STORE(s->tx_ns, tx_ns);
}
