/*
 * cmd_run.c — `duet run`: one prompt, one answer streamed to stdout, without
 * the chat interface. The prompt goes through the model's chat format
 * (--raw: as plain text), sampling follows the model's defaults and the R1
 * conventions unless options say otherwise, thinking is shown, hidden or
 * folded, and the numbers go to stderr with --stats. Ctrl-C stops the
 * generation cleanly (exit 130). Model output is untrusted: escaped when
 * stdout is a terminal.
 *
 * Also the option helpers cmd_logits.c and cmd_bench.c share (run_*).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cli.h"
#include "infer/chat.h"
#include "infer/engine.h"
#include "infer/util.h"

#define RUN_MAX_PROMPT (64u << 20) /* bytes read from stdin */
#define RUN_MAX_STOPS 16

/* ---- helpers shared with cmd_logits.c and cmd_bench.c --------------------------------------- */

int run_parse_u32(const char *cmd, const char *opt, const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!s || *s < '0' || *s > '9') {
		fprintf(stderr, "duet %s: %s needs a whole number, not '%s'\n", cmd, opt, s ? s : "");
		return -1;
	}
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max) {
		fprintf(stderr, "duet %s: %s '%s' is not a whole number in 0..%u\n", cmd, opt, s, max);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int run_parse_float(const char *cmd, const char *opt, const char *s, float min, float max, float *out)
{
	char *end;
	double v;

	errno = 0;
	v = s && *s ? strtod(s, &end) : NAN;
	if (!s || !*s || errno || *end || !isfinite(v) || v < min || v > max) {
		fprintf(stderr, "duet %s: %s '%s' is not a number in %g..%g\n", cmd, opt, s ? s : "", (double)min,
			(double)max);
		return -1;
	}
	*out = (float)v;
	return 0;
}

int run_prompt_read(const char *cmd, const char *arg, struct buf *out)
{
	char chunk[65536];
	size_t n;

	if (strcmp(arg, "-") != 0) {
		buf_append(out, arg, strlen(arg));
		buf_cstr(out);
		return 0;
	}
	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
		if (out->len + n > RUN_MAX_PROMPT) {
			fprintf(stderr, "duet %s: the prompt on standard input is larger than %u MiB\n", cmd,
				RUN_MAX_PROMPT >> 20);
			return -1;
		}
		buf_append(out, chunk, n);
	}
	if (ferror(stdin)) {
		fprintf(stderr, "duet %s: reading standard input: %s\n", cmd, strerror(errno));
		return -1;
	}
	buf_cstr(out);
	return 0;
}

/* ---- Ctrl-C ------------------------------------------------------------------------------- */

static struct session *volatile run_session;
static volatile sig_atomic_t run_interrupted;

static void run_on_sigint(int sig)
{
	struct session *s = run_session;

	(void)sig;
	run_interrupted = 1;
	if (s)
		session_cancel(s);
}

/* ---- the answer on stdout: thinking shown, hidden or folded --------------------------------- */

enum think_mode {
	THINK_SHOW,
	THINK_HIDE,
	THINK_FOLD,
};

enum out_state {
	OUT_START,  /* not yet known whether the output opens with "<think>" */
	OUT_THINK,  /* inside the thinking block */
	OUT_ANSWER, /* after it (or there is none) */
};

struct run_out {
	struct session *s;
	enum think_mode mode;
	enum out_state state;
	bool tty;
	bool skip_space;      /* hide/fold: drop whitespace between "</think>" and the answer */
	struct buf all;       /* everything generated */
	size_t printed;       /* bytes of all written to stdout or deliberately withheld */
	size_t think_scan;    /* where the search for "</think>" resumes */
	uint32_t think_tokens;
	bool wrote_any;
	char last;            /* last byte written */
};

static void out_write(struct run_out *o, const char *p, size_t n)
{
	if (o->skip_space) {
		while (n > 0 && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) {
			p++;
			n--;
		}
		if (n == 0)
			return;
		o->skip_space = false;
	}
	if (n == 0)
		return;
	cli_write_untrusted(stdout, p, n, o->tty);
	fflush(stdout);
	o->wrote_any = true;
	o->last = p[n - 1];
}

