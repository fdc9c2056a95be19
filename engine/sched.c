/* sched.c - the engine thread's event loop: poll(2) over file handlers and one-shot timers
   on the monotonic clock read through CLK_ReadMono.

   Timers live in a binary min-heap keyed by (due time in ns, id); ids come from a 64-bit
   counter that only grows, so the id doubles as the FIFO sequence number for timers due at
   the same time and an id is never reused. Removal by id scans the heap: the engine has
   tens to hundreds of timers, and a scan of a contiguous array is cheaper than keeping an
   index in step with every heap swap.

   File handlers live in a small array; the pollfd array handed to poll() is rebuilt from it
   at the top of an iteration when it changed. Each registration gets a serial number copied
   next to its pollfd, so a handler removed (or removed and re-added on the same fd) during
   a dispatch round never gets the stale revents of that round.

   Quitting: SCH_QuitProgram only stores to a flag (async-signal-safe). A signal interrupts
   poll() with EINTR and the loop sees the flag; a signal that lands between the flag check
   and the entry into poll() is caught at the latest when poll() times out, and the timeout
   is capped at 1 s for that reason. The alternatives (ppoll with a signal mask, a
   self-pipe, signalfd) are not open to us: the LD_PRELOAD simulator must see plain poll()
   calls and nothing always-readable in the poll set. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/clock.h"
#include "engine/logging.h"
#include "engine/sched.h"

/* Longest poll() timeout: bounds how late a quit request that raced the poll() entry is
   noticed (see above). */
#define MAX_POLL_TIMEOUT_MS 1000

/* Delays are clamped here (about 146 years) so that due times never overflow. */
#define MAX_DELAY_NS (INT64_MAX / 2)

typedef struct {
  int64_t due_ns; /* monotonic */
  SCH_TimeoutID id;
  SCH_TimeoutHandler handler;
  void *arg;
} Timer;

typedef struct {
  int fd;
  short events;
  SCH_FileHandler handler;
  void *arg;
  uint64_t serial;
} FileHandler;

static Timer *timers;
static size_t n_timers, timers_cap;
static SCH_TimeoutID next_timer_id = 1;

static FileHandler *handlers;
static size_t n_handlers, handlers_cap;
static uint64_t next_serial = 1;

/* What the last poll() watched; rebuilt from `handlers` when `pollfds_dirty`. Kept with the
   same capacity as `handlers` so that a rebuild never allocates. */
static struct pollfd *pollfds;
static uint64_t *pollfd_serials;
static size_t n_pollfds;
static int pollfds_dirty;

static volatile sig_atomic_t quit_requested;
static SCH_LoopHook loop_hook;

/* ------------------------------------------------------------------------------------ */

static int64_t now_ns(void)
{
  struct timespec ts;

  CLK_ReadMono(&ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int timer_before(const Timer *a, const Timer *b)
{
  return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->id < b->id);
}

static void timer_swap(size_t i, size_t j)
{
  Timer t = timers[i];

  timers[i] = timers[j];
  timers[j] = t;
}

static void heap_sift_up(size_t i)
{
  while (i > 0) {
    size_t parent = (i - 1) / 2;

    if (!timer_before(&timers[i], &timers[parent]))
      break;
    timer_swap(i, parent);
    i = parent;
  }
}

static void heap_sift_down(size_t i)
{
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, min = i;

    if (l < n_timers && timer_before(&timers[l], &timers[min]))
      min = l;
    if (r < n_timers && timer_before(&timers[r], &timers[min]))
      min = r;
    if (min == i)
      break;
    timer_swap(i, min);
    i = min;
  }
}

static void heap_remove_at(size_t i)
{
  n_timers--;
  if (i == n_timers)
    return;
  timers[i] = timers[n_timers];
  /* the moved timer may belong above or below its new place */
  heap_sift_up(i);
  heap_sift_down(i);
}

static int64_t delay_to_ns(double delay)
{
  double ns;

  if (!(delay > 0.0)) /* negative delays and NaN mean "now" */
    return 0;
  /* To the nearest ns: the decimal delays callers use are not exact in binary (0.019 is
     19000000.000000004 ns), and rounding those up would push the poll() timeout, which is
     rounded up to whole ms, a full ms late. */
  ns = nearbyint(delay * 1e9);
  return ns >= (double) MAX_DELAY_NS ? MAX_DELAY_NS : (int64_t) ns;
}

