/* threadpool.c - spin-then-sleep worker pool (pthreads + C11 atomics). */
#define _DEFAULT_SOURCE 1
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "core.h"
#include "threadpool.h"

/* A waiting thread spins (pause) for SPIN_PAUSES checks, then yields the
 * CPU between checks up to SPIN_YIELDS times (so an oversubscribed machine
 * still makes progress), then sleeps on the condition variable. */
#define SPIN_PAUSES 2000
#define SPIN_YIELDS 2000

struct fwi_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;      /* bumped for every job */
    atomic_int pending;   /* workers still running the current job */
    atomic_int quit;
    fwi_pool_fn fn;
    void *arg;
    /* barrier inside a job: arrivals, and a phase bumped by the last one */
    char pad0[64];
    atomic_int bar_count;
    char pad1[64];
    atomic_uint bar_phase;
};

typedef struct worker_arg {
    fwi_pool *p;
    int ith;
} worker_arg;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void *worker(void *varg)
{
    worker_arg *wa = varg;
    fwi_pool *p = wa->p;
    int ith = wa->ith;
    fwi_free(wa);
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
               !atomic_load_explicit(&p->quit, memory_order_acquire)) {
            if (++spins < SPIN_PAUSES) {
                cpu_relax();
                continue;
            }
            if (spins < SPIN_PAUSES + SPIN_YIELDS) {
                sched_yield();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen &&
                   !atomic_load_explicit(&p->quit, memory_order_acquire))
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        if (atomic_load_explicit(&p->quit, memory_order_acquire))
            break;
        seen = g;
        p->fn(p->arg, ith, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
    }
    return NULL;
}

fwi_pool *fwi_pool_new(int n_threads)
{
    if (n_threads < 1)
        n_threads = 1;
    fwi_pool *p = fwi_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = n_threads;
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->quit, 0);
    atomic_init(&p->bar_count, 0);
    atomic_init(&p->bar_phase, 0);
    if (pthread_mutex_init(&p->mu, NULL)) {
        fwi_free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->cv, NULL)) {
        pthread_mutex_destroy(&p->mu);
        fwi_free(p);
        return NULL;
    }
    p->threads = fwi_calloc((size_t)n_threads, sizeof *p->threads);
    if (!p->threads) {
        fwi_pool_free(p);
        return NULL;
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = fwi_malloc(sizeof *wa);
        if (!wa) {
            p->n = i;
            fwi_pool_free(p);
            return NULL;
        }
        wa->p = p;
        wa->ith = i;
        if (pthread_create(&p->threads[i], NULL, worker, wa)) {
            fwi_free(wa);
            p->n = i;
            fwi_pool_free(p);
            return NULL;
        }
    }
    return p;
}

void fwi_pool_free(fwi_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->quit, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++)
        if (p->threads && p->threads[i])
            pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    fwi_free(p->threads);
    fwi_free(p);
}

int fwi_pool_size(const fwi_pool *p) { return p->n; }

void fwi_pool_run(fwi_pool *p, fwi_pool_fn fn, void *arg)
{
    if (p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_release);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n);
    for (int spins = 0;
         atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spins++) {
        if (spins < SPIN_PAUSES)
            cpu_relax();
        else
            sched_yield();
    }
}

void fwi_pool_barrier(fwi_pool *p)
{
    if (p->n == 1)
        return;
    const unsigned phase = atomic_load_explicit(&p->bar_phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) == p->n - 1) {
        atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->bar_phase, 1, memory_order_acq_rel);
        return;
    }
    for (int spins = 0;
         atomic_load_explicit(&p->bar_phase, memory_order_acquire) == phase; spins++) {
        if (spins < SPIN_PAUSES)
            cpu_relax();
        else
            sched_yield();
    }
}