static void out_fold_line(struct run_out *o, bool finished)
{
	if (o->mode == THINK_HIDE && !finished)
		fprintf(stderr, "duet: stopped while thinking (%u tokens; --think=show shows them)\n", o->think_tokens);
	if (o->mode != THINK_FOLD)
		return;
	printf("[thinking: %u tokens%s]\n", o->think_tokens, finished ? "" : ", unfinished");
	fflush(stdout);
	o->wrote_any = true;
	o->last = '\n';
}

/* Advance the state machine over what arrived; print what the mode shows. */
static void out_advance(struct run_out *o, bool final)
{
	static const char open_tag[] = "<think>", close_tag[] = "</think>";
	const size_t open_len = sizeof open_tag - 1, close_len = sizeof close_tag - 1;
	const char *d = o->all.data;
	size_t len = o->all.len;

	if (o->state == OUT_START) {
		size_t ws = 0, rest;
		while (ws < len && (d[ws] == ' ' || d[ws] == '\n'))
			ws++;
		rest = len - ws;
		if (rest >= open_len && memcmp(d + ws, open_tag, open_len) == 0) {
			o->state = OUT_THINK;
			if (o->mode == THINK_SHOW)
				out_write(o, d, ws + open_len);
			o->printed = o->think_scan = ws + open_len;
		} else if (final || rest >= open_len || (rest > 0 && memcmp(d + ws, open_tag, rest) != 0)) {
			o->state = OUT_ANSWER;
		} else {
			return; /* could still become "<think>" */
		}
	}
	if (o->state == OUT_THINK) {
		const char *end = len > o->think_scan ? memmem(d + o->think_scan, len - o->think_scan, close_tag, close_len)
						      : NULL;
		size_t upto = end ? (size_t)(end - d) + close_len : len;

		if (o->mode == THINK_SHOW)
			out_write(o, d + o->printed, upto - o->printed);
		o->printed = upto;
		o->think_tokens = session_gen_tokens(o->s);
		if (!end) {
			/* The tag may be split across pieces: look again at its possible start. */
			if (len >= close_len && len - (close_len - 1) > o->think_scan)
				o->think_scan = len - (close_len - 1);
			if (final)
				out_fold_line(o, false);
			return;
		}
		o->state = OUT_ANSWER;
		out_fold_line(o, true);
		if (o->mode != THINK_SHOW)
			o->skip_space = true;
	}
	if (len > o->printed)
		out_write(o, d + o->printed, len - o->printed);
	o->printed = len;
}

static int run_on_text(void *user, const char *text, size_t len)
{
	struct run_out *o = user;

	buf_append(&o->all, text, len);
	out_advance(o, false);
	return 0;
}

/* ---- stats -------------------------------------------------------------------------------- */

static void print_stats(const struct gen_stats *st, const struct engine_model *m, bool json, const char *answer)
{
	if (json) {
		fprintf(stderr,
			"{\"prompt_tokens\": %u, \"cached_tokens\": %u, \"gen_tokens\": %u, \"ttft_ms\": %.3f, "
			"\"prefill_tps\": %.2f, \"decode_tps\": %.2f, \"itl_p50_ms\": %.3f, \"itl_p99_ms\": %.3f, "
			"\"peak_rss\": %llu, \"device_bytes\": %llu, \"dropped_turns\": %u, \"stop\": \"%s\", "
			"\"device\": \"%s\", \"threads\": %d",
			st->prompt_tokens, st->cached_tokens, st->gen_tokens, st->ttft_ms, st->prefill_tps, st->decode_tps,
			st->itl_p50_ms, st->itl_p99_ms, (unsigned long long)st->peak_rss,
			(unsigned long long)st->device_bytes, st->dropped_turns, gen_stop_name(st->stop),
			engine_model_device(m), engine_model_n_threads(m));
		if (answer) {
			fputs(", \"answer\": ", stderr);
			cli_write_json_string(stderr, answer, strlen(answer));
		}
		fputs("}\n", stderr);
		return;
	}
	fprintf(stderr,
		"stats: prompt %u tokens (%u cached), prefill %.1f t/s, ttft %.1f ms, %u tokens, decode %.1f t/s, "
		"itl p50 %.2f ms p99 %.2f ms, peak rss %s, stop %s, %s, %d threads\n",
		st->prompt_tokens, st->cached_tokens, st->prefill_tps, st->ttft_ms, st->gen_tokens, st->decode_tps,
		st->itl_p50_ms, st->itl_p99_ms, cli_human_bytes(st->peak_rss), gen_stop_name(st->stop),
		engine_model_device(m), engine_model_n_threads(m));
}