/* ------------------------------------------------------------------------------------ */

void SCH_Initialise(void)
{
  __atomic_store_n(&quit_requested, 0, __ATOMIC_RELAXED);
}

void SCH_Finalise(void)
{
  loop_hook = NULL;
  free(timers);
  timers = NULL;
  n_timers = timers_cap = 0;
  free(handlers);
  handlers = NULL;
  n_handlers = handlers_cap = 0;
  free(pollfds);
  pollfds = NULL;
  free(pollfd_serials);
  pollfd_serials = NULL;
  n_pollfds = 0;
  pollfds_dirty = 0;
  __atomic_store_n(&quit_requested, 0, __ATOMIC_RELAXED);
  /* next_timer_id and next_serial keep counting: ids are never reused, even across a
     Finalise/Initialise cycle */
}

/* ------------------------------------------------------------------------------------ */

static FileHandler *find_handler(int fd)
{
  for (size_t i = 0; i < n_handlers; i++) {
    if (handlers[i].fd == fd)
      return &handlers[i];
  }
  return NULL;
}

/* Grow the handler, pollfd and serial arrays together. The pollfd arrays keep their
   contents (realloc): a dispatch round in progress reads them by index. */
static int grow_handlers(void)
{
  size_t cap = handlers_cap ? 2 * handlers_cap : 8;
  FileHandler *h;
  struct pollfd *p;
  uint64_t *s;

  h = realloc(handlers, cap * sizeof(*h));
  if (!h)
    return -ENOMEM;
  handlers = h;
  p = realloc(pollfds, cap * sizeof(*p));
  if (!p)
    return -ENOMEM;
  pollfds = p;
  s = realloc(pollfd_serials, cap * sizeof(*s));
  if (!s)
    return -ENOMEM;
  pollfd_serials = s;
  handlers_cap = cap;
  return 0;
}

int SCH_AddFileHandler(int fd, int events, SCH_FileHandler handler, void *arg)
{
  FileHandler *h;
  int r;

  if (fd < 0 || !handler)
    return -EINVAL;
  if (find_handler(fd))
    return -EEXIST;
  if (n_handlers == handlers_cap && (r = grow_handlers()) < 0)
    return r;

  h = &handlers[n_handlers++];
  h->fd = fd;
  h->events = (short) events;
  h->handler = handler;
  h->arg = arg;
  h->serial = next_serial++;
  pollfds_dirty = 1;
  return 0;
}

void SCH_SetFileHandlerEvents(int fd, int events)
{
  FileHandler *h = find_handler(fd);

  if (!h || h->events == (short) events)
    return;
  h->events = (short) events;
  pollfds_dirty = 1;
}

void SCH_RemoveFileHandler(int fd)
{
  FileHandler *h = find_handler(fd);

  if (!h)
    return;
  *h = handlers[--n_handlers];
  pollfds_dirty = 1;
}

static void rebuild_pollfds(void)
{
  for (size_t i = 0; i < n_handlers; i++) {
    pollfds[i].fd = handlers[i].fd;
    pollfds[i].events = handlers[i].events;
    pollfds[i].revents = 0;
    pollfd_serials[i] = handlers[i].serial;
  }
  n_pollfds = n_handlers;
  pollfds_dirty = 0;
}

/* Call the handlers of the fds poll() reported. Handlers may add and remove handlers: the
   pollfd arrays are read by index through the (possibly reallocated) pointers and are not
   rebuilt until the next iteration; a registration whose serial no longer matches is gone
   and its revents are stale. */
static void dispatch_file_handlers(void)
{
  for (size_t i = 0; i < n_pollfds; i++) {
    int fd = pollfds[i].fd, revents = pollfds[i].revents;
    uint64_t serial = pollfd_serials[i];
    FileHandler *h;

    if (!revents)
      continue;
    h = find_handler(fd);
    if (!h || h->serial != serial)
      continue;
    /* interest dropped by an earlier handler this round; errors are always reported */
    revents &= h->events | POLLERR | POLLHUP | POLLNVAL;
    if (!revents)
      continue;

    h->handler(fd, revents, h->arg);

    /* An fd closed without removing its handler would make every poll() return at once
       with POLLNVAL: drop the handler rather than spin. */
    if (revents & POLLNVAL) {
      h = find_handler(fd);
      if (h && h->serial == serial) {
        LOG(LOGS_ERR, "fd %d was closed with its handler still registered; removed", fd);
        SCH_RemoveFileHandler(fd);
      }
    }
  }
}

