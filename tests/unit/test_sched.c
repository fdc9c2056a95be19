/* test_sched.c - the event loop: timer order and FIFO, never early, removal, handlers
   changing timers and fds during dispatch, pipes, quitting from a handler, from a signal
   and from another thread.
   sched.c is included with poll() replaced by fake_poll(), which passes through to poll()
   or, in simulated mode, advances a fake monotonic clock by the timeout instead of
   waiting, so timeouts and the absence of spinning can be checked exactly. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fake_poll(struct pollfd *fds, nfds_t n, int timeout);
#define poll(fds, n, timeout) fake_poll(fds, n, timeout)
#include "engine/sched.c"
#undef poll

#include "engine/clock.h"
#include "test.h"

/* ---- fake clock and poll ---------------------------------------------------------- */

static int simulate; /* fake_poll advances fake_mono instead of waiting */
static int early_ms; /* in simulation, return this many ms before the timeout */
static int poll_calls;
static int last_timeout;
static struct timespec fake_mono;

static void read_fake_real(struct timespec *ts)
{
  ts->tv_sec = 1700000000 + fake_mono.tv_sec;
  ts->tv_nsec = fake_mono.tv_nsec;
}

static void read_fake_mono(struct timespec *ts)
{
  *ts = fake_mono;
}

static int64_t fake_ns(void)
{
  return (int64_t) fake_mono.tv_sec * 1000000000 + fake_mono.tv_nsec;
}

static void fake_advance_ns(int64_t ns)
{
  ns += fake_ns();
  fake_mono.tv_sec = ns / 1000000000;
  fake_mono.tv_nsec = ns % 1000000000;
}

static int fake_poll(struct pollfd *fds, nfds_t n, int timeout)
{
  poll_calls++;
  last_timeout = timeout;
  if (!simulate)
    return poll(fds, n, timeout);
  TEST_CHECK(timeout >= 0);
  fake_advance_ns((int64_t) (timeout > early_ms ? timeout - early_ms : timeout) * 1000000);
  return 0;
}

static void use_fake_clock(void)
{
  simulate = 1;
  early_ms = 0;
  poll_calls = 0;
  fake_mono = (struct timespec){ 1000, 0 };
  CLK_VirtualSetBase(read_fake_real, read_fake_mono);
  CLK_Initialise(CLK_VirtualDriver());
}

static void use_real_clock(void)
{
  simulate = 0;
  CLK_VirtualSetBase(NULL, NULL);
  CLK_Initialise(CLK_LinuxDriver());
}

static int64_t real_mono_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- a log of what ran ------------------------------------------------------------- */

#define MAX_FIRED 64

static int fired[MAX_FIRED], n_fired;
static int64_t fired_at[MAX_FIRED]; /* fake or real monotonic ns */

static void record(int tag)
{
  if (n_fired < MAX_FIRED) {
    fired[n_fired] = tag;
    fired_at[n_fired] = simulate ? fake_ns() : real_mono_ns();
    n_fired++;
  }
}

static void reset_log(void)
{
  n_fired = 0;
}

static void record_timer(void *arg)
{
  record((int) (intptr_t) arg);
}