/* ---- the command -------------------------------------------------------------------------- */

#define RUN_USAGE                                                                                      \
	"usage: duet run [-m MODEL] -p TEXT|- [options]\n"                                             \
	"  -p, --prompt TEXT     the prompt (- reads standard input)\n"                                \
	"      --raw             send TEXT as it is, without the chat format\n"                          \
	"      --system TEXT     a system message\n"                                                     \
	"      --chat-format F   deepseek-r1, llama3 or chatml instead of the detected one\n"           \
	"  -n, --max-tokens N    stop after N tokens (default: until the model ends or the context is full)\n" \
	"      --temp T, --top-p P, --top-k K, --min-p P, --repeat-penalty R, --seed S\n"               \
	"      --greedy          temperature 0 (the most likely token each step)\n"                     \
	"      --stop STR        stop when STR appears (repeatable; STR is not printed)\n"              \
	"      --r1, --no-r1     apply / don't apply the R1 conventions (default: R1 models only)\n"     \
	"      --math            ask for the final answer in \\boxed{} and print it on stderr\n"         \
	"      --think=MODE      show (default), hide, or fold (\"[thinking: N tokens]\") the thinking\n" \
	"      --ctx N           context length (default 32768, at most the model's)\n"                 \
	"  -t, --threads N       CPU threads (default: one per core)\n"                                  \
	"      --device D        auto, cpu, cuda, cuda:N (default auto)\n"                               \
	CLI_GPU_USAGE                                                                                  \
	"      --stats[=json]    numbers on stderr: one line, or a JSON object\n"

