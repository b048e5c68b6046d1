/*
 * threadpool.h - the worker threads a context owns.
 *
 * fwi_pool_run(pool, fn, arg) runs fn(arg, ith, nth) on every thread (the
 * caller is thread 0) and returns when all are done.  Workers spin on a
 * generation counter for a short while after each job (tokens arrive back to
 * back while generating), then sleep on a condition variable.  No OpenMP.
 */
#ifndef FWI_THREADPOOL_H
#define FWI_THREADPOOL_H

#include <stdint.h>

typedef void (*fwi_pool_fn)(void *arg, int ith, int nth);

typedef struct fwi_pool fwi_pool;

/* n_threads >= 1 (1: no worker threads).  NULL on failure. */
fwi_pool *fwi_pool_new(int n_threads);
void fwi_pool_free(fwi_pool *p);
int fwi_pool_size(const fwi_pool *p);
void fwi_pool_run(fwi_pool *p, fwi_pool_fn fn, void *arg);

#endif
