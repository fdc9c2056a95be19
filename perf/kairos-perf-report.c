/* kairos-perf-report.c - the server's CPU time from /proc and kairos-perf's summary, as
   text or as one JSON object. Main thread, after the receiver has stopped (sweep step
   lines: after the step's drain). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf/kairos-perf.h"

const char *const PRF_InvalidNames[PRF_INV_MAX] = {
  "short", "long", "source", "mode", "version", "origin", "client", "stratum",
};

typedef struct {
  uint64_t sent, send_errors, skipped, received, kod_rate, kod_other, late;
  double send_s; /* time spent sending */
} Totals;

double PRP_ServerCpu(pid_t pid)
{
  char path[64], buf[4096], *p;
  unsigned long long utime, stime;
  ssize_t n;
  FILE *f;

  snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
  f = fopen(path, "r");
  if (!f)
    return -1.0;
  n = (ssize_t) fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  if (n <= 0)
    return -1.0;
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: fields resume after the last ')'.
     utime and stime are fields 14 and 15, the 12th and 13th after it; for the whole
     process they include all its threads, also those that have exited. */
  p = strrchr(buf, ')');
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                   &stime) != 2)
    return -1.0;
  return (double) (utime + stime) / (double) sysconf(_SC_CLK_TCK);
}

static void step_totals(const PRF_Run *r, int from, int to, Totals *t)
{
  const PRF_Step *st;
  int i;

  memset(t, 0, sizeof(*t));
  for (i = from; i < to; i++) {
    st = &r->steps[i];
    t->sent += PRF_GET(st->sent);
    t->send_errors += PRF_GET(st->send_errors);
    t->skipped += PRF_GET(st->skipped);
    t->received += PRF_GET(st->received);
    t->kod_rate += PRF_GET(st->kod_rate);
    t->kod_other += PRF_GET(st->kod_other);
    t->late += PRF_GET(st->late);
    if (st->end_ns > st->start_ns)
      t->send_s += (double) (st->end_ns - st->start_ns) * 1e-9;
  }
}

static double ratio(double a, double b)
{
  return b > 0.0 ? a / b : 0.0;
}

static double loss_pct(const Totals *t)
{
  return t->sent
             ? 100.0 * (double) (t->sent - (t->received < t->sent ? t->received : t->sent)) /
                   (double) t->sent
             : 0.0;
}

static double us(uint64_t ns)
{
  return (double) ns * 1e-3;
}

static const char *latency_source(const PRF_Run *r)
{
  if (r->ts_mode != PNT_TS_RX_TX)
    return "user";
  if (PRF_GET(r->tx_user) || PRF_GET(r->rx_user))
    return "mixed";
  return "kernel";
}

void PRP_PrintStep(const PRF_Run *r, int step)
{
  const PRF_Step *st = &r->steps[step];
  Totals t;

  if (r->opt.json)
    return;
  step_totals(r, step, step + 1, &t);
  if (step == 0)
    printf("%4s %10s %10s %10s %8s %8s %8s %12s\n", "step", "target/s", "sent/s", "replies/s",
           "loss%", "p50 us", "p99 us", "cpu/reply us");
  printf("%4d %10.0f %10.0f %10.0f %8.3f %8.1f %8.1f", step, st->rate,
         ratio((double) t.sent, t.send_s), ratio((double) t.received, t.send_s), loss_pct(&t),
         us(PHI_Quantile(&st->hist, 0.5)), us(PHI_Quantile(&st->hist, 0.99)));
  if (st->cpu_s >= 0.0 && t.received)
    printf(" %12.3f", st->cpu_s / (double) t.received * 1e6);
  else
    printf(" %12s", "-");
  if (t.skipped)
    printf("  (%llu not sent: generator behind)", (unsigned long long) t.skipped);
  printf("\n");
  fflush(stdout);
}

