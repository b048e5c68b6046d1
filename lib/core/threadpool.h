/*
 * threadpool.h - the worker threads a context owns.
 *
 * fwi_pool_run(pool, fn, arg) runs fn(arg, ith, nth) on every thread (the
 * caller is thread 0) and returns when all are done; fwi_pool_barrier()
 * synchronises the threads inside fn.  Workers spin on a
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

/* Inside fn: wait until every thread of the running job has called it (as
 * often); memory written before it by any thread is visible to all after
 * it.  Spins, then yields (never sleeps): a job can be one whole forward
 * pass with a barrier between its phases, far cheaper than one
 * fwi_pool_run per phase. */
void fwi_pool_barrier(fwi_pool *p);

#endif
