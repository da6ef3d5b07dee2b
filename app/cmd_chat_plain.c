/*
 * cmd_chat_plain.c — `duet chat --plain`: a line interface to one model
 * (or two, answered one after the other and labelled), also what `duet
 * chat` runs when standard input or output is not a terminal. Lines come
 * from libedit (with the persistent history and Tab completion) on a
 * terminal, or plain getline otherwise (libedit needs a tty). The slash
 * commands that make sense without panes work; answers stream as they are
 * generated, thinking shown, hidden or folded per /think; Ctrl-C stops an
 * answer (it stays, marked as stopped), Ctrl-D or /quit leaves.
 *
 * The conversation lives in a struct convo (app/convo.h), so /save, /load,
 * /export and autosave work as in the full interface. Settings per pane
 * are recomputed from their layers (settings.h): template < [model:]
 * profile < command line < slash commands. Calls app/ modules and the
 * engine; no curses.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <histedit.h>

#include "app/cli.h"
#include "app/commands.h"
#include "app/convo.h"
#include "app/history.h"
#include "app/prompts.h"
#include "app/settings.h"
#include "infer/chat.h"
#include "infer/engine.h"
#include "infer/util.h"

#define PLAIN_MAX_LINE (1u << 20) /* bytes of one input message */

struct plain_pane {
	struct engine_model *model;
	struct session *session;
	struct settings_profile profile; /* the [model:...] profiles matching the model */
	struct sampler_params sampling;  /* resolved */
	uint32_t max_tokens;
	bool r1;
	const struct prompt_template *tpl;
};

struct plain {
	struct settings cfg;
	struct settings_cli cli;
	struct prompts templates;
	struct settings_profile runtime; /* what slash commands set */
	bool math;
	enum settings_think think;
	struct convo convo;
	bool autosave;
	char *autosave_path; /* where autosaves go (when autosave) */
	bool autosave_failed;
	struct plain_pane panes[CONVO_MAX_PANES];
	size_t n_panes;
	bool tty_in, tty_out;
	struct history_file *hist;
	EditLine *el;
	char **template_names;
	char *shipped_dir, *user_dir; /* where templates are read from */
	bool warned_template;
};

/* ---- Ctrl-C ---------------------------------------------------------------------------------- */

static struct session *volatile plain_generating;
static volatile sig_atomic_t plain_interrupted;

static void plain_on_sigint(int sig)
{
	struct session *s = plain_generating;

	(void)sig;
	plain_interrupted = 1;
	if (s)
		session_cancel(s);
}

/* ---- messages -------------------------------------------------------------------------------- */

/* Text from a model file or a model (names, answers): escaped on a terminal (DESIGN.md §9). */
static void put_untrusted(const struct plain *pl, const char *s)
{
	cli_write_untrusted(stdout, s, strlen(s), pl->tty_out);
}

static const char *pane_name(const struct plain *pl, size_t i)
{
	const struct convo_pane *cp = &pl->convo.panes[i];
	return cp->model_name ? cp->model_name : cp->model_path ? cp->model_path : "?";
}