static void print_text(PRF_Run *r, const Totals *t, const PHI_Hist *h, double cpu_s,
                       double wall_s)
{
  char addr[INET6_ADDRSTRLEN];
  uint64_t inv = 0;
  const char *src = latency_source(r);
  int i;

  for (i = 0; i < PRF_INV_MAX; i++)
    inv += PRF_GET(r->invalid[i]);
  PNT_AddrToString(&r->server, addr, sizeof(addr));
  printf("kairos-perf: %s port %u, NTPv%d, %u clients, %d sockets, %d thread%s, ", addr,
         r->opt.port, r->opt.version, r->clients.count, r->nsock, r->opt.threads,
         r->opt.threads > 1 ? "s" : "");
  if (r->opt.mode == PRF_MODE_SWEEP)
    printf("sweep from %.0f/s x%.2f per %.1f s step\n", r->opt.rate, r->opt.step_factor,
           r->opt.step_time);
  else if (r->opt.mode == PRF_MODE_COUNT)
    printf("%llu requests at %.0f/s\n", (unsigned long long) r->opt.count, r->opt.rate);
  else
    printf("%.0f/s for %.1f s\n", r->opt.rate, r->opt.duration);
  if (r->interrupted)
    printf("interrupted: the figures cover the run so far\n");
  if (r->capped)
    printf("stopped by the hard time cap (--max-time %.0f s)\n", r->opt.max_time);
  printf("sent           %llu (%.0f/s)\n", (unsigned long long) t->sent,
         ratio((double) t->sent, t->send_s));
  printf("replies        %llu (%.0f/s), loss %.3f%%, late %llu\n",
         (unsigned long long) t->received, ratio((double) t->received, t->send_s), loss_pct(t),
         (unsigned long long) t->late);
  printf("kiss-o'-death  RATE %llu, other %llu\n", (unsigned long long) t->kod_rate,
         (unsigned long long) t->kod_other);
  printf("invalid        %llu [", (unsigned long long) inv);
  for (i = 0; i < PRF_INV_MAX; i++)
    printf("%s%s %llu", i ? ", " : "", PRF_InvalidNames[i],
           (unsigned long long) PRF_GET(r->invalid[i]));
  printf("]\n");
  printf("duplicates     %llu\n", (unsigned long long) PRF_GET(r->duplicates));
  printf("send errors    %llu", (unsigned long long) t->send_errors);
  if (t->send_errors)
    printf(" (last: %s)", strerror(r->last_send_errno));
  printf(", not sent (generator behind) %llu\n", (unsigned long long) t->skipped);
  if (PHI_Count(h)) {
    printf("response time  p50 %.1f us, p99 %.1f us, p99.9 %.1f us (min %.1f, mean %.1f, max "
           "%.1f us)\n",
           us(PHI_Quantile(h, 0.5)), us(PHI_Quantile(h, 0.99)), us(PHI_Quantile(h, 0.999)),
           us(PRF_GET(h->min_ns)),
           ratio((double) PRF_GET(h->sum_ns), (double) PHI_Count(h)) * 1e-3,
           us(PRF_GET(h->max_ns)));
    if (strcmp(src, "kernel") == 0)
      printf("               from kernel TX to kernel RX software timestamps\n");
    else if (strcmp(src, "user") == 0)
      printf("               from the user-space send time (no kernel TX timestamps) to the "
             "kernel RX timestamp\n");
    else
      printf("               kernel timestamps; %llu used the user-space send time, %llu the "
             "user-space receive time\n",
             (unsigned long long) PRF_GET(r->tx_user),
             (unsigned long long) PRF_GET(r->rx_user));
  }
  if (cpu_s >= 0.0)
    printf(
        "server CPU     %.2f s over %.1f s (%.1f%% of a core), %.3f us per reply (pid %d)\n",
        cpu_s, wall_s, 100.0 * ratio(cpu_s, wall_s), ratio(cpu_s, (double) t->received) * 1e6,
        (int) r->opt.server_pid);
  if (r->opt.mode == PRF_MODE_SWEEP) {
    if (r->best_step < 0) {
      if (!r->generator_limited)
        printf("sweep: no step had loss under %.1f%%\n", r->opt.loss_limit);
    } else {
      const PRF_Step *b = &r->steps[r->best_step];
      Totals bt;

      step_totals(r, r->best_step, r->best_step + 1, &bt);
      printf("sweep: highest rate with loss < %.1f%%: %.0f/s (step %d, %.0f replies/s)",
             r->opt.loss_limit, b->rate, r->best_step, ratio((double) bt.received, bt.send_s));
      if (b->cpu_s >= 0.0 && bt.received)
        printf(", %.3f us CPU per reply", b->cpu_s / (double) bt.received * 1e6);
      printf("\n");
    }
    if (r->generator_limited)
      printf("sweep: the generator could not keep up (over 5%% of a step not sent): the rate "
             "is a lower bound\n");
    else if (strcmp(r->stop_reason, "loss") != 0)
      printf("sweep: ended by %s before any loss: the rate is a lower bound\n",
             r->stop_reason);
  }
}

