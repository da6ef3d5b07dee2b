/*
 * threadpool.c — the CPU backend's persistent worker threads (threadpool.h).
 * Plain pthreads and C11 atomics; calls util.h only for errors and memory.
 *
 * Waiting is two-staged: spin on an atomic for a few tens of microseconds
 * (the common case between two ops of one forward pass: the other side is
 * about to arrive), then sleep in the kernel (a futex on Linux, a condition
 * variable for idle workers) so that on a machine with more runnable
 * threads than cores the one we wait for gets our core. Spinning longer, or
 * sched_yield, makes a forward pass crawl under such load: every barrier
 * then waits out whole scheduler time slices.
 */
#include "config.h"

#include "infer/threadpool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include "infer/util.h"

/*
 * Spins (a pause each, ~10-80 ns depending on the CPU) before sleeping: at
 * a barrier, and for an idle worker waiting for the next forward call (the
 * gap between decode steps is sampling, typically well under 100 us).
 */
#define TP_SPINS_BARRIER 500
#define TP_SPINS_IDLE    3000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

struct threadpool_worker {
	struct threadpool *tp;
	int ith;
};

struct threadpool {
	int n_threads;
	pthread_t *threads;
	struct threadpool_worker *workers;
	int n_started;

	void (*fn)(void *arg, int ith, int nth);
	void *arg;

	/* Each on its own cache line: the hot atomics are written by different threads. */
	_Alignas(64) atomic_uint gen;         /* bumped once per threadpool_run */
	_Alignas(64) atomic_int n_done;       /* workers finished with this generation */
	_Alignas(64) atomic_int bar_count;    /* threads arrived at the current barrier */
	_Alignas(64) atomic_uint bar_phase;   /* bumped when a barrier opens */
	_Alignas(64) atomic_int bar_sleepers; /* threads asleep on bar_phase */
	atomic_int done_sleeping;             /* the caller asleep on n_done */
	_Alignas(64) atomic_bool stop;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	int n_sleeping; /* under mu */
};

#if defined(__linux__)
static void futex_wait(void *addr, unsigned expected)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(void *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
#else
static void futex_wait(void *addr, unsigned expected)
{
	(void)addr, (void)expected;
	sched_yield();
}

static void futex_wake(void *addr)
{
	(void)addr;
}
#endif

int threadpool_n_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (int)n;
}

int threadpool_n_threads(const struct threadpool *tp)
{
	return tp->n_threads;
}

/* Waits for a generation other than seen; returns it. */
static unsigned wait_for_work(struct threadpool *tp, unsigned seen)
{
	unsigned g;

	for (int i = 0; i < TP_SPINS_IDLE; i++) {
		g = atomic_load_explicit(&tp->gen, memory_order_acquire);
		if (g != seen || atomic_load_explicit(&tp->stop, memory_order_relaxed))
			return g;
		cpu_relax();
	}
	pthread_mutex_lock(&tp->mu);
	tp->n_sleeping++;
	while ((g = atomic_load_explicit(&tp->gen, memory_order_acquire)) == seen &&
	       !atomic_load_explicit(&tp->stop, memory_order_relaxed))
		pthread_cond_wait(&tp->cv, &tp->mu);
	tp->n_sleeping--;
	pthread_mutex_unlock(&tp->mu);
	return g;
}

static void *worker_main(void *p)
{
	struct threadpool_worker *w = p;
	struct threadpool *tp = w->tp;
	unsigned seen = 0;

	for (;;) {
		seen = wait_for_work(tp, seen);
		if (atomic_load_explicit(&tp->stop, memory_order_acquire))
			break;
		tp->fn(tp->arg, w->ith, tp->n_threads);
		if (atomic_fetch_add(&tp->n_done, 1) == tp->n_threads - 2 && atomic_load(&tp->done_sleeping))
			futex_wake(&tp->n_done);
	}
	return NULL;
}

struct threadpool *threadpool_new(int n_threads, char **cause)
{
	struct threadpool *tp = xcalloc(1, sizeof *tp);
	int rc;

