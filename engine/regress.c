/* regress.c - weighted least squares, the runs test, and the best recent span. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "engine/regress.h"

int RGR_FitLine(const double *x, const double *y, const double *w, size_t n, RGR_Fit *fit)
{
  double sw = 0.0, swx = 0.0, swy = 0.0, sxx = 0.0, sxy = 0.0, ssr = 0.0, xm, ym, scale;
  size_t i;
  int prev_pos = 0;

  if (n < 3)
    return -EINVAL;
  for (i = 0; i < n; i++) {
    double wi = w ? w[i] : 1.0;

    if (!(wi > 0.0) || !isfinite(wi) || !isfinite(x[i]) || !isfinite(y[i]))
      return -EINVAL;
    sw += wi;
    swx += wi * x[i];
    swy += wi * y[i];
  }
  xm = swx / sw;
  ym = swy / sw;
  /* centred sums: no cancellation when x is far from 0 (timestamps) */
  for (i = 0; i < n; i++) {
    double wi = w ? w[i] : 1.0, dx = x[i] - xm;

    sxx += wi * dx * dx;
    sxy += wi * dx * (y[i] - ym);
  }
  if (!(sxx > 0.0))
    return -EINVAL;

  fit->b1 = sxy / sxx;
  fit->b0 = ym - fit->b1 * xm;
  fit->x_mean = xm;
  fit->n = n;

  fit->runs = 0;
  for (i = 0; i < n; i++) {
    double wi = w ? w[i] : 1.0, r = y[i] - (fit->b0 + fit->b1 * x[i]);
    int pos = r >= 0.0;

    ssr += wi * r * r;
    if (i == 0 || pos != prev_pos)
      fit->runs++;
    prev_pos = pos;
  }
  /* weights are relative: scale the sums to a point of mean weight */
  scale = (double) n / sw;
  fit->s2 = ssr * scale / (double) (n - 2);
  fit->sb1 = sqrt(fit->s2 / (sxx * scale));
  fit->sb0 = sqrt(fit->s2 * (1.0 / (double) n + xm * xm / (sxx * scale)));
  return 0;
}

size_t RGR_CountRuns(const double *residuals, size_t n)
{
  size_t i, runs = n > 0;

  for (i = 1; i < n; i++)
    if ((residuals[i] >= 0.0) != (residuals[i - 1] >= 0.0))
      runs++;
  return runs;
}

int RGR_TooFewRuns(size_t runs, size_t n, size_t n_pos)
{
  double np = (double) n_pos, nn = (double) (n - n_pos), mean, var;

  if (n < 3 || n_pos == 0 || n_pos == n)
    return n >= 3; /* all residuals on one side: a trend, whatever n is */
  mean = 2.0 * np * nn / (double) n + 1.0;
  var = (mean - 1.0) * (mean - 2.0) / ((double) n - 1.0);
  /* one-sided 5 %: z = 1.645; +0.5 for the continuity of a count */
  return (double) runs + 0.5 < mean - 1.645 * sqrt(var > 0.0 ? var : 0.0);
}

int RGR_FindBestFit(const double *x, const double *y, const double *w, size_t n,
                    size_t min_samples, RGR_Fit *fit, size_t *first)
{
  size_t start;

  if (min_samples < 3)
    min_samples = 3;
  if (n < min_samples)
    return -EINVAL;
  for (start = 0;; start++) {
    size_t m = n - start, i, n_pos = 0;
    int r = RGR_FitLine(x + start, y + start, w ? w + start : NULL, m, fit);

    if (r < 0)
      return r;
    for (i = start; i < n; i++)
      n_pos += y[i] - (fit->b0 + fit->b1 * x[i]) >= 0.0;
    if (m <= min_samples || !RGR_TooFewRuns(fit->runs, m, n_pos)) {
      *first = start;
      return 0;
    }
  }
}

static int compare_doubles(const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

double RGR_Median(double *values, size_t n)
{
  qsort(values, n, sizeof(*values), compare_doubles);
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}