static void print_json_hist(const PHI_Hist *h)
{
  printf("\"samples\":%llu,\"p50_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f,\"min_us\":%.3f,"
         "\"mean_us\":%.3f,\"max_us\":%.3f",
         (unsigned long long) PHI_Count(h), us(PHI_Quantile(h, 0.5)),
         us(PHI_Quantile(h, 0.99)), us(PHI_Quantile(h, 0.999)),
         PHI_Count(h) ? us(PRF_GET(h->min_ns)) : 0.0,
         ratio((double) PRF_GET(h->sum_ns), (double) PHI_Count(h)) * 1e-3,
         us(PRF_GET(h->max_ns)));
}

static void print_json(PRF_Run *r, const Totals *t, const PHI_Hist *h, double cpu_s,
                       double wall_s)
{
  static const char *const modes[] = { "rate", "count", "sweep", "garbage" };
  char addr[INET6_ADDRSTRLEN];
  uint64_t inv = 0;
  int i;

  for (i = 0; i < PRF_INV_MAX; i++)
    inv += PRF_GET(r->invalid[i]);
  PNT_AddrToString(&r->server, addr, sizeof(addr));
  printf("{\"tool\":\"kairos-perf\",\"mode\":\"%s\",\"server\":\"%s\",\"port\":%u,"
         "\"ntp_version\":%d,\"clients\":%u,\"sockets\":%d,\"threads\":%d,\"rate\":%.1f,"
         "\"duration_s\":%.3f,\"send_s\":%.3f,\"timeout_s\":%.3f,\"interrupted\":%s,"
         "\"capped\":%s,",
         modes[r->opt.mode], addr, r->opt.port, r->opt.version, r->clients.count, r->nsock,
         r->opt.threads, r->opt.rate, wall_s, t->send_s, r->opt.timeout,
         r->interrupted ? "true" : "false", r->capped ? "true" : "false");
  printf("\"sent\":%llu,\"received\":%llu,\"valid\":%llu,\"lost\":%llu,\"loss_pct\":%.4f,"
         "\"send_rate\":%.1f,\"reply_rate\":%.1f,\"late\":%llu,\"kod_rate\":%llu,"
         "\"kod_other\":%llu,\"duplicates\":%llu,\"send_errors\":%llu,\"skipped\":%llu,",
         (unsigned long long) t->sent, (unsigned long long) t->received,
         (unsigned long long) (t->received - t->kod_rate - t->kod_other),
         (unsigned long long) (t->sent > t->received ? t->sent - t->received : 0), loss_pct(t),
         ratio((double) t->sent, t->send_s), ratio((double) t->received, t->send_s),
         (unsigned long long) t->late, (unsigned long long) t->kod_rate,
         (unsigned long long) t->kod_other, (unsigned long long) PRF_GET(r->duplicates),
         (unsigned long long) t->send_errors, (unsigned long long) t->skipped);
  printf("\"invalid_total\":%llu,\"invalid\":{", (unsigned long long) inv);
  for (i = 0; i < PRF_INV_MAX; i++)
    printf("%s\"%s\":%llu", i ? "," : "", PRF_InvalidNames[i],
           (unsigned long long) PRF_GET(r->invalid[i]));
  printf("},\"latency\":{\"source\":\"%s\",\"tx_user_fallbacks\":%llu,"
         "\"rx_user_fallbacks\":%llu,\"tx_stamps\":%llu,",
         latency_source(r), (unsigned long long) PRF_GET(r->tx_user),
         (unsigned long long) PRF_GET(r->rx_user), (unsigned long long) PRF_GET(r->tx_stamps));
  print_json_hist(h);
  printf("},\"server_cpu\":");
  if (cpu_s >= 0.0)
    printf("{\"pid\":%d,\"cpu_s\":%.3f,\"utilisation\":%.4f,\"cpu_per_reply_us\":%.4f}",
           (int) r->opt.server_pid, cpu_s, ratio(cpu_s, wall_s),
           ratio(cpu_s, (double) t->received) * 1e6);
  else
    printf("null");
  if (r->opt.mode == PRF_MODE_SWEEP) {
    printf(",\"sweep\":{\"factor\":%.3f,\"step_time_s\":%.3f,\"loss_limit_pct\":%.3f,"
           "\"retries\":%d,"
           "\"generator_limited\":%s,\"stop_reason\":\"%s\",\"best_step\":%d,",
           r->opt.step_factor, r->opt.step_time, r->opt.loss_limit, r->opt.retries,
           r->generator_limited ? "true" : "false", r->stop_reason, r->best_step);
    if (r->best_step >= 0) {
      const PRF_Step *b = &r->steps[r->best_step];
      Totals bt;

      step_totals(r, r->best_step, r->best_step + 1, &bt);
      printf("\"best_rate\":%.1f,\"best_reply_rate\":%.1f,\"best_cpu_per_reply_us\":", b->rate,
             ratio((double) bt.received, bt.send_s));
      if (b->cpu_s >= 0.0 && bt.received)
        printf("%.4f,", b->cpu_s / (double) bt.received * 1e6);
      else
        printf("null,");
    } else {
      printf("\"best_rate\":null,\"best_reply_rate\":null,\"best_cpu_per_reply_us\":null,");
    }
    printf("\"steps\":[");
    for (i = 0; i < r->nsteps; i++) {
      const PRF_Step *st = &r->steps[i];
      Totals s;

      step_totals(r, i, i + 1, &s);
      printf("%s{\"rate\":%.1f,\"sent\":%llu,\"received\":%llu,\"send_rate\":%.1f,"
             "\"reply_rate\":%.1f,\"loss_pct\":%.4f,\"skipped\":%llu,\"kod\":%llu,",
             i ? "," : "", st->rate, (unsigned long long) s.sent,
             (unsigned long long) s.received, ratio((double) s.sent, s.send_s),
             ratio((double) s.received, s.send_s), loss_pct(&s),
             (unsigned long long) s.skipped, (unsigned long long) (s.kod_rate + s.kod_other));
      print_json_hist(&st->hist);
      if (st->cpu_s >= 0.0 && s.received)
        printf(",\"cpu_s\":%.3f,\"cpu_per_reply_us\":%.4f}", st->cpu_s,
               st->cpu_s / (double) s.received * 1e6);
      else
        printf(",\"cpu_s\":null,\"cpu_per_reply_us\":null}");
    }
    printf("]}");
  }
  printf("}\n");
}

void PRP_PrintSummary(PRF_Run *r, double cpu_s, double wall_s)
{
  PHI_Hist *all = malloc(sizeof(*all));
  Totals t;
  int i;

  if (!all)
    return;
  PHI_Reset(all);
  for (i = 0; i < r->nsteps; i++)
    PHI_Merge(all, &r->steps[i].hist);
  step_totals(r, 0, r->nsteps, &t);
  if (r->opt.json)
    print_json(r, &t, all, cpu_s, wall_s);
  else
    print_text(r, &t, all, cpu_s, wall_s);
  fflush(stdout);
  free(all);
}
