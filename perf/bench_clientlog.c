/* bench_clientlog.c - lookups+updates per second of the shared client log (CLG_), per
   core, for 100,000 and 16,777,216 distinct IPv4 clients, on 1 and 2 threads, one call at
   a time and in prefetched batches; with the reference measured in the same run: one
   atomic add on a random cache line of an array the size of the table.
   Usage: bench_clientlog [seconds per measurement, default 1] */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "server/clientlog.h"

#define BATCH       16 /* requests prefetched together; 2 * BATCH must divide the slices */
#define MAX_THREADS 2

typedef enum { MODE_PLAIN, MODE_PREFETCH, MODE_BATCH, MODE_REF, MODE_REF_PREFETCH } Mode;

static const char *const mode_names[] = { "one call at a time", "prefetch 16, log 16",
                                          "CLG_LogNtpRequests 32" };

typedef struct {
  CLG_Table *t;
  uint64_t *lines; /* the reference: 8 words a line */
  size_t n_lines;
  const uint32_t *addrs;
  size_t n;
  Mode mode;
  double min_seconds;
  pthread_barrier_t *barrier;
  uint64_t ops, answered, new_records;
  double seconds;
} Arg;

static double now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t xorshift(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* The fake clock: 25 ms every 256 requests, so that a pass over the 100,000 clients lasts
   more than the 8 s rate interval and every client stays within its limit */
static void advance(struct timespec *now)
{
  now->tv_nsec += 25000000;
  if (now->tv_nsec >= 1000000000) {
    now->tv_nsec -= 1000000000;
    now->tv_sec++;
  }
}

static void make_sa(struct sockaddr_in *sin, uint32_t a)
{
  sin->sin_family = AF_INET;
  sin->sin_port = htons(123);
  sin->sin_addr.s_addr = a;
}

static inline size_t ref_line(const Arg *a, uint32_t addr)
{
  return (size_t) (((uint64_t) addr * 0x9e3779b97f4a7c15ULL) >> 20) & (a->n_lines - 1);
}

/* One pass over the thread's clients */
static void pass(Arg *a, struct timespec *now, uint64_t *rng)
{
  struct sockaddr_in sin;
  CLG_Key keys[2 * BATCH];
  CLG_Ref ref;
  size_t i, j;

  memset(&sin, 0, sizeof(sin));
  switch (a->mode) {
  case MODE_PLAIN:
    for (i = 0; i < a->n; i++) {
      make_sa(&sin, a->addrs[i]);
      if ((i & 255) == 0)
        advance(now);
      a->answered += CLG_LogNtpRequest(a->t, (struct sockaddr *) &sin, now,
                                       (uint32_t) xorshift(rng), &ref) == CLG_RESPOND;
      a->new_records += ref.is_new;
    }
    break;
  case MODE_PREFETCH:
    /* the whole batch prefetched first: a prefetch issued between two calls would wait
       behind the next call's atomic operation (measured on AMD Zen 3) */
    for (i = 0; i + BATCH <= a->n; i += BATCH) {
      for (j = 0; j < BATCH; j++) {
        make_sa(&sin, a->addrs[i + j]);
        CLG_MakeKey(a->t, (struct sockaddr *) &sin, &keys[j]);
        CLG_Prefetch(a->t, &keys[j]);
      }
      if ((i & 255) == 0)
        advance(now);
      for (j = 0; j < BATCH; j++) {
        a->answered += CLG_LogNtpRequestKey(a->t, &keys[j], now, (uint32_t) xorshift(rng),
                                            &ref) == CLG_RESPOND;
        a->new_records += ref.is_new;
      }
    }
    break;
  case MODE_BATCH:
    for (i = 0; i + 2 * BATCH <= a->n; i += 2 * BATCH) {
      CLG_Ref refs[2 * BATCH];
      CLG_Decision dec[2 * BATCH];
      struct timespec times[2 * BATCH];
      uint32_t random[2 * BATCH];

      for (j = 0; j < 2 * BATCH; j++) {
        make_sa(&sin, a->addrs[i + j]);
        CLG_MakeKey(a->t, (struct sockaddr *) &sin, &keys[j]);
        times[j] = *now;
        random[j] = (uint32_t) xorshift(rng);
      }
      if ((i & 255) == 0)
        advance(now);
      CLG_LogNtpRequests(a->t, 2 * BATCH, keys, times, random, refs, dec);
      for (j = 0; j < 2 * BATCH; j++) {
        a->answered += dec[j] == CLG_RESPOND;
        a->new_records += refs[j].is_new;
      }
    }
    break;
  case MODE_REF:
    for (i = 0; i < a->n; i++)
      __atomic_fetch_add(&a->lines[8 * ref_line(a, a->addrs[i])], 1, __ATOMIC_RELAXED);
    break;
  case MODE_REF_PREFETCH:
    for (i = 0; i + BATCH <= a->n; i += BATCH) {
      for (j = 0; j < BATCH; j++)
        __builtin_prefetch(&a->lines[8 * ref_line(a, a->addrs[i + j])], 1, 3);
      for (j = 0; j < BATCH; j++)
        __atomic_fetch_add(&a->lines[8 * ref_line(a, a->addrs[i + j])], 1, __ATOMIC_RELAXED);
    }
    break;
  }
  a->ops += a->n;
}

static void *thread_main(void *p)
{
  Arg *a = p;
  struct timespec now = { 1700000000, 0 };
  uint64_t rng = 88172645463325252ULL ^ (uintptr_t) a;
  double start;

  pthread_barrier_wait(a->barrier);
  start = now_s();
  do
    pass(a, &now, &rng);
  while ((a->seconds = now_s() - start) < a->min_seconds);
  return NULL;
}

/* Aggregate lookups+updates per second of `threads` threads, each on its own slice */
static double run(CLG_Table *t, uint64_t *lines, size_t n_lines, const uint32_t *addrs,
                  size_t n, int threads, Mode mode, double min_seconds, uint64_t *new_records,
                  uint64_t *ops_out)
{
  pthread_barrier_t barrier;
  pthread_t th[MAX_THREADS];
  Arg args[MAX_THREADS];
  uint64_t ops = 0;
  double seconds = 0;
  int i;

  pthread_barrier_init(&barrier, NULL, (unsigned) threads);
  for (i = 0; i < threads; i++) {
    memset(&args[i], 0, sizeof(args[i]));
    args[i].t = t;
    args[i].lines = lines;
    args[i].n_lines = n_lines;
    args[i].addrs = addrs + n / (size_t) threads * (size_t) i;
    args[i].n = n / (size_t) threads;
    args[i].mode = mode;
    args[i].min_seconds = min_seconds;
    args[i].barrier = &barrier;
    pthread_create(&th[i], NULL, thread_main, &args[i]);
  }
  if (new_records)
    *new_records = 0;
  for (i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    ops += args[i].ops;
    if (args[i].seconds > seconds)
      seconds = args[i].seconds;
    if (new_records)
      *new_records += args[i].new_records;
  }
  pthread_barrier_destroy(&barrier);
  if (ops_out)
    *ops_out = ops;
  return ops / seconds;
}

static long rss_mib(void)
{
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;

  if (!f)
    return -1;
  while (fgets(line, sizeof(line), f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  fclose(f);
  return kib / 1024;
}

/* n distinct IPv4 addresses in a random order: a bijection of 0..n-1 (odd multiplier,
   xor-shift) scatters them over the address space */
static uint32_t *make_addrs(size_t n)
{
  uint32_t *a = malloc(n * sizeof(*a));
  size_t i;

  if (!a)
    return NULL;
  for (i = 0; i < n; i++) {
    uint32_t x = (uint32_t) i * 0x9e3779b1U;

    x ^= x >> 15;
    x *= 0x85ebca6bU;
    x ^= x >> 13;
    a[i] = x;
  }
  return a;
}

static int bench_case(size_t n_clients, size_t limit, double seconds)
{
  static const CLG_RateParams rate = { 3, 8, 2, 0, 1 };
  CLG_Table *t;
  uint32_t *addrs = make_addrs(n_clients);
  uint64_t *lines;
  size_t n_lines;
  uint64_t fresh, ops;
  long rss0 = rss_mib();
  double t0, fill, r, ref;
  int threads, mode;

  if (!addrs)
    return -1;
  t0 = now_s();
  t = CLG_Create(limit, 0, &rate);
  if (!t) {
    perror("CLG_Create");
    free(addrs);
    return -1;
  }
  printf("\n%zu clients, clientloglimit %zu: %zu records, table %.1f MiB mapped, "
         "RSS +%ld MiB, created in %.2f s\n",
         n_clients, limit, CLG_Capacity(t), CLG_MemorySize(t) / 1048576.0, rss_mib() - rss0,
         now_s() - t0);

  /* the reference array: as many cache lines as the table's buckets */
  n_lines = CLG_Capacity(t) / 2;
  lines = mmap(NULL, n_lines * 64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (lines == MAP_FAILED) {
    perror("mmap");
    CLG_Destroy(t);
    free(addrs);
    return -1;
  }
  madvise(lines, n_lines * 64, MADV_HUGEPAGE);
  memset(lines, 0, n_lines * 64);

  fill = run(t, NULL, 0, addrs, n_clients, 1, MODE_PLAIN, 0, &fresh, &ops);
  printf("  first pass (claiming): %.1f M/s; %zu records in use (%.1f%% of the clients)\n",
         fill / 1e6, CLG_CountRecords(t), 100.0 * CLG_CountRecords(t) / n_clients);

  for (threads = 1; threads <= MAX_THREADS; threads++) {
    for (mode = MODE_PLAIN; mode <= MODE_BATCH; mode++) {
      ref = run(NULL, lines, n_lines, addrs, n_clients, threads,
                mode == MODE_PLAIN ? MODE_REF : MODE_REF_PREFETCH, seconds, NULL, NULL);
      r = run(t, NULL, 0, addrs, n_clients, threads, (Mode) mode, seconds, &fresh, &ops);
      printf("  %d thread%s, %-22s %6.1f M lookups+updates/s per core (%5.1f M/s in all),"
             " %.2f x reference (%.1f M/s per core), %.1f%% found\n",
             threads, threads > 1 ? "s" : " ", mode_names[mode], r / threads / 1e6, r / 1e6,
             r / ref, ref / threads / 1e6, 100.0 * (1.0 - (double) fresh / (double) ops));
    }
  }
  munmap(lines, n_lines * 64);
  CLG_Destroy(t);
  free(addrs);
  return 0;
}

int main(int argc, char **argv)
{
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;

  if (seconds <= 0)
    seconds = 1.0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("bench_clientlog: %ld CPUs; target >= 20 M lookups+updates/s per core, "
         "16,777,216 clients in <= 1 GiB\n",
         sysconf(_SC_NPROCESSORS_ONLN));
  if (bench_case(100000, 32 << 20, seconds) < 0)
    return 1;
  if (bench_case(16777216, (size_t) 1 << 30, 0) < 0)
    return 1;
  /* the same table half full: the hit path at memory latency, without the evictions */
  if (bench_case(8388608, (size_t) 1 << 30, 0) < 0)
    return 1;
  return 0;
}
