/* regress.h - the statistics under the per-source sample history: weighted least-squares
   fits of offset against time, the runs test that says whether the residuals of a fit
   still look like noise, and the search for the longest recent span of samples that a
   straight line describes. Pure functions: any thread (the engine thread uses them). */
#ifndef KAIROS_REGRESS_H
#define KAIROS_REGRESS_H

#include <stddef.h>

typedef struct {
  double b0;     /* intercept: the fitted value at x = 0 */
  double b1;     /* slope */
  double s2;     /* variance of the residuals (weighted, n - 2 degrees of freedom) */
  double sb0;    /* standard error of b0 */
  double sb1;    /* standard error of b1 */
  double x_mean; /* weighted mean of the x values used */
  size_t n;      /* samples in the fit */
  size_t runs;   /* runs of same-sign residuals */
} RGR_Fit;

/* Fit y = b0 + b1 x to n >= 3 points with weights w (w[i] > 0; a larger weight is a more
   trusted point; NULL means equal weights). Returns 0, or -EINVAL for fewer than 3 points,
   a bad weight, or x values that are all equal. */
int RGR_FitLine(const double *x, const double *y, const double *w, size_t n, RGR_Fit *fit);

/* Runs of same sign in residuals (a zero residual counts as positive). */
size_t RGR_CountRuns(const double *residuals, size_t n);

/* 1 if `runs` runs among n residuals, n_pos of them positive, are too few to be chance
   (one-sided test at about 5 %: fewer runs than the normal approximation of their count
   allows), i.e. the residuals show a trend the line does not describe. */
int RGR_TooFewRuns(size_t runs, size_t n, size_t n_pos);

/* The longest span of the newest samples that a line describes: points are in time
   order (oldest first); drop the oldest ones, never keeping fewer than min_samples
   (>= 3), until the residuals pass the runs test. The fit of the span kept is returned,
   and its first index in *first. Returns 0 or -EINVAL. */
int RGR_FindBestFit(const double *x, const double *y, const double *w, size_t n,
                    size_t min_samples, RGR_Fit *fit, size_t *first);

/* Median of n values (n >= 1); the array is reordered. */
double RGR_Median(double *values, size_t n);

#endif