	if (n_threads <= 0)
		n_threads = threadpool_n_cores();
	tp->n_threads = n_threads;
	atomic_init(&tp->gen, 0);
	atomic_init(&tp->n_done, 0);
	atomic_init(&tp->bar_count, 0);
	atomic_init(&tp->bar_phase, 0);
	atomic_init(&tp->bar_sleepers, 0);
	atomic_init(&tp->done_sleeping, 0);
	atomic_init(&tp->stop, false);
	pthread_mutex_init(&tp->mu, NULL);
	pthread_cond_init(&tp->cv, NULL);
	tp->threads = xcalloc((size_t)n_threads, sizeof *tp->threads);
	tp->workers = xcalloc((size_t)n_threads, sizeof *tp->workers);
	for (int i = 1; i < n_threads; i++) {
		tp->workers[i].tp = tp;
		tp->workers[i].ith = i;
		rc = pthread_create(&tp->threads[i], NULL, worker_main, &tp->workers[i]);
		if (rc != 0) {
			error_set(cause, "cannot start CPU worker thread %d of %d: %s", i + 1, n_threads,
			          strerror(rc));
			threadpool_free(tp);
			return NULL;
		}
		tp->n_started = i;
	}
	return tp;
}

void threadpool_free(struct threadpool *tp)
{
	if (!tp)
		return;
	pthread_mutex_lock(&tp->mu);
	atomic_store(&tp->stop, true);
	pthread_cond_broadcast(&tp->cv);
	pthread_mutex_unlock(&tp->mu);
	for (int i = 1; i <= tp->n_started; i++)
		pthread_join(tp->threads[i], NULL);
	pthread_mutex_destroy(&tp->mu);
	pthread_cond_destroy(&tp->cv);
	free(tp->threads);
	free(tp->workers);
	free(tp);
}

void threadpool_run(struct threadpool *tp, void (*fn)(void *arg, int ith, int nth), void *arg)
{
	int n_workers = tp->n_threads - 1;

	if (n_workers == 0) {
		fn(arg, 0, 1);
		return;
	}
	tp->fn = fn;
	tp->arg = arg;
	atomic_store_explicit(&tp->n_done, 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&tp->gen, 1, memory_order_seq_cst);
	/* A worker reads gen under mu before it sleeps, so it either sees the new
	 * generation or is counted in n_sleeping by the time we look. */
	pthread_mutex_lock(&tp->mu);
	if (tp->n_sleeping > 0)
		pthread_cond_broadcast(&tp->cv);
	pthread_mutex_unlock(&tp->mu);

	fn(arg, 0, tp->n_threads);

	for (int i = 0;; i++) {
		int done = atomic_load_explicit(&tp->n_done, memory_order_acquire);
		if (done == n_workers)
			break;
		if (i < TP_SPINS_BARRIER) {
			cpu_relax();
			continue;
		}
		/* The last worker wakes us when it sees done_sleeping; it checks after counting itself. */
		atomic_store(&tp->done_sleeping, 1);
		if (atomic_load(&tp->n_done) == done)
			futex_wait(&tp->n_done, (unsigned)done);
		atomic_store(&tp->done_sleeping, 0);
	}
}

void threadpool_barrier(struct threadpool *tp)
{
	int n = tp->n_threads;

	if (n == 1)
		return;
	/* The phase cannot move before this thread arrives, so reading it first is safe. */
	unsigned phase = atomic_load_explicit(&tp->bar_phase, memory_order_acquire);
	if (atomic_fetch_add_explicit(&tp->bar_count, 1, memory_order_acq_rel) == n - 1) {
		atomic_store_explicit(&tp->bar_count, 0, memory_order_relaxed);
		atomic_fetch_add(&tp->bar_phase, 1);
		if (atomic_load(&tp->bar_sleepers) > 0)
			futex_wake(&tp->bar_phase);
		return;
	}
	for (int i = 0; atomic_load_explicit(&tp->bar_phase, memory_order_acquire) == phase; i++) {
		if (i < TP_SPINS_BARRIER) {
			cpu_relax();
			continue;
		}
		/* Counted before the last check, so the opener either sees us or we see its phase. */
		atomic_fetch_add(&tp->bar_sleepers, 1);
		if (atomic_load(&tp->bar_phase) == phase)
			futex_wait(&tp->bar_phase, phase);
		atomic_fetch_sub(&tp->bar_sleepers, 1);
	}
}