static void note(const char *fmt, ...) DUET_PRINTF(1, 2);
static void note(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("duet: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- settings per pane ------------------------------------------------------------------------- */

/* The template in force: /template > --template > profile's; "" = none. */
static const char *plain_template_name(const struct plain *pl, const struct plain_pane *pp)
{
	if (pl->runtime.set & SETTINGS_SET_TEMPLATE)
		return pl->runtime.template_name;
	if (pl->cli.overrides.set & SETTINGS_SET_TEMPLATE)
		return pl->cli.overrides.template_name;
	if (pp->profile.set & SETTINGS_SET_TEMPLATE)
		return pp->profile.template_name;
	return "";
}

/* Recompute a pane's sampling, r1, template and system prompt from the layers. */
static void plain_resolve(struct plain *pl, size_t i)
{
	struct plain_pane *pp = &pl->panes[i];
	struct convo_params *cp = &pl->convo.panes[i].params;
	struct settings_profile eff = {0};
	const char *tname = plain_template_name(pl, pp);

	pp->tpl = *tname ? prompts_find(&pl->templates, tname) : NULL;
	if (*tname && !pp->tpl && !pl->warned_template) {
		note("no template named '%s' (/templates lists them)", tname);
		pl->warned_template = true;
	}
	if (pp->tpl)
		settings_profile_merge(&eff, &pp->tpl->overrides);
	settings_profile_merge(&eff, &pp->profile);
	settings_profile_merge(&eff, &pl->cli.overrides);
	settings_profile_merge(&eff, &pl->runtime);
	pp->r1 = settings_profile_r1(&eff, engine_model_is_r1(pp->model));
	engine_model_sampling_defaults(pp->model, pp->r1, &pp->sampling);
	settings_profile_sampling(&eff, &pp->sampling);
	pp->max_tokens = eff.set & SETTINGS_SET_MAX_TOKENS ? eff.max_tokens : 0;

	cp->sampling = pp->sampling;
	cp->max_tokens = pp->max_tokens;
	cp->r1 = pp->r1;
	cp->math = pl->math;
	cp->chat_format = eff.set & SETTINGS_SET_CHAT_FORMAT ? eff.chat_format : CHAT_FORMAT_UNKNOWN;
	convo_str_set(&cp->template_name, pp->tpl ? pp->tpl->name : NULL);
	if (eff.set & SETTINGS_SET_SYSTEM)
		convo_str_set(&cp->system, *eff.system ? eff.system : NULL);
	else
		convo_str_set(&cp->system, pp->tpl ? pp->tpl->system : NULL);
	settings_profile_free(&eff);
}

static void plain_resolve_all(struct plain *pl)
{
	for (size_t i = 0; i < pl->n_panes; i++)
		plain_resolve(pl, i);
}

/* Open a model into pane i (replacing what is there). */
static int plain_open_model(struct plain *pl, size_t i, const char *path)
{
	struct plain_pane *pp = &pl->panes[i];
	struct settings_profile open_with = {0};
	struct engine_model_params mp = {0};
	struct engine_model *m = NULL;
	struct session *s = NULL;
	char *cause = NULL;

	/* device, threads, gpu_mem, quant and ctx: profile < command line */
	settings_profile_for(&pl->cfg, path, &open_with);
	settings_profile_merge(&open_with, &pl->cli.overrides);
	mp.device = open_with.set & SETTINGS_SET_DEVICE ? open_with.device : NULL;
	mp.n_threads = open_with.set & SETTINGS_SET_THREADS ? open_with.threads : 0;
	mp.gpu_mem = open_with.set & SETTINGS_SET_GPU_MEM ? open_with.gpu_mem : 0;
	mp.quant_bits = open_with.set & SETTINGS_SET_QUANT ? open_with.quant_bits : 0;
	m = engine_model_open(path, &mp, &cause);
	if (!m)
		goto fail;
	s = session_new(m, open_with.set & SETTINGS_SET_CTX ? open_with.ctx : 0, &cause);
	if (!s)
		goto fail;
	if (engine_model_fallback_note(m))
		note("%s", engine_model_fallback_note(m));
	session_free(pp->session);
	engine_model_free(pp->model);
	settings_profile_free(&pp->profile);
	pp->model = m;
	pp->session = s;
	settings_profile_for(&pl->cfg, path, &pp->profile);
	settings_profile_free(&open_with);
	{
		struct convo_pane *cp = &pl->convo.panes[i];
		convo_str_set(&cp->model_path, path);
		convo_str_set(&cp->model_name,
		              engine_model_desc(m)->name[0] ? engine_model_desc(m)->name : NULL);
		convo_str_set(&cp->device, engine_model_device(m));
	}
	plain_resolve(pl, i);
	return 0;
fail:
	note("%s", cause ? cause : "cannot open the model");
	free(cause);
	session_free(s);
	engine_model_free(m);
	settings_profile_free(&open_with);
	return -1;
}

/* ---- streaming an answer ------------------------------------------------------------------------ */

struct plain_out {
	struct plain *pl;
	struct session *session;
	struct buf all;  /* everything generated */
	size_t printed;  /* bytes of all printed or deliberately withheld */
	size_t scan;     /* where the search for "</think>" resumes */
	int state;       /* 0: undecided, 1: thinking, 2: answer */
	bool skip_blank; /* drop blank text between "</think>" and the answer (hide/fold) */
	bool wrote;
	char last;
	uint32_t think_tokens;
};

static void out_put(struct plain_out *o, const char *p, size_t n)
{
	if (o->skip_blank) {
		while (n && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
			p++;
			n--;
		}
		if (!n)
			return;
		o->skip_blank = false;
	}
	if (!n)
		return;
	cli_write_untrusted(stdout, p, n, o->pl->tty_out);
	fflush(stdout);
	o->wrote = true;
	o->last = p[n - 1];
}

static void out_fold(struct plain_out *o, bool finished)
{
	if (o->pl->think != SETTINGS_THINK_FOLD)
		return;
	if (o->wrote && o->last != '\n')
		out_put(o, "\n", 1);
	printf("[thinking: %u tokens%s]\n", o->think_tokens, finished ? "" : ", unfinished");
	fflush(stdout);
	o->wrote = true;
	o->last = '\n';
}

static void out_advance(struct plain_out *o, bool final)
{
	static const char open_tag[] = "<think>", close_tag[] = "</think>";
	const size_t open_len = sizeof open_tag - 1, close_len = sizeof close_tag - 1;
	const char *d = o->all.data;
	size_t len = o->all.len;
	bool show = o->pl->think == SETTINGS_THINK_SHOW;

	if (o->state == 0) {
		size_t ws = 0;
		while (ws < len && (d[ws] == ' ' || d[ws] == '\n'))
			ws++;
		size_t rest = len - ws;
		if (rest >= open_len && memcmp(d + ws, open_tag, open_len) == 0) {
			o->state = 1;
			if (show)
				out_put(o, d, ws + open_len);
			o->printed = o->scan = ws + open_len;
		} else if (final || rest >= open_len || (rest && memcmp(d + ws, open_tag, rest) != 0))
			o->state = 2;
		else
			return;
	}
	if (o->state == 1) {
		const char *end =
		        len > o->scan ? memmem(d + o->scan, len - o->scan, close_tag, close_len) : NULL;
		size_t upto = end ? (size_t)(end - d) + close_len : len;

		if (show)
			out_put(o, d + o->printed, upto - o->printed);
		o->printed = upto;
		o->think_tokens = session_gen_tokens(o->session);
		if (!end) {
			if (len >= close_len && len - (close_len - 1) > o->scan)
				o->scan = len - (close_len - 1);
			if (final)
				out_fold(o, false);
			return;
		}
		o->state = 2;
		out_fold(o, true);
		if (!show)
			o->skip_blank = true;
	}
	if (len > o->printed)
		out_put(o, d + o->printed, len - o->printed);
	o->printed = len;
}

static int plain_on_text(void *user, const char *text, size_t len)
{
	struct plain_out *o = user;

	buf_append(&o->all, text, len);
	out_advance(o, false);
	return 0;
}

static void plain_autosave(struct plain *pl)
{
	char *cause = NULL;

	if (!pl->autosave || !pl->autosave_path || pl->autosave_failed)
		return;
	if (convo_save(&pl->convo, pl->autosave_path, &cause) != 0) {
		note("autosave failed (not trying again): %s", cause);
		free(cause);
		pl->autosave_failed = true;
	}
}

/* Answer the last user message of pane i. */
static int plain_answer(struct plain *pl, size_t i, uint32_t question)
{
	struct plain_pane *pp = &pl->panes[i];
	struct convo_pane *cp = &pl->convo.panes[i];
	struct chat conv = {0};
	struct chat_options co = {0};
	struct gen_params g = {0};
	struct gen_stats st;
	struct plain_out o = {0};
	struct sigaction sa, old;
	struct convo_msg *m;
	char *cause = NULL;
	int rc;

	if (pl->n_panes > 1) {
		printf("── %zu: ", i + 1);
		put_untrusted(pl, pane_name(pl, i));
		printf(" ──\n");
		fflush(stdout);
	}
	convo_pane_to_chat(cp, &conv);
	co.format = cp->params.chat_format;
	co.r1 = pp->r1;
	co.add_generation_prompt = true;
	g.sampling = pp->sampling;
	g.max_tokens = pp->max_tokens;
	o.pl = pl;
	o.session = pp->session;
	o.state = pp->r1 ? 1 : 0; /* an R1 prompt ends inside "<think>\n" */
	if (o.state == 1 && pl->think == SETTINGS_THINK_SHOW)
		out_put(&o, "<think>\n", 8);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = plain_on_sigint;
	sigemptyset(&sa.sa_mask);
	plain_interrupted = 0;
	plain_generating = pp->session;
	sigaction(SIGINT, &sa, &old);
	rc = session_chat(pp->session, &conv, &co, &g, plain_on_text, &o, &st, &cause);
	plain_generating = NULL;
	sigaction(SIGINT, &old, NULL);
	chat_free(&conv);
	if (rc != 0) {
		if (o.wrote && o.last != '\n')
			putchar('\n');
		note("%s", cause ? cause : "generation failed");
		free(cause);
		buf_free(&o.all);
		return -1;
	}
	out_advance(&o, true);
	if (o.wrote && o.last != '\n')
		putchar('\n');
	if (st.stop == GEN_STOP_CANCELLED)
		printf("[stopped]\n");
	fflush(stdout);
	if (st.dropped_turns)
		note("left out %u earlier turn%s to fit the context", st.dropped_turns,
		     st.dropped_turns == 1 ? "" : "s");
	if (st.merged_system && cp->n_msgs == 1)
		note("the system prompt went into the first message (R1 conventions)");

	m = convo_pane_add(cp, CONVO_ROLE_ASSISTANT, o.all.data ? o.all.data : "", o.all.len);
	m->question = question;
	m->think_open = pp->r1;
	m->stopped = st.stop == GEN_STOP_CANCELLED;
	m->has_sampling = true;
	m->sampling = pp->sampling;
	m->r1 = pp->r1;
	m->has_stats = true;
	m->stats = st;
	buf_free(&o.all);
	return 0;
}

/* The \boxed{} answers of the last question, and whether two panes agree. */
static void plain_math_report(struct plain *pl)
{
	char *boxed[CONVO_MAX_PANES] = {0};

	for (size_t i = 0; i < pl->n_panes; i++) {
		const struct convo_pane *cp = &pl->convo.panes[i];
		const char *think, *answer;
		size_t tn, an;

		if (!cp->n_msgs || cp->msgs[cp->n_msgs - 1].role != CONVO_ROLE_ASSISTANT)
			continue;
		convo_msg_split(&cp->msgs[cp->n_msgs - 1], &think, &tn, &answer, &an);
		boxed[i] = chat_extract_boxed(answer, an);
		printf("answer%s%.0zu: ", pl->n_panes > 1 ? " " : "", pl->n_panes > 1 ? i + 1 : 0);
		if (boxed[i])
			cli_write_untrusted(stdout, boxed[i], strlen(boxed[i]), pl->tty_out);
		else
			fputs("(no \\boxed{} answer)", stdout);
		putchar('\n');
	}
	if (pl->n_panes == 2 && boxed[0] && boxed[1])
		printf("the answers %s\n", strcmp(boxed[0], boxed[1]) == 0 ? "agree" : "differ");
	fflush(stdout);
	free(boxed[0]);
	free(boxed[1]);
}

static void plain_ask(struct plain *pl, const char *text)
{
	uint32_t q = convo_last_question(&pl->convo) + 1;

	for (size_t i = 0; i < pl->n_panes; i++) {
		struct plain_pane *pp = &pl->panes[i];
		char *wrapped = prompts_wrap_user(pp->tpl, text);
		struct convo_msg *m;

		if (pl->math && !strstr(wrapped, CHAT_R1_MATH_SUFFIX)) {
			char *with = xasprintf("%s\n%s", wrapped, CHAT_R1_MATH_SUFFIX);
			free(wrapped);
			wrapped = with;
		}
		m = convo_pane_add(&pl->convo.panes[i], CONVO_ROLE_USER, wrapped, strlen(wrapped));
		m->question = q;
		free(wrapped);
		plain_answer(pl, i, q);
		if (plain_interrupted && i + 1 < pl->n_panes) {
			note("stopped; the other model does not answer this one");
			plain_interrupted = 0;
			break;
		}
	}
	if (pl->math)
		plain_math_report(pl);
	plain_autosave(pl);
}

/* ---- slash commands ------------------------------------------------------------------------------ */

static void plain_stats(struct plain *pl)
{
	bool any = false;

	for (size_t i = 0; i < pl->n_panes; i++) {
		const struct convo_pane *cp = &pl->convo.panes[i];
		const struct convo_msg *m = NULL;

		for (size_t k = cp->n_msgs; k-- > 0;)
			if (cp->msgs[k].role == CONVO_ROLE_ASSISTANT && cp->msgs[k].has_stats) {
				m = &cp->msgs[k];
				break;
			}
		printf("%s", pl->n_panes > 1 ? (i ? "2 " : "1 ") : "");
		put_untrusted(pl, pane_name(pl, i));
		printf(" (%s): ", engine_model_device(pl->panes[i].model));
		if (!m) {
			printf("no answers yet\n");
			continue;
		}
		any = true;
		const struct gen_stats *s = &m->stats;
		printf("prompt %u tokens (%u cached), prefill %.1f tokens/s, first token %.1f ms, %u tokens "
		       "at %.1f "
		       "tokens/s, inter-token p50 %.2f ms p99 %.2f ms, peak memory %s, stop %s; temperature "
		       "%g, top-p %g, "
		       "seed %llu%s\n",
		       s->prompt_tokens, s->cached_tokens, s->prefill_tps, s->ttft_ms, s->gen_tokens,
		       s->decode_tps, s->itl_p50_ms, s->itl_p99_ms, cli_human_bytes(s->peak_rss),
		       gen_stop_name(s->stop), (double)m->sampling.temperature, (double)m->sampling.top_p,
		       (unsigned long long)m->sampling.seed, m->r1 ? ", R1" : "");
	}
	(void)any;
	fflush(stdout);
}

static void plain_templates(struct plain *pl)
{
	for (size_t i = 0; i < pl->templates.n; i++) {
		const struct prompt_template *t = &pl->templates.v[i];
		printf("%-18s %s%s\n", t->name, t->description, t->user ? " (yours)" : "");
	}
	if (!pl->templates.n)
		printf("no templates found (in %s or %s)\n", pl->shipped_dir, pl->user_dir);
	fflush(stdout);
}

/* Drop the answers after each pane's last user message and ask again. */
static void plain_retry(struct plain *pl)
{
	uint32_t q = 0;
	bool any = false;

	for (size_t i = 0; i < pl->n_panes; i++) {
		struct convo_pane *cp = &pl->convo.panes[i];
		while (cp->n_msgs && cp->msgs[cp->n_msgs - 1].role == CONVO_ROLE_ASSISTANT) {
			free(cp->msgs[cp->n_msgs - 1].text);
			cp->n_msgs--;
		}
		if (cp->n_msgs && cp->msgs[cp->n_msgs - 1].role == CONVO_ROLE_USER)
			any = true;
	}
	if (!any) {
		note("/retry: nothing to answer again yet");
		return;
	}
	for (size_t i = 0; i < pl->n_panes; i++) {
		struct convo_pane *cp = &pl->convo.panes[i];
		if (!cp->n_msgs || cp->msgs[cp->n_msgs - 1].role != CONVO_ROLE_USER)
			continue;
		q = cp->msgs[cp->n_msgs - 1].question;
		plain_answer(pl, i, q);
		if (plain_interrupted)
			break;
	}
	if (pl->math)
		plain_math_report(pl);
	plain_autosave(pl);
}

static void plain_new_autosave(struct plain *pl)
{
	free(pl->autosave_path);
	pl->autosave_path = convo_autosave_path(pl->convo.created_ms);
	pl->autosave_failed = false;
}

static void plain_load(struct plain *pl, const char *path)
{
	struct convo loaded;
	char *cause = NULL;

	if (convo_load(&loaded, path, &cause) != 0) {
		note("%s", cause);
		free(cause);
		return;
	}
	if (loaded.n_panes > pl->n_panes)
		note("%s holds %zu panes; --plain continues the first %zu", path, loaded.n_panes,
		     pl->n_panes);
	for (size_t i = 0; i < pl->n_panes; i++) {
		struct convo_pane *dst = &pl->convo.panes[i];
		struct convo_pane *src = &loaded.panes[i < loaded.n_panes ? i : 0];

		convo_pane_clear(dst);
		dst->msgs = src->msgs;
		dst->n_msgs = src->n_msgs;
		dst->cap_msgs = src->cap_msgs;
		src->msgs = NULL;
		src->n_msgs = src->cap_msgs = 0;
		if (src->model_path && (!dst->model_path || strcmp(src->model_path, dst->model_path) != 0))
			note("the conversation was with %s; %s continues it", src->model_path,
			     dst->model_path);
		session_reset(pl->panes[i].session);
	}
	/* Its settings become the runtime layer, so they win as if typed. */
	{
		const struct convo_params *p = &loaded.panes[0].params;
		pl->runtime.set |= SETTINGS_SET_TEMPERATURE | SETTINGS_SET_TOP_P | SETTINGS_SET_TOP_K |
		                   SETTINGS_SET_MIN_P | SETTINGS_SET_REPEAT_PENALTY | SETTINGS_SET_SEED |
		                   SETTINGS_SET_R1 | SETTINGS_SET_SYSTEM | SETTINGS_SET_TEMPLATE;
		pl->runtime.temperature = p->sampling.temperature;
		pl->runtime.top_p = p->sampling.top_p;
		pl->runtime.top_k = p->sampling.top_k;
		pl->runtime.min_p = p->sampling.min_p;
		pl->runtime.repeat_penalty = p->sampling.repeat_penalty;
		pl->runtime.seed = p->sampling.seed;
		pl->runtime.r1 = p->r1;
		convo_str_set(&pl->runtime.system, p->system ? p->system : "");
		convo_str_set(&pl->runtime.template_name, p->template_name ? p->template_name : "");
		pl->math = p->math;
	}
	pl->convo.created_ms = loaded.created_ms;
	convo_free(&loaded);
	plain_resolve_all(pl);
	plain_new_autosave(pl);
	printf("loaded %s: %zu messages\n", path, pl->convo.panes[0].n_msgs);
	fflush(stdout);
}

/* Returns 1 to quit. */
static int plain_command(struct plain *pl, const struct command *c)
{
	char *cause = NULL;

	switch (c->id) {
	case COMMAND_HELP: {
		char *help = command_help_text(true);
		fputs(help, stdout);
		fflush(stdout);
		free(help);
		break;
	}
	case COMMAND_MODEL: {
		size_t i = c->pane ? (size_t)c->pane - 1 : 0;
		if (i >= pl->n_panes) {
			note("/model: there is no pane %d in --plain with %zu model%s", c->pane, pl->n_panes,
			     pl->n_panes == 1 ? "" : "s");
			break;
		}
		if (plain_open_model(pl, i, c->arg) == 0) {
			session_reset(pl->panes[i].session);
			printf("model %zu: %s on %s\n", i + 1, c->arg,
			       engine_model_device(pl->panes[i].model));
		}
		break;
	}
	case COMMAND_SYSTEM:
		convo_str_set(&pl->runtime.system, c->arg ? c->arg : "");
		pl->runtime.set |= SETTINGS_SET_SYSTEM;
		plain_resolve_all(pl);
		printf(c->arg ? "system prompt set\n" : "system prompt cleared\n");
		break;
	case COMMAND_TEMPLATE: {
		const struct prompt_template *t = c->arg ? prompts_find(&pl->templates, c->arg) : NULL;
		if (c->arg && !t) {
			note("/template: no template named '%s' (/templates lists them)", c->arg);
			break;
		}
		convo_str_set(&pl->runtime.template_name, c->arg ? c->arg : "");
		pl->runtime.set |= SETTINGS_SET_TEMPLATE;
		plain_resolve_all(pl);
		if (t)
			printf("template %s: %s\n", t->name, t->description);
		else
			printf("no template\n");
		break;
	}
	case COMMAND_TEMPLATES:
		plain_templates(pl);
		break;
	case COMMAND_TEMP:
		pl->runtime.temperature = (float)c->number;
		pl->runtime.set |= SETTINGS_SET_TEMPERATURE;
		plain_resolve_all(pl);
		printf("temperature %g\n", c->number);
		break;
	case COMMAND_TOP_P:
		pl->runtime.top_p = (float)c->number;
		pl->runtime.set |= SETTINGS_SET_TOP_P;
		plain_resolve_all(pl);
		printf("top-p %g\n", c->number);
		break;
	case COMMAND_SEED:
		pl->runtime.seed = c->seed;
		pl->runtime.set |= SETTINGS_SET_SEED;
		plain_resolve_all(pl);
		printf("seed %llu\n", (unsigned long long)c->seed);
		break;
	case COMMAND_R1:
		pl->runtime.r1 = c->on == 1;
		pl->runtime.set |= SETTINGS_SET_R1;
		plain_resolve_all(pl);
		printf("R1 conventions %s (temperature %g, top-p %g)\n", c->on ? "on" : "off",
		       (double)pl->panes[0].sampling.temperature, (double)pl->panes[0].sampling.top_p);
		break;
	case COMMAND_MATH:
		pl->math = c->on == 1;
		plain_resolve_all(pl);
		printf("math %s\n", pl->math ? "on: answers end in \\boxed{}" : "off");
		break;
	case COMMAND_THINK:
		pl->think = (enum settings_think)c->think;
		printf("thinking: %s\n", settings_think_name(pl->think));
		break;
	case COMMAND_RETRY:
		plain_retry(pl);
		break;
	case COMMAND_CLEAR:
		for (size_t i = 0; i < pl->n_panes; i++) {
			convo_pane_clear(&pl->convo.panes[i]);
			session_reset(pl->panes[i].session);
		}
		{
			struct convo fresh;
			convo_init(&fresh);
			pl->convo.created_ms = fresh.created_ms;
			convo_free(&fresh);
		}
		plain_new_autosave(pl);
		printf("new conversation\n");
		break;
	case COMMAND_SAVE: {
		char *path = c->arg ? xstrdup(c->arg) : convo_autosave_path(pl->convo.created_ms);
		if (convo_save(&pl->convo, path, &cause) != 0)
			note("%s", cause);
		else
			printf("saved %s\n", path);
		free(path);
		break;
	}
	case COMMAND_LOAD:
		plain_load(pl, c->arg);
		break;
	case COMMAND_EXPORT:
		if (convo_export_markdown(&pl->convo, c->arg, &cause) != 0)
			note("%s", cause);
		else
			printf("exported %s\n", c->arg);
		break;
	case COMMAND_STATS:
		plain_stats(pl);
		break;
	case COMMAND_LAYOUT:
	case COMMAND_FOCUS:
	case COMMAND_BROADCAST:
		note("/%s needs the full-screen interface (without --plain)", command_table()[c->id].name);
		break;
	case COMMAND_QUIT:
		return 1;
	case COMMAND_COUNT:
		break;
	}
	free(cause);
	fflush(stdout);
	return 0;
}

/* ---- input ----------------------------------------------------------------------------------------- */

static const char *plain_prompt(EditLine *el)
{
	(void)el;
	return "> ";
}

static unsigned char plain_complete(EditLine *el, int ch)
{
	const LineInfo *li = el_line(el);
	struct plain *pl = NULL;
	struct command_completion cc;
	char *line = xstrndup(li->buffer, (size_t)(li->lastchar - li->buffer));
	size_t cursor = (size_t)(li->cursor - li->buffer);
	unsigned char rc = CC_REFRESH;

	(void)ch;
	el_get(el, EL_CLIENTDATA, &pl);
	command_complete(line, cursor, (const char *const *)pl->template_names, pl->templates.n, &cc);
	if (cc.n == 0)
		rc = CC_REFRESH_BEEP;
	else {
		size_t typed = cursor - cc.start;
		if (strlen(cc.common) > typed) {
			el_insertstr(el, cc.common + typed);
			if (cc.n == 1 && cc.common[strlen(cc.common) - 1] != '/')
				el_insertstr(el, " ");
		} else if (cc.n > 1) {
			fputc('\n', stdout);
			for (size_t i = 0; i < cc.n; i++)
				printf("%s%s", cc.v[i], i + 1 < cc.n ? "  " : "\n");
			fflush(stdout);
			rc = CC_REDISPLAY;
		}
	}
	command_completion_free(&cc);
	free(line);
	return rc;
}

/*
 * The next message or command; NULL at end of input. A line ending in '\'
 * continues on the next (the backslash becomes a newline). Caller frees.
 */
static char *plain_read(struct plain *pl)
{
	struct buf b = {0};
	char *line = NULL;
	size_t cap = 0;

	for (;;) {
		const char *got;
		size_t n;
		int count = 0;

		plain_interrupted = 0;
		if (pl->el) {
			el_set(pl->el, EL_PROMPT, plain_prompt);
			got = el_gets(pl->el, &count);
			if (!got && plain_interrupted) {
				/* Ctrl-C at the prompt: drop what was typed */
				fputc('\n', stdout);
				b.len = 0;
				continue;
			}
		} else {
			ssize_t r;
			errno = 0;
			r = getline(&line, &cap, stdin);
			if (r < 0 && errno == EINTR) {
				clearerr(stdin);
				b.len = 0;
				continue;
			}
			got = r < 0 ? NULL : line;
		}
		if (!got) {
			free(line);
			if (b.len) {
				buf_cstr(&b);
				return b.data;
			}
			buf_free(&b);
			return NULL;
		}
		n = strlen(got);
		while (n && (got[n - 1] == '\n' || got[n - 1] == '\r'))
			n--;
		if (b.len + n > PLAIN_MAX_LINE) {
			note("the message is longer than %u bytes; dropped", PLAIN_MAX_LINE);
			b.len = 0;
			continue;
		}
		if (n && got[n - 1] == '\\') {
			buf_append(&b, got, n - 1);
			buf_putc(&b, '\n');
			continue;
		}
		buf_append(&b, got, n);
		break;
	}
	free(line);
	/* trailing blanks (Tab completion leaves one) mean nothing */
	while (b.len && (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\t'))
		b.len--;
	buf_cstr(&b);
	return b.data;
}

/* ---- the command --------------------------------------------------------------------------------------- */

int cmd_chat_plain(int argc, char **argv)
{
	struct plain pl = {0};
	const char *models[CONVO_MAX_PANES] = {0};
	char *cause = NULL, *resolved[CONVO_MAX_PANES] = {0}, *resume_path = NULL;
	struct convo resumed = {0};
	struct sigaction sa, old_sa;
	bool have_resumed = false;
	int rc = CLI_EXIT_FAIL;

	if (settings_cli_parse(argc, argv, &pl.cli, &cause) != 0) {
		fprintf(stderr, "duet chat: %s\n\n%s", cause, SETTINGS_CLI_USAGE);
		free(cause);
		return CLI_EXIT_USAGE;
	}
	if (pl.cli.help) {
		char *help = command_help_text(true);
		printf("%s\nIn --plain (and when input or output is not a terminal), type a message, or:\n%s",
		       SETTINGS_CLI_USAGE, help);
		free(help);
		settings_profile_free(&pl.cli.overrides);
		return CLI_EXIT_OK;
	}
	if (settings_load(&pl.cfg, pl.cli.config_path, &cause) != 0) {
		fprintf(stderr, "duet chat: %s\n", cause);
		free(cause);
		goto done;
	}
	for (size_t i = 0; i < pl.cfg.messages.n; i++)
		note("%s", pl.cfg.messages.v[i]);
	{
		struct ini_messages msgs = {0};
		pl.shipped_dir = prompts_shipped_dir();
		pl.user_dir = prompts_user_dir();
		prompts_load(&pl.templates, pl.shipped_dir, pl.user_dir, &msgs);
		for (size_t i = 0; i < msgs.n; i++)
			note("%s", msgs.v[i]);
		ini_messages_free(&msgs);
		pl.template_names = xcalloc(pl.templates.n + 1, sizeof *pl.template_names);
		for (size_t i = 0; i < pl.templates.n; i++)
			pl.template_names[i] = pl.templates.v[i].name;
	}
	pl.think = pl.cli.think >= 0 ? (enum settings_think)pl.cli.think : pl.cfg.think;
	pl.tty_in = isatty(STDIN_FILENO);
	pl.tty_out = isatty(STDOUT_FILENO);

	if (pl.cli.resume) {
		resume_path = *pl.cli.resume ? xstrdup(pl.cli.resume) : convo_latest(&cause);
		if (!resume_path || convo_load(&resumed, resume_path, &cause) != 0) {
			fprintf(stderr, "duet chat: --resume: %s\n", cause);
			free(cause);
			goto done;
		}
		have_resumed = true;
	}

	/* Models: -m, else the resumed conversation's, else duet.ini's, else the default. */
	if (pl.cli.n_models) {
		for (size_t i = 0; i < pl.cli.n_models; i++)
			models[i] = pl.cli.models[i];
		pl.n_panes = pl.cli.n_models;
	} else if (have_resumed && resumed.panes[0].model_path) {
		pl.n_panes = resumed.n_panes;
		for (size_t i = 0; i < pl.n_panes; i++)
			models[i] = resumed.panes[i].model_path;
	} else {
		models[0] = pl.cfg.model;
		pl.n_panes = 1;
	}
	convo_init(&pl.convo);
	pl.convo.n_panes = pl.n_panes;
	for (size_t i = 0; i < pl.n_panes; i++) {
		resolved[i] = cli_resolve_model(models[i]);
		if (!resolved[i] || plain_open_model(&pl, i, resolved[i]) != 0)
			goto done;
	}
	pl.autosave = pl.cfg.autosave && !pl.cli.no_autosave;
	if (have_resumed) {
		plain_load(&pl, resume_path);
		convo_str_set(&pl.autosave_path, resume_path); /* go on writing the same file */
	} else
		plain_new_autosave(&pl);

	if (pl.tty_in) {
		char *why = NULL;
		pl.hist = history_file_open(NULL, 0, &why);
		if (!pl.hist) {
			note("history: %s", why);
			free(why);
		}
		pl.el = el_init(argv[0] ? argv[0] : "duet", stdin, stdout, stderr);
		if (pl.el) {
			el_set(pl.el, EL_EDITOR, "emacs");
			el_set(pl.el, EL_CLIENTDATA, &pl);
			if (pl.hist)
				el_set(pl.el, EL_HIST, history, history_file_libedit(pl.hist));
			el_set(pl.el, EL_ADDFN, "duet-complete", "complete a command, template or file name",
			       plain_complete);
			el_set(pl.el, EL_BIND, "^I", "duet-complete", NULL);
			el_source(pl.el, NULL);
		}
		if (pl.tty_out) {
			printf("duet %s: ", PACKAGE_VERSION);
			for (size_t i = 0; i < pl.n_panes; i++) {
				printf("%s", i ? " and " : "");
				put_untrusted(&pl, pane_name(&pl, i));
				printf(" on %s", engine_model_device(pl.panes[i].model));
			}
			printf(". /help lists commands, Ctrl-D leaves.\n");
		}
	}

	/* Ctrl-C at the prompt: drop the line (no SA_RESTART so reads return EINTR). */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = plain_on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_sa);
	for (;;) {
		char *text = plain_read(&pl);
		struct command c;
		int kind;

		if (!text)
			break;
		if (pl.hist) {
			char *why = NULL;
			history_file_add(pl.hist, text);
			if (history_file_save(pl.hist, &why) != 0) {
				note("history: %s", why);
				free(why);
			}
		}
		kind = command_parse(text, &c, &cause);
		if (kind < 0) {
			note("%s", cause);
			free(cause);
			cause = NULL;
		} else if (kind > 0) {
			int quit = plain_command(&pl, &c);
			command_free(&c);
			if (quit) {
				free(text);
				break;
			}
		} else {
			const char *msg = text;
			while (*msg == ' ' || *msg == '\t')
				msg++;
			if (msg[0] == '/' && msg[1] == '/')
				msg++;
			if (*msg)
				plain_ask(&pl, msg);
		}
		free(text);
	}
	sigaction(SIGINT, &old_sa, NULL);
	if (pl.tty_in && pl.tty_out)
		fputc('\n', stdout);
	rc = CLI_EXIT_OK;
done:
	if (pl.el)
		el_end(pl.el);
	history_file_free(pl.hist);
	for (size_t i = 0; i < CONVO_MAX_PANES; i++) {
		session_free(pl.panes[i].session);
		engine_model_free(pl.panes[i].model);
		settings_profile_free(&pl.panes[i].profile);
		free(resolved[i]);
	}
	free(pl.autosave_path);
	free(resume_path);
	convo_free(&resumed);
	convo_free(&pl.convo);
	free(pl.template_names);
	free(pl.shipped_dir);
	free(pl.user_dir);
	prompts_free(&pl.templates);
	settings_profile_free(&pl.runtime);
	settings_profile_free(&pl.cli.overrides);
	settings_free(&pl.cfg);
	return rc;
}