static void quit_timer(void *arg)
{
  (void) arg;
  record(-1);
  SCH_QuitProgram();
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_order_and_fifo(void)
{
  static const double delays[] = { 0.003, 0.001, 0.002, 0.001, 0.0, 0.001, 0.002, 0.0 };
  static const int want[] = { 4, 7, 1, 3, 5, 2, 6, 0, -1 };
  SCH_TimeoutID ids[8], prev = 0;

  SCH_Initialise();
  use_fake_clock();
  reset_log();
  /* the fake clock stands still while they are added: equal delays are equal due times */
  for (int i = 0; i < 8; i++) {
    ids[i] = SCH_AddTimeout(delays[i], record_timer, (void *) (intptr_t) i);
    TEST_CHECK(ids[i] > prev); /* non-zero, increasing */
    prev = ids[i];
  }
  SCH_AddTimeout(0.003, quit_timer, NULL);

  TEST_CHECK(SCH_MainLoop() == 0);
  TEST_CHECKF(n_fired == 9, "%d fired", n_fired);
  for (int i = 0; i < 9 && i < n_fired; i++)
    TEST_CHECKF(fired[i] == want[i], "position %d: timer %d, want %d", i, fired[i], want[i]);
  /* none early, and each at its due time exactly: the simulated poll never returns early */
  for (int i = 0; i < n_fired; i++) {
    int tag = fired[i];
    int64_t due = 1000000000000 + (int64_t) ((tag < 0 ? 0.003 : delays[tag]) * 1e9 + 0.5);

    TEST_CHECKF(fired_at[i] == due, "timer %d at %lld, due %lld", tag, (long long) fired_at[i],
                (long long) due);
  }
  /* delay 0 timers ran without poll; the others took one poll per distinct due time */
  TEST_CHECKF(poll_calls == 3, "%d poll calls", poll_calls);
  SCH_Finalise();
}

static void test_poll_timeouts(void)
{
  int64_t start;

  SCH_Initialise();
  use_fake_clock();
  reset_log();

  /* sub-ms delays round up, never down: 1.5 ms polls 2 ms; 1 ns polls 1 ms */
  start = fake_ns();
  SCH_AddTimeout(0.0015, quit_timer, NULL);
  SCH_MainLoop();
  TEST_CHECKF(poll_calls == 1 && last_timeout == 2, "%d polls, last timeout %d", poll_calls,
              last_timeout);
  TEST_CHECK(n_fired == 1 && fired_at[0] - start == 2000000);

  poll_calls = 0;
  reset_log();
  start = fake_ns();
  SCH_AddTimeout(1e-9, quit_timer, NULL);
  SCH_MainLoop();
  TEST_CHECKF(poll_calls == 1 && last_timeout == 1, "%d polls, last timeout %d", poll_calls,
              last_timeout);
  TEST_CHECK(n_fired == 1 && fired_at[0] - start == 1000000);

  /* a far timer: poll is capped at 1 s, so 5.5 s takes 6 polls, the last one 500 ms */
  poll_calls = 0;
  reset_log();
  start = fake_ns();
  SCH_AddTimeout(5.5, quit_timer, NULL);
  SCH_MainLoop();
  TEST_CHECKF(poll_calls == 6 && last_timeout == 500, "%d polls, last timeout %d", poll_calls,
              last_timeout);
  TEST_CHECK(n_fired == 1 && fired_at[0] - start == 5500000000);

  /* a poll that returns early (as a simulator's may) does not fire the timer early, and
     the loop does not spin: it polls again for what is left */
  poll_calls = 0;
  reset_log();
  early_ms = 1;
  start = fake_ns();
  SCH_AddTimeout(0.0100001, quit_timer, NULL);
  SCH_MainLoop();
  TEST_CHECK(n_fired == 1 && fired_at[0] - start >= 10000100);
  TEST_CHECKF(poll_calls <= 11, "%d polls for one timer", poll_calls);
  fprintf(stderr, "early-returning poll: timer 10.0001 ms fired after %.4f ms, %d polls\n",
          (fired_at[0] - start) / 1e6, poll_calls);
  early_ms = 0;

  /* huge, negative and NaN delays */
  poll_calls = 0;
  reset_log();
  SCH_TimeoutID far = SCH_AddTimeout(1e30, record_timer, (void *) 1);
  TEST_CHECK(far != 0);
  SCH_AddTimeout(-1.0, record_timer, (void *) 2);
  SCH_AddTimeout(NAN, quit_timer, NULL);
  SCH_MainLoop();
  TEST_CHECK(n_fired == 2 && fired[0] == 2 && fired[1] == -1);
  TEST_CHECK(poll_calls == 0);
  SCH_RemoveTimeout(far);
  TEST_CHECK(n_timers == 0);
  TEST_CHECK(SCH_AddTimeout(1.0, NULL, NULL) == 0);
  SCH_Finalise();
}

static void test_removal(void)
{
  SCH_TimeoutID a, b, c, d;

  SCH_Initialise();
  use_fake_clock();
  reset_log();

  a = SCH_AddTimeout(0.001, record_timer, (void *) 1);
  b = SCH_AddTimeout(0.002, record_timer, (void *) 2);
  c = SCH_AddTimeout(0.003, record_timer, (void *) 3);
  d = SCH_AddTimeout(0.004, quit_timer, NULL);
  SCH_RemoveTimeout(b); /* before it fires */
  SCH_RemoveTimeout(b); /* again: harmless */
  SCH_RemoveTimeout(0);
  SCH_RemoveTimeout(d + 1000); /* never issued */
  SCH_MainLoop();
  TEST_CHECK(n_fired == 3 && fired[0] == 1 && fired[1] == 3 && fired[2] == -1);

  /* after they fired: harmless, and does not hit a newer timer */
  c = SCH_AddTimeout(0.001, record_timer, (void *) 4);
  SCH_AddTimeout(0.002, quit_timer, NULL);
  SCH_RemoveTimeout(a);
  SCH_RemoveTimeout(d);
  reset_log();
  SCH_MainLoop();
  TEST_CHECK(n_fired == 2 && fired[0] == 4 && fired[1] == -1);
  TEST_CHECK(c > d); /* ids keep growing */

  /* removing from the middle of a large heap keeps the order of the rest */
  SCH_TimeoutID many[40];

  reset_log();
  for (int i = 0; i < 40; i++)
    many[i] = SCH_AddTimeout(0.001 * ((i * 17) % 40 + 1), record_timer, (void *) (intptr_t) i);
  for (int i = 0; i < 40; i += 3)
    SCH_RemoveTimeout(many[i]);
  SCH_AddTimeout(1.0, quit_timer, NULL);
  SCH_MainLoop();
  TEST_CHECKF(n_fired == 40 - 14 + 1, "%d fired", n_fired);
  for (int i = 0; i < n_fired - 1; i++) {
    TEST_CHECKF(fired[i] % 3 != 0, "removed timer %d fired", fired[i]);
    TEST_CHECKF(i == 0 || fired_at[i] > fired_at[i - 1], "timer %d at %lld after %lld",
                fired[i], (long long) fired_at[i], (long long) fired_at[i - 1]);
  }
  SCH_Finalise();
}

/* handlers changing timers during dispatch */
static SCH_TimeoutID victim_id, self_id;

static void self_removing_timer(void *arg)
{
  record((int) (intptr_t) arg);
  SCH_RemoveTimeout(self_id);   /* its own id: already off the heap, harmless */
  SCH_RemoveTimeout(victim_id); /* due in this same round, not yet run */
  /* delay 0: waits for the next round, after a poll */
  SCH_AddTimeout(0.0, record_timer, (void *) 20);
  SCH_AddTimeout(0.001, quit_timer, NULL);
}

static int rearm_count;

static void rearming_timer(void *arg)
{
  (void) arg;
  record(30);
  if (++rearm_count < 5)
    SCH_AddTimeout(0.0, rearming_timer, NULL);
}

static void test_timers_changed_in_dispatch(void)
{
  SCH_Initialise();
  use_fake_clock();
  reset_log();

  self_id = SCH_AddTimeout(0.001, self_removing_timer, (void *) 10);
  victim_id = SCH_AddTimeout(0.001, record_timer, (void *) 11);
  SCH_AddTimeout(0.001, record_timer, (void *) 12);
  poll_calls = 0;
  SCH_MainLoop();
  /* 10 runs, 11 is removed by it, 12 (same round) runs, 20 in the next round, then quit */
  TEST_CHECKF(n_fired == 4 && fired[0] == 10 && fired[1] == 12 && fired[2] == 20 &&
                  fired[3] == -1,
              "%d fired: %d %d %d %d", n_fired, fired[0], fired[1], fired[2], fired[3]);
  TEST_CHECK(fired_at[2] == fired_at[1]); /* delay 0 with the clock standing still */
  TEST_CHECK(poll_calls == 3);            /* 1 ms wait, poll(0) before 20, 1 ms wait */

  /* a timer re-arming itself with delay 0 on a clock that stands still: one run per
     round, each round polls the fds (timeout 0) rather than looping inside the round */
  reset_log();
  rearm_count = 0;
  poll_calls = 0;
  SCH_AddTimeout(0.0, rearming_timer, NULL);
  SCH_AddTimeout(0.001, quit_timer, NULL);
  SCH_MainLoop();
  TEST_CHECK(n_fired == 6 && rearm_count == 5);
  TEST_CHECKF(poll_calls == 5, "%d poll calls", poll_calls);
  SCH_Finalise();
}

/* ---- file handlers (real poll) ----------------------------------------------------- */

static int pipe_a[2], pipe_b[2];
static int calls_a, calls_b, stale_calls;
static int last_events;

static void read_and_quit(int fd, int events, void *arg)
{
  char buf[16];

  (void) arg;
  last_events = events;
  calls_a++;
  TEST_CHECK(read(fd, buf, sizeof(buf)) == 5);
  SCH_RemoveFileHandler(fd);
  SCH_QuitProgram();
}

static void write_pipe_timer(void *arg)
{
  (void) arg;
  TEST_CHECK(write(pipe_a[1], "hello", 5) == 5);
}

static void test_pipe_handler(void)
{
  int64_t start;

  SCH_Initialise();
  use_real_clock();
  TEST_CHECK(pipe(pipe_a) == 0);

  TEST_CHECK(SCH_AddFileHandler(pipe_a[0], POLLIN, read_and_quit, NULL) == 0);
  TEST_CHECK(SCH_AddFileHandler(pipe_a[0], POLLIN, read_and_quit, NULL) == -EEXIST);
  TEST_CHECK(SCH_AddFileHandler(-1, POLLIN, read_and_quit, NULL) == -EINVAL);
  TEST_CHECK(SCH_AddFileHandler(pipe_a[1], POLLOUT, NULL, NULL) == -EINVAL);
  SCH_AddTimeout(0.01, write_pipe_timer, NULL);
  calls_a = 0;
  start = real_mono_ns();
  TEST_CHECK(SCH_MainLoop() == 0);
  TEST_CHECK(calls_a == 1 && last_events == POLLIN);
  TEST_CHECK(real_mono_ns() - start >= 10000000);
  TEST_CHECK(n_handlers == 0);
  close(pipe_a[0]);
  close(pipe_a[1]);
  SCH_Finalise();
}

/* whichever of the two handlers runs first removes the other, whose revents of the same
   round are then stale and must not be delivered */
static void remove_other(int fd, int events, void *arg)
{
  int other = (int) (intptr_t) arg;

  (void) events;
  if (fd == pipe_a[0])
    calls_a++;
  else
    calls_b++;
  SCH_RemoveFileHandler(fd);
  SCH_RemoveFileHandler(other);
  SCH_AddTimeout(0.005, quit_timer, NULL);
}

static void stale_handler(int fd, int events, void *arg)
{
  (void) fd;
  (void) events;
  (void) arg;
  stale_calls++;
}

/* removes the other handler and registers a new one on the same fd in the same round:
   the new registration must not get the old one's revents of this round */
static void replace_other(int fd, int events, void *arg)
{
  int other = (int) (intptr_t) arg;

  (void) events;
  if (fd == pipe_a[0])
    calls_a++;
  else
    calls_b++;
  SCH_RemoveFileHandler(fd);
  SCH_RemoveFileHandler(other);
  TEST_CHECK(SCH_AddFileHandler(other, POLLIN, stale_handler, NULL) == 0);
  /* the new handler sees the fd readable from the next round: bound the run */
  SCH_AddTimeout(0.0, quit_timer, NULL);
}

static void test_handlers_changed_in_dispatch(void)
{
  SCH_Initialise();
  use_real_clock();
  TEST_CHECK(pipe(pipe_a) == 0 && pipe(pipe_b) == 0);
  TEST_CHECK(write(pipe_a[1], "x", 1) == 1 && write(pipe_b[1], "y", 1) == 1);

  calls_a = calls_b = 0;
  SCH_AddFileHandler(pipe_a[0], POLLIN, remove_other, (void *) (intptr_t) pipe_b[0]);
  SCH_AddFileHandler(pipe_b[0], POLLIN, remove_other, (void *) (intptr_t) pipe_a[0]);
  TEST_CHECK(SCH_MainLoop() == 0);
  TEST_CHECKF(calls_a + calls_b == 1, "a %d, b %d", calls_a, calls_b);
  TEST_CHECK(n_handlers == 0);

  /* same, but the removed fd gets a new handler at once */
  calls_a = calls_b = stale_calls = 0;
  SCH_AddFileHandler(pipe_a[0], POLLIN, replace_other, (void *) (intptr_t) pipe_b[0]);
  SCH_AddFileHandler(pipe_b[0], POLLIN, replace_other, (void *) (intptr_t) pipe_a[0]);
  TEST_CHECK(SCH_MainLoop() == 0);
  TEST_CHECKF(calls_a + calls_b == 1, "a %d, b %d", calls_a, calls_b);
  /* the quit timer (delay 0) runs at the top of the next iteration, before poll */
  TEST_CHECKF(stale_calls == 0, "%d stale calls", stale_calls);
  TEST_CHECK(n_handlers == 1);
  SCH_RemoveFileHandler(calls_a ? pipe_b[0] : pipe_a[0]);

  close(pipe_a[0]);
  close(pipe_a[1]);
  close(pipe_b[0]);
  close(pipe_b[1]);
  SCH_Finalise();
}

/* POLLOUT on an always-writable pipe; interest dropped with SetFileHandlerEvents */
static int writable_calls;

static void writable(int fd, int events, void *arg)
{
  (void) arg;
  TEST_CHECK(events == POLLOUT);
  if (++writable_calls == 3)
    SCH_SetFileHandlerEvents(fd, 0);
}

static void add_handler_timer(void *arg)
{
  (void) arg;
  TEST_CHECK(SCH_AddFileHandler(pipe_a[1], POLLOUT, writable, NULL) == 0);
  SCH_AddTimeout(0.02, quit_timer, NULL);
}

static void test_set_events(void)
{
  SCH_Initialise();
  use_real_clock();
  TEST_CHECK(pipe(pipe_a) == 0);
  writable_calls = 0;
  /* a handler added from a timer handler */
  SCH_AddTimeout(0.0, add_handler_timer, NULL);
  TEST_CHECK(SCH_MainLoop() == 0);
  TEST_CHECKF(writable_calls == 3, "%d calls", writable_calls);
  SCH_RemoveFileHandler(pipe_a[1]);
  close(pipe_a[0]);
  close(pipe_a[1]);
  SCH_Finalise();
}

/* an fd closed without removing its handler: POLLNVAL once, then the handler is dropped
   rather than the loop spinning */
static int nval_calls;

static void nval_handler(int fd, int events, void *arg)
{
  (void) fd;
  (void) arg;
  nval_calls++;
  TEST_CHECK(events & POLLNVAL);
}

static void test_pollnval(void)
{
  int p[2];

  SCH_Initialise();
  use_real_clock();
  TEST_CHECK(pipe(p) == 0);
  close(p[1]);
  TEST_CHECK(SCH_AddFileHandler(p[0], POLLIN, nval_handler, NULL) == 0);
  close(p[0]);
  nval_calls = 0;
  SCH_AddTimeout(0.02, quit_timer, NULL);
  TEST_CHECK(SCH_MainLoop() == 0);
  TEST_CHECKF(nval_calls == 1, "%d calls", nval_calls);
  TEST_CHECK(n_handlers == 0);
  SCH_Finalise();
}

/* ---- real timers: never early ------------------------------------------------------ */

static void test_real_timers_not_early(void)
{
  static const double delays[] = { 0.0, 0.0002, 0.0005, 0.0015, 0.003, 0.0101, 0.02, 0.05 };
  const int n = sizeof(delays) / sizeof(delays[0]);
  int64_t start;

  SCH_Initialise();
  use_real_clock();
  reset_log();
  start = real_mono_ns();
  for (int i = n - 1; i >= 0; i--)
    SCH_AddTimeout(delays[i], record_timer, (void *) (intptr_t) i);
  SCH_AddTimeout(0.05, quit_timer, NULL);
  TEST_CHECK(SCH_MainLoop() == 0);

  TEST_CHECK(n_fired == n + 1);
  for (int i = 0; i < n && i < n_fired; i++) {
    int64_t late = fired_at[i] - start - (int64_t) (delays[fired[i]] * 1e9);

    TEST_CHECKF(fired[i] == i, "position %d: timer %d", i, fired[i]);
    TEST_CHECKF(late >= 0, "timer %d (%.4f s) fired %lld ns early", fired[i], delays[fired[i]],
                (long long) -late);
    /* generous: a loaded CI machine under a sanitizer */
    TEST_CHECKF(late < 200000000, "timer %d %lld ns late", fired[i], (long long) late);
    fprintf(stderr, "timer %.4f s: fired %.3f ms late\n", delays[fired[i]], late / 1e6);
  }
  SCH_Finalise();
}

/* ---- quitting ------------------------------------------------------------------------ */

static void test_quit_from_handler(void)
{
  int64_t start;

  SCH_Initialise();
  use_real_clock();
  reset_log();
  /* the loop ends with timers still pending */
  SCH_AddTimeout(10.0, record_timer, (void *) 1);
  SCH_AddTimeout(0.001, quit_timer, NULL);
  start = real_mono_ns();
  TEST_CHECK(SCH_MainLoop() == 0);
  TEST_CHECK(n_fired == 1 && fired[0] == -1);
  TEST_CHECK(real_mono_ns() - start < 500000000);
  TEST_CHECK(n_timers == 1);

  /* a quit requested before the loop starts ends it at once; the request is consumed */
  SCH_QuitProgram();
  start = real_mono_ns();
  TEST_CHECK(SCH_MainLoop() == 0);
  TEST_CHECK(real_mono_ns() - start < 100000000);
  SCH_Finalise();
}

static void sigusr1_handler(int sig)
{
  (void) sig;
  SCH_QuitProgram();
}

static void raise_timer(void *arg)
{
  (void) arg;
  raise(SIGUSR1);
}

static pthread_t loop_thread;
static double signal_after;

static void *signal_thread(void *arg)
{
  struct timespec ts = { 0, (long) (signal_after * 1e9) };

  (void) arg;
  nanosleep(&ts, NULL);
  /* to the thread in poll(), so that its poll() is the one interrupted */
  pthread_kill(loop_thread, SIGUSR1);
  return NULL;
}

static void *quit_thread(void *arg)
{
  struct timespec ts = { 0, 100000000 };

  (void) arg;
  nanosleep(&ts, NULL);
  SCH_QuitProgram(); /* no signal: poll() is not interrupted */
  return NULL;
}

static void test_signal_quits(void)
{
  struct sigaction sa;
  pthread_t t;
  int64_t start, took;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = sigusr1_handler;
  sigemptyset(&sa.sa_mask);
  TEST_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);

  SCH_Initialise();
  use_real_clock();

  /* a signal raised by a timer handler */
  SCH_AddTimeout(0.005, raise_timer, NULL);
  start = real_mono_ns();
  TEST_CHECK(SCH_MainLoop() == 0);
  took = real_mono_ns() - start;
  TEST_CHECKF(took >= 5000000 && took < 500000000, "%lld ns", (long long) took);

  /* a loop with nothing to do, interrupted in poll() by a signal after 100 ms: it ends
     then, well before the 1 s poll cap would end it */
  loop_thread = pthread_self();
  signal_after = 0.1;
  TEST_CHECK(pthread_create(&t, NULL, signal_thread, NULL) == 0);
  start = real_mono_ns();
  TEST_CHECK(SCH_MainLoop() == 0);
  took = real_mono_ns() - start;
  pthread_join(t, NULL);
  fprintf(stderr, "SIGUSR1 at 100 ms ended the idle loop after %.1f ms\n", took / 1e6);
  TEST_CHECKF(took >= 100000000 && took < 600000000, "%lld ns", (long long) took);

  /* the quit flag set without a signal (the case of a signal landing just before poll()):
     the 1 s cap on poll's timeout ends the loop within about a second */
  TEST_CHECK(pthread_create(&t, NULL, quit_thread, NULL) == 0);
  start = real_mono_ns();
  TEST_CHECK(SCH_MainLoop() == 0);
  took = real_mono_ns() - start;
  pthread_join(t, NULL);
  fprintf(stderr, "quit flag without a signal ended the idle loop after %.1f ms\n",
          took / 1e6);
  TEST_CHECKF(took >= 100000000 && took < 1500000000, "%lld ns", (long long) took);
  TEST_CHECK(last_timeout == 1000);

  signal(SIGUSR1, SIG_DFL);
  SCH_Finalise();
  CLK_Finalise();
}

int main(void)
{
  test_order_and_fifo();
  test_poll_timeouts();
  test_removal();
  test_timers_changed_in_dispatch();
  test_pipe_handler();
  test_handlers_changed_in_dispatch();
  test_set_events();
  test_pollnval();
  test_real_timers_not_early();
  test_quit_from_handler();
  test_signal_quits();
  TEST_EXIT();
}
