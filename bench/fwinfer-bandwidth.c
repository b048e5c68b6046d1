/*
 * fwinfer-bandwidth - measured memory read bandwidth, the roofline for
 * decode speed (every weight byte is read once per generated token).
 *
 *   fwinfer-bandwidth [-t THREADS] [--mib SIZE] [-r REPS] [--json]
 *
 * Each thread sums its share of a buffer much larger than the last-level
 * cache; the median of REPS passes is reported in GB/s (10^9 bytes/s).
 * The roofline of a model is then bandwidth / (bytes of weights + KV read
 * per token).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
    pthread_barrier_t *bar;
    double t0, t1;
} job;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *reader(void *arg)
{
    job *j = arg;
    pthread_barrier_wait(j->bar);
    j->t0 = now_s();
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= j->n; i += 4) {
        s0 += j->p[i];
        s1 += j->p[i + 1];
        s2 += j->p[i + 2];
        s3 += j->p[i + 3];
    }
    j->sum = s0 + s1 + s2 + s3;
    j->t1 = now_s();
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int threads = 1, reps = 5, json = 0;
    size_t mib = 1024;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
            mib = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "-r") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr, "usage: %s [-t THREADS] [--mib SIZE] [-r REPS] [--json]\n", argv[0]);
            return 2;
        }
    }
    if (threads < 1 || threads > 256 || reps < 1 || mib < 64) {
        fprintf(stderr, "%s: bad arguments\n", argv[0]);
        return 2;
    }
    size_t bytes = mib << 20, n = bytes / 8;
    uint64_t *buf = malloc(bytes);
    if (!buf) {
        fprintf(stderr, "%s: cannot allocate %zu MiB\n", argv[0], mib);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = i * 0x9e3779b97f4a7c15ull;
    double *gbs = malloc(sizeof(double) * (size_t)reps);
    uint64_t total = 0;
    for (int r = -1; r < reps; r++) {
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, (unsigned)threads);
        job *jobs = calloc((size_t)threads, sizeof *jobs);
        pthread_t *tid = calloc((size_t)threads, sizeof *tid);
        size_t per = n / (size_t)threads / 4 * 4;
        for (int t = 0; t < threads; t++) {
            jobs[t] = (job){buf + (size_t)t * per, per, 0, &bar, 0, 0};
            if (t)
                pthread_create(&tid[t], NULL, reader, &jobs[t]);
        }
        reader(&jobs[0]);
        double t0 = jobs[0].t0, t1 = jobs[0].t1;
        for (int t = 1; t < threads; t++) {
            pthread_join(tid[t], NULL);
            if (jobs[t].t0 < t0)
                t0 = jobs[t].t0;
            if (jobs[t].t1 > t1)
                t1 = jobs[t].t1;
        }
        for (int t = 0; t < threads; t++)
            total += jobs[t].sum;
        if (r >= 0)
            gbs[r] = (double)(per * 8 * (size_t)threads) / (t1 - t0) / 1e9;
        pthread_barrier_destroy(&bar);
        free(jobs);
        free(tid);
    }
    qsort(gbs, (size_t)reps, sizeof *gbs, cmp);
    double med = gbs[reps / 2];
    if (json)
        printf("{\"threads\":%d,\"mib\":%zu,\"read_gb_s\":%.2f,\"check\":%llu}\n", threads,
               mib, med, (unsigned long long)(total & 0xff));
    else
        printf("read bandwidth, %d thread(s), %zu MiB: %.2f GB/s (median of %d)\n", threads,
               mib, med, reps);
    free(gbs);
    free(buf);
    return 0;
}