/* ------------------------------------------------------------------------------------ */

SCH_TimeoutID SCH_AddTimeout(double delay, SCH_TimeoutHandler handler, void *arg)
{
  Timer *t;

  if (!handler)
    return 0;
  if (n_timers == timers_cap) {
    size_t cap = timers_cap ? 2 * timers_cap : 16;

    t = realloc(timers, cap * sizeof(*t));
    if (!t)
      return 0;
    timers = t;
    timers_cap = cap;
  }

  t = &timers[n_timers];
  t->due_ns = now_ns() + delay_to_ns(delay);
  t->id = next_timer_id++;
  t->handler = handler;
  t->arg = arg;
  heap_sift_up(n_timers++);
  return next_timer_id - 1;
}

void SCH_RemoveTimeout(SCH_TimeoutID id)
{
  if (id == 0)
    return;
  for (size_t i = 0; i < n_timers; i++) {
    if (timers[i].id == id) {
      heap_remove_at(i);
      return;
    }
  }
}

/* Run the timers due at `now` that were added before this round (id < round_end). Each is
   taken off the heap before its handler runs, so a handler removing its own id does
   nothing. Timers added by handlers wait for the next iteration, after poll() has had a
   look at the fds: a timer that re-arms itself with delay 0 cannot starve them (the id
   bound matters when the clock stands still, as a simulated one may). */
static void run_due_timers(int64_t now)
{
  SCH_TimeoutID round_end = next_timer_id;

  while (n_timers > 0 && timers[0].due_ns <= now && timers[0].id < round_end) {
    Timer t = timers[0];

    heap_remove_at(0);
    t.handler(t.arg);
  }
}

static int poll_timeout_ms(int64_t now)
{
  int64_t wait_ns;

  if (n_timers == 0)
    return MAX_POLL_TIMEOUT_MS;
  wait_ns = timers[0].due_ns - now;
  if (wait_ns <= 0)
    return 0;
  /* round up, so poll() never returns before the timer is due; the cap also keeps the
     value within an int */
  if (wait_ns >= (int64_t) MAX_POLL_TIMEOUT_MS * 1000000)
    return MAX_POLL_TIMEOUT_MS;
  return (int) ((wait_ns + 999999) / 1000000);
}

static int quit_pending(void)
{
  return __atomic_load_n(&quit_requested, __ATOMIC_RELAXED);
}

int SCH_MainLoop(void)
{
  int r = 0;

  while (!quit_pending()) {
    int n;

    if (loop_hook)
      loop_hook();
    run_due_timers(now_ns());
    if (quit_pending())
      break;

    if (pollfds_dirty)
      rebuild_pollfds();
    /* The quit flag was checked above; a signal arriving from here until poll() blocks is
       noticed when poll() times out, at most MAX_POLL_TIMEOUT_MS later. */
    n = poll(pollfds, n_pollfds, poll_timeout_ms(now_ns()));
    if (n < 0) {
      if (errno == EINTR)
        continue; /* a signal: its handler may have asked us to quit */
      r = -errno;
      LOG(LOGS_ERR, "poll() failed: %s", strerror(errno));
      break;
    }
    if (n > 0)
      dispatch_file_handlers();
  }

  /* the request is consumed: a later SCH_MainLoop runs until asked again */
  __atomic_store_n(&quit_requested, 0, __ATOMIC_RELAXED);
  return r;
}

void SCH_SetLoopHook(SCH_LoopHook hook)
{
  loop_hook = hook;
}

void SCH_QuitProgram(void)
{
  /* A lock-free atomic store to a sig_atomic_t is async-signal-safe, and it also makes the
     flag safe to set from another thread (tests do). */
  __atomic_store_n(&quit_requested, 1, __ATOMIC_RELAXED);
}
