/*
 * threadpool.h — a small persistent pool of worker threads for the CPU
 * backend. threadpool_run hands one function to every thread (the caller is
 * thread 0) and returns when all have finished; inside it threads meet at
 * threadpool_barrier between dependent steps. Workers spin briefly, then
 * yield, then sleep, so a decode step that follows the last one closely does
 * not pay a wake-up.
 *
 * A pool serves one caller at a time: threadpool_run is not reentrant and
 * must not be called concurrently on the same pool. Different pools are
 * independent.
 */
#ifndef DUET_INFER_THREADPOOL_H
#define DUET_INFER_THREADPOOL_H

struct threadpool;

/*
 * A pool of n_threads threads in all, the caller of threadpool_run counting
 * as one (n_threads - 1 are started). n_threads <= 0 means one per online
 * core. NULL with *cause when a thread cannot be started.
 */
struct threadpool *threadpool_new(int n_threads, char **cause);
void threadpool_free(struct threadpool *tp); /* NULL is a no-op */
int threadpool_n_threads(const struct threadpool *tp);

/* Online cores (at least 1). */
int threadpool_n_cores(void);

/*
 * Run fn(arg, ith, nth) on every thread, ith in [0, nth), the caller as 0;
 * returns when every thread has returned from fn. Memory written by any
 * thread inside fn is visible to the caller afterwards.
 */
void threadpool_run(struct threadpool *tp, void (*fn)(void *arg, int ith, int nth), void *arg);

/*
 * Called by every thread inside fn: returns when all nth threads have
 * arrived; writes before it are visible to all threads after it.
 */
void threadpool_barrier(struct threadpool *tp);

#endif