int cmd_run(int argc, char **argv)
{
	enum {
		OPT_RAW = 256, OPT_SYSTEM, OPT_FORMAT, OPT_TEMP, OPT_TOP_P, OPT_TOP_K, OPT_MIN_P, OPT_REPEAT, OPT_SEED,
		OPT_GREEDY, OPT_STOP, OPT_R1, OPT_NO_R1, OPT_MATH, OPT_THINK, OPT_STATS,
		};
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'm'},
		{"prompt", required_argument, NULL, 'p'},
		{"raw", no_argument, NULL, OPT_RAW},
		{"system", required_argument, NULL, OPT_SYSTEM},
		{"chat-format", required_argument, NULL, OPT_FORMAT},
		{"max-tokens", required_argument, NULL, 'n'},
		{"temp", required_argument, NULL, OPT_TEMP},
		{"temperature", required_argument, NULL, OPT_TEMP},
		{"top-p", required_argument, NULL, OPT_TOP_P},
		{"top-k", required_argument, NULL, OPT_TOP_K},
		{"min-p", required_argument, NULL, OPT_MIN_P},
		{"repeat-penalty", required_argument, NULL, OPT_REPEAT},
		{"seed", required_argument, NULL, OPT_SEED},
		{"greedy", no_argument, NULL, OPT_GREEDY},
		{"stop", required_argument, NULL, OPT_STOP},
		{"r1", no_argument, NULL, OPT_R1},
		{"no-r1", no_argument, NULL, OPT_NO_R1},
		{"math", no_argument, NULL, OPT_MATH},
		{"think", required_argument, NULL, OPT_THINK},
		{"stats", optional_argument, NULL, OPT_STATS},
		CLI_ENGINE_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *given = NULL, *prompt_arg = NULL, *system = NULL;
	const char *stops[RUN_MAX_STOPS];
	size_t n_stops = 0;
	bool raw = false, math = false, greedy = false, stats = false, stats_json = false;
	int r1 = -1; /* -1: the model's default */
	enum chat_format format = CHAT_FORMAT_UNKNOWN;
	enum think_mode think = THINK_SHOW;
	/* Overrides: NAN / -1 = the model's default. */
	float temp = NAN, top_p = NAN, min_p = NAN, repeat = NAN;
	int64_t top_k = -1, seed = -1;
	uint32_t max_tokens = 0, n_ctx = 0, u;
	char *path = NULL, *cause = NULL, *answer = NULL;
	struct buf prompt = { 0 };
	struct engine_model *m = NULL;
	struct session *s = NULL;
	struct chat conv = { 0 };
	struct engine_model_params mp = { 0 };
	struct gen_params g = { 0 };
	struct gen_stats st;
	struct run_out out = { 0 };
	struct sigaction sa, old_sa;
	int c, rc = CLI_EXIT_FAIL, grc;

	while ((c = getopt_long(argc, argv, "m:p:n:t:h", opts, NULL)) != -1) {
		int shared = cli_engine_option("run", c, optarg, &mp, &n_ctx);

		if (shared < 0)
			return CLI_EXIT_USAGE;
		if (shared > 0)
			continue;
		switch (c) {
		case 'm':
			given = optarg;
			break;
		case 'p':
			prompt_arg = optarg;
			break;
		case OPT_RAW:
			raw = true;
			break;
		case OPT_SYSTEM:
			system = optarg;
			break;
		case OPT_FORMAT:
			format = chat_format_parse(optarg);
			if (format == CHAT_FORMAT_UNKNOWN) {
				fprintf(stderr, "duet run: unknown chat format '%s' (deepseek-r1, llama3, chatml)\n", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'n':
			if (run_parse_u32("run", "-n", optarg, UINT32_MAX, &max_tokens) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_TEMP:
			if (run_parse_float("run", "--temp", optarg, 0, 100, &temp) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_TOP_P:
			if (run_parse_float("run", "--top-p", optarg, 0, 1, &top_p) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_TOP_K:
			if (run_parse_u32("run", "--top-k", optarg, INT32_MAX, &u) < 0)
				return CLI_EXIT_USAGE;
			top_k = u;
			break;
		case OPT_MIN_P:
			if (run_parse_float("run", "--min-p", optarg, 0, 1, &min_p) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_REPEAT:
			if (run_parse_float("run", "--repeat-penalty", optarg, 0.01f, 100, &repeat) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_SEED:
			if (run_parse_u32("run", "--seed", optarg, UINT32_MAX, &u) < 0)
				return CLI_EXIT_USAGE;
			seed = u;
			break;
		case OPT_GREEDY:
			greedy = true;
			break;
		case OPT_STOP:
			if (n_stops == RUN_MAX_STOPS) {
				fprintf(stderr, "duet run: at most %d --stop strings\n", RUN_MAX_STOPS);
				return CLI_EXIT_USAGE;
			}
			if (!*optarg) {
				fprintf(stderr, "duet run: --stop needs a non-empty string\n");
				return CLI_EXIT_USAGE;
			}
			stops[n_stops++] = optarg;
			break;
		case OPT_R1:
			r1 = 1;
			break;
		case OPT_NO_R1:
			r1 = 0;
			break;
		case OPT_MATH:
			math = true;
			break;
		case OPT_THINK:
			if (strcmp(optarg, "show") == 0)
				think = THINK_SHOW;
			else if (strcmp(optarg, "hide") == 0)
				think = THINK_HIDE;
			else if (strcmp(optarg, "fold") == 0)
				think = THINK_FOLD;
			else {
				fprintf(stderr, "duet run: --think is show, hide or fold, not '%s'\n", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_STATS:
			stats = true;
			if (optarg && strcmp(optarg, "json") == 0)
				stats_json = true;
			else if (optarg) {
				fprintf(stderr, "duet run: --stats takes no value or =json, not '%s'\n", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(RUN_USAGE, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(RUN_USAGE, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "duet run: unexpected argument '%s' (the prompt goes after -p)\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (!prompt_arg) {
		fprintf(stderr, "duet run: -p TEXT is required (-p - reads standard input)\n");
		return CLI_EXIT_USAGE;
	}
	if (raw && (system || math || format != CHAT_FORMAT_UNKNOWN)) {
		fprintf(stderr, "duet run: --system, --math and --chat-format need the chat format (not --raw)\n");
		return CLI_EXIT_USAGE;
	}
	if (run_prompt_read("run", prompt_arg, &prompt) < 0)
		return CLI_EXIT_FAIL;
	path = cli_resolve_model(given);
	if (!path)
		goto done;

	m = cli_model_open(path, &mp, &cause);
	if (!m)
		goto fail;
	s = session_new(m, n_ctx, &cause);
	if (!s)
		goto fail;

	if (r1 < 0)
		r1 = engine_model_is_r1(m) && !raw;
	engine_model_sampling_defaults(m, r1 == 1, &g.sampling);
	if (!isnan(temp))
		g.sampling.temperature = temp;
	if (!isnan(top_p))
		g.sampling.top_p = top_p;
	if (top_k >= 0)
		g.sampling.top_k = (int32_t)top_k;
	if (!isnan(min_p))
		g.sampling.min_p = min_p;
	if (!isnan(repeat))
		g.sampling.repeat_penalty = repeat;
	if (seed >= 0)
		g.sampling.seed = (uint64_t)seed;
	if (greedy)
		g.sampling.temperature = 0;
	g.max_tokens = max_tokens;
	g.stop = stops;
	g.n_stop = n_stops;

	out.s = s;
	out.mode = think;
	out.tty = isatty(STDOUT_FILENO);
	/* An R1 prompt ends inside the thinking block ("<think>\n"). */
	out.state = (!raw && r1 == 1) ? OUT_THINK : OUT_START;
	if (out.state == OUT_THINK && think == THINK_SHOW)
		out_write(&out, "<think>\n", 8); /* the prompt's, so the reader sees where thinking starts */

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = run_on_sigint;
	sigemptyset(&sa.sa_mask);
	run_session = s;
	sigaction(SIGINT, &sa, &old_sa);

	if (raw) {
		grc = session_complete(s, prompt.data, prompt.len, &g, run_on_text, &out, &st, &cause);
	} else {
		struct chat_options co = { .format = format, .r1 = r1 == 1, .add_generation_prompt = true };
		if (system)
			chat_add(&conv, CHAT_ROLE_SYSTEM, system, strlen(system));
		if (math) {
			buf_append(&prompt, "\n", 1);
			buf_append(&prompt, CHAT_R1_MATH_SUFFIX, strlen(CHAT_R1_MATH_SUFFIX));
		}
		chat_add(&conv, CHAT_ROLE_USER, prompt.data, prompt.len);
		grc = session_chat(s, &conv, &co, &g, run_on_text, &out, &st, &cause);
	}
	sigaction(SIGINT, &old_sa, NULL);
	run_session = NULL;
	if (grc < 0)
		goto fail;
	out_advance(&out, true);
	if (out.wrote_any && out.last != '\n')
		fputc('\n', stdout);
	fflush(stdout);

	if (st.stop == GEN_STOP_CONTEXT)
		fprintf(stderr, "duet: the context is full (%u tokens; --ctx sets it)\n", session_n_ctx(s));
	if (st.dropped_turns)
		fprintf(stderr, "duet: dropped %u earlier turn%s to fit the context\n", st.dropped_turns,
			st.dropped_turns == 1 ? "" : "s");
	if (st.merged_system)
		fprintf(stderr, "duet: the system message was merged into the user message (R1 conventions)\n");
	if (math) {
		size_t off = chat_answer_offset(out.all.data ? out.all.data : "", out.all.len);
		answer = chat_extract_boxed(out.all.data ? out.all.data + off : "", out.all.len - off);
		if (!stats_json) {
			fputs("answer: ", stderr);
			if (answer)
				cli_write_untrusted(stderr, answer, strlen(answer), true);
			else
				fputs("(no \\boxed{} answer)", stderr);
			fputc('\n', stderr);
		}
	}
	if (stats)
		print_stats(&st, m, stats_json, answer);
	rc = run_interrupted ? 130 : CLI_EXIT_OK;
	goto done;
fail:
	fprintf(stderr, "duet run: %s\n", cause ? cause : "failed");
	rc = CLI_EXIT_FAIL;
done:
	free(answer);
	free(cause);
	chat_free(&conv);
	buf_free(&out.all);
	buf_free(&prompt);
	session_free(s);
	engine_model_free(m);
	free(path);
	return rc;
}
