/*
 * chat_tui.c — the full-screen chat (DESIGN.md §2): the UI thread's poll
 * loop over the terminal, the workers' wake-up pipe and a signal self-pipe;
 * the panes' transcripts (ui/transcript.h) fed from worker events; keys
 * turned into actions (ui/input.h) and actions into engine requests
 * (app/tui_worker.h); slash commands (app/commands.h) carried out; settings,
 * templates, history and conversations from app/settings.h, app/prompts.h,
 * app/history.h and app/convo.h.
 *
 * While curses is up nothing may write to the terminal but ui/: standard
 * error is pointed at a log file, and every exit path (quit, SIGTERM,
 * SIGHUP, fatal(), a crash) restores the terminal and standard error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app/chat_tui.h"
#include "app/cli.h"
#include "app/commands.h"
#include "app/convo.h"
#include "app/files.h"
#include "app/history.h"
#include "app/prompts.h"
#include "app/settings.h"
#include "app/tui_worker.h"
#include "infer/util.h"
#include "ui/draw.h"
#include "ui/input.h"
#include "ui/layout.h"
#include "ui/term.h"
#include "ui/text.h"
#include "ui/theme.h"
#include "ui/transcript.h"
#include "ui/view.h"

#define TUI_FRAME_S        (1.0 / 30.0) /* redraw at most this often while text streams */
#define TUI_MESSAGE_S      10.0         /* how long a message stays on the bottom line */
#define TUI_WHEEL_LINES    3
#define TUI_MAX_EDIT_BYTES (16u << 20) /* what $EDITOR may hand back */

enum pane_state {
	PANE_NO_MODEL,
	PANE_LOADING,
	PANE_READY,
	PANE_FAILED,
};

struct pane {
	int index; /* 0 or 1; shown as 1 or 2 */
	struct transcript tr;
	struct ui_view view;
	struct tui_worker *w;

	char *model_path;
	enum pane_state state;
	float progress;
	uint64_t load_job;
	struct tui_model_info info;
	bool have_info;

	struct settings_profile file;    /* the [model:...] profiles matching model_path */
	struct settings_profile runtime; /* what slash commands set */
	bool math;                       /* /math on: the R1 math instruction goes into user messages */
	struct convo_params params;      /* resolved from the layers: what the next answer runs with */
	bool seed_fixed;                 /* a seed was set: every answer uses it */

	uint64_t gen_job;  /* the running answer's request, 0 when idle */
	uint64_t gen_turn; /* its transcript turn */
	uint32_t live_tokens;
	double live_tps, live_ttft_ms;
	struct transcript_stats last; /* the last finished answer's numbers */
	bool merged_said;             /* told the user once that R1 merged the system text */
	bool announce;                /* say in the transcript when the model is ready (/model) */
	size_t dropped;               /* oldest exchanges the engine had to drop to fit the context */
};

/* A [keys] binding: one key, or Ctrl-X then key (chord). */
struct keybind {
	struct ui_key key;
	bool chord;
	enum ui_action action;
};

struct tui {
	struct settings cfg;
	struct settings_cli cli;
	struct prompts prompts;
	struct history_file *hist;
	int64_t created_ms;
	char *autosave_path;
	bool autosave;

	struct pane pane[2];
	int n_panes;
	int focus;
	bool broadcast;
	enum ui_layout_mode layout;
	enum ui_think think;
	bool mouse;

	struct ui_input input;
	struct ui_layout lay;
	struct keybind binds[SETTINGS_KEY_COUNT];
	size_t n_binds;

	struct tui_queue q;
	struct tui_models *models;
	uint64_t next_job;
	uint64_t last_message;

	char *message;
	bool message_error;
	double message_time;
	bool quit_asked;
	bool quit;
	int quit_signal;
	bool dirty;
	double last_draw;
};

static struct tui *tui_global; /* for the fatal hook and crash handlers */
static int sig_pipe[2] = {-1, -1};
static int saved_stderr = -1;

/* ---- small helpers ---------------------------------------------------------------------------- */

static void tui_message(struct tui *t, bool error, const char *fmt, ...) DUET_PRINTF(3, 4);

static void tui_message(struct tui *t, bool error, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		fatal("out of memory formatting a message");
	va_end(ap);
	free(t->message);
	/* One line: a message is never allowed to break the bottom line. */
	for (char *c = s; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	t->message = s;
	t->message_error = error;
	t->message_time = time_now();
	t->dirty = true;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *path_base(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s && s[1] ? s + 1 : p ? p : "";
}

/* A model's short name: its file or folder name without the extension. */
static void model_short_name(const char *path, char *out, size_t size)
{
	char tmp[512];
	size_t n;

	snprintf(tmp, sizeof tmp, "%s", path ? path : "");
	n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	snprintf(out, size, "%s", path_base(tmp));
	n = strlen(out);
	if (n > 5 && strcmp(out + n - 5, ".gguf") == 0)
		out[n - 5] = '\0';
	else if (n > 12 && strcmp(out + n - 12, ".safetensors") == 0)
		out[n - 12] = '\0';
}

static enum ui_think think_from_settings(int t)
{
	return t == SETTINGS_THINK_HIDE   ? UI_THINK_HIDE
	       : t == SETTINGS_THINK_FOLD ? UI_THINK_FOLD
	                                  : UI_THINK_SHOW;
}

static const char *think_name(enum ui_think t)
{
	return t == UI_THINK_HIDE ? "hide" : t == UI_THINK_FOLD ? "fold" : "show";
}

static enum ui_layout_mode layout_from_settings(int l)
{
	return l == SETTINGS_LAYOUT_SIDE      ? UI_LAYOUT_SIDE
	       : l == SETTINGS_LAYOUT_STACKED ? UI_LAYOUT_STACKED
	                                      : UI_LAYOUT_AUTO;
}

static int layout_to_settings(enum ui_layout_mode l)
{
	return l == UI_LAYOUT_SIDE      ? SETTINGS_LAYOUT_SIDE
	       : l == UI_LAYOUT_STACKED ? SETTINGS_LAYOUT_STACKED
	                                : SETTINGS_LAYOUT_AUTO;
}

static uint64_t fresh_seed(void)
{
	static uint64_t counter;
	struct timespec ts;
	uint64_t x;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ (++counter * 0x9e3779b97f4a7c15u);
	x ^= x >> 31;
	return x;
}

static struct transcript_turn *pane_turn(const struct pane *p, uint64_t id, size_t *index)
{
	for (size_t i = p->tr.n; i-- > 0;)
		if (p->tr.turns[i]->id == id) {
			if (index)
				*index = i;
			return p->tr.turns[i];
		}
	return NULL;
}

static bool pane_busy(const struct pane *p)
{
	return p->gen_job != 0;
}

/* ---- settings: the layers of a pane ----------------------------------------------------------- */

static const char *pane_template_name(const struct tui *t, const struct pane *p)
{
	if (p->runtime.set & SETTINGS_SET_TEMPLATE)
		return p->runtime.template_name;
	if (t->cli.overrides.set & SETTINGS_SET_TEMPLATE)
		return t->cli.overrides.template_name;
	if (p->file.set & SETTINGS_SET_TEMPLATE)
		return p->file.template_name;
	return NULL;
}

static const struct prompt_template *pane_template(const struct tui *t, const struct pane *p)
{
	const char *name = pane_template_name(t, p);
	return name && *name ? prompts_find(&t->prompts, name) : NULL;
}

/*
 * Resolve what the next answer runs with (settings.h's precedence): the
 * model's defaults, the template's overrides, the [model:...] profiles, the
 * command line, then the slash commands.
 */
static void pane_resolve(struct tui *t, struct pane *p)
{
	const struct prompt_template *tpl = pane_template(t, p);
	struct settings_profile eff = {0};
	const char *system = NULL;
	struct sampler_params sp;

	if (tpl)
		settings_profile_merge(&eff, &tpl->overrides);
	settings_profile_merge(&eff, &p->file);
	settings_profile_merge(&eff, &t->cli.overrides);
	settings_profile_merge(&eff, &p->runtime);

	if (p->runtime.set & SETTINGS_SET_SYSTEM)
		system = p->runtime.system;
	else if (t->cli.overrides.set & SETTINGS_SET_SYSTEM)
		system = t->cli.overrides.system;
	else if (tpl && tpl->system)
		system = tpl->system;
	else if (p->file.set & SETTINGS_SET_SYSTEM)
		system = p->file.system;

	p->params.r1 = settings_profile_r1(&eff, p->have_info && p->info.is_r1);
	if (p->have_info)
		sp = p->params.r1 ? p->info.sampling_r1 : p->info.sampling_plain;
	else
		sampler_params_default(&sp);
	settings_profile_sampling(&eff, &sp);
	p->params.sampling = sp;
	p->seed_fixed = (eff.set & SETTINGS_SET_SEED) != 0;
	p->params.max_tokens = eff.set & SETTINGS_SET_MAX_TOKENS ? eff.max_tokens : 0;
	p->params.chat_format = eff.set & SETTINGS_SET_CHAT_FORMAT ? eff.chat_format : CHAT_FORMAT_UNKNOWN;
	p->params.math = p->math;
	convo_str_set(&p->params.template_name, tpl ? tpl->name : NULL);
	convo_str_set(&p->params.system, system && *system ? system : NULL);
	settings_profile_free(&eff);
}

/* The load parameters (device, threads, GPU memory cap, quantisation, context) of a pane's model. */
static void pane_load_params(struct tui *t, struct pane *p, const char **device, int *threads, uint64_t *gpu_mem,
                             int *quant_bits, uint32_t *ctx)
{
	*device = NULL;
	*threads = 0;
	*gpu_mem = 0;
	*quant_bits = 0;
	*ctx = 0;
	if (t->cli.overrides.set & SETTINGS_SET_DEVICE)
		*device = t->cli.overrides.device;
	else if (p->file.set & SETTINGS_SET_DEVICE)
		*device = p->file.device;
	if (t->cli.overrides.set & SETTINGS_SET_THREADS)
		*threads = t->cli.overrides.threads;
	else if (p->file.set & SETTINGS_SET_THREADS)
		*threads = p->file.threads;
	if (t->cli.overrides.set & SETTINGS_SET_GPU_MEM)
		*gpu_mem = t->cli.overrides.gpu_mem;
	else if (p->file.set & SETTINGS_SET_GPU_MEM)
		*gpu_mem = p->file.gpu_mem;
	if (t->cli.overrides.set & SETTINGS_SET_QUANT)
		*quant_bits = t->cli.overrides.quant_bits;
	else if (p->file.set & SETTINGS_SET_QUANT)
		*quant_bits = p->file.quant_bits;
	if (t->cli.overrides.set & SETTINGS_SET_CTX)
		*ctx = t->cli.overrides.ctx;
	else if (p->file.set & SETTINGS_SET_CTX)
		*ctx = p->file.ctx;
}

/* ---- conversations: transcript <-> convo and chat ---------------------------------------------- */

/*
 * The conversation the engine answers: the system text, then the earlier
 * exchanges whose answers exist (a stopped answer counts: the user saw it),
 * the oldest `dropped` of them left out, then the question being answered.
 */
static void pane_build_chat(const struct pane *p, const struct transcript_turn *question, struct chat *out)
{
	size_t n_pairs = 0, skip = p->dropped;

	if (p->params.system)
		chat_add(out, CHAT_ROLE_SYSTEM, p->params.system, strlen(p->params.system));
	for (size_t i = 0; i < p->tr.n; i++) {
		const struct transcript_turn *u = p->tr.turns[i], *a = NULL;
		if (u->role != TRANSCRIPT_USER)
			continue;
		if (u == question) {
			chat_add(out, CHAT_ROLE_USER, u->text.data, u->text.len);
			break;
		}
		for (size_t j = i + 1; j < p->tr.n && p->tr.turns[j]->role != TRANSCRIPT_USER; j++)
			if (p->tr.turns[j]->role == TRANSCRIPT_ASSISTANT &&
			    p->tr.turns[j]->message == u->message)
				a = p->tr.turns[j];
		if (!a || transcript_turn_busy(a) || a->state == TRANSCRIPT_FAILED || a->text.len == 0)
			continue;
		if (n_pairs++ < skip)
			continue;
		chat_add(out, CHAT_ROLE_USER, u->text.data, u->text.len);
		chat_add(out, CHAT_ROLE_ASSISTANT, a->text.data, a->text.len);
	}
}

static enum gen_stop stop_parse(const char *name)
{
	static const enum gen_stop all[] = {GEN_STOP_EOS, GEN_STOP_MAX_TOKENS, GEN_STOP_STRING,
	                                    GEN_STOP_CANCELLED, GEN_STOP_CONTEXT};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		if (strcmp(gen_stop_name(all[i]), name) == 0)
			return all[i];
	return GEN_STOP_EOS;
}

static void stats_from_gen(struct transcript_stats *ts, const struct gen_stats *g, uint32_t ctx_used,
                           uint32_t ctx_size)
{
	memset(ts, 0, sizeof *ts);
	ts->valid = true;
	ts->ttft_ms = g->ttft_ms;
	ts->prefill_tps = g->prefill_tps;
	ts->decode_tps = g->decode_tps;
	ts->itl_p50_ms = g->itl_p50_ms;
	ts->itl_p99_ms = g->itl_p99_ms;
	ts->prompt_tokens = g->prompt_tokens;
	ts->cached_tokens = g->cached_tokens;
	ts->gen_tokens = g->gen_tokens;
	ts->ctx_used = ctx_used;
	ts->ctx_size = ctx_size;
	ts->peak_rss = g->peak_rss;
	ts->device_bytes = g->device_bytes;
	snprintf(ts->stop, sizeof ts->stop, "%s", gen_stop_name(g->stop));
}

static void stats_to_gen(const struct transcript_stats *ts, struct gen_stats *g)
{
	memset(g, 0, sizeof *g);
	g->ttft_ms = ts->ttft_ms;
	g->prefill_tps = ts->prefill_tps;
	g->decode_tps = ts->decode_tps;
	g->itl_p50_ms = ts->itl_p50_ms;
	g->itl_p99_ms = ts->itl_p99_ms;
	g->prompt_tokens = ts->prompt_tokens;
	g->cached_tokens = ts->cached_tokens;
	g->gen_tokens = ts->gen_tokens;
	g->peak_rss = ts->peak_rss;
	g->device_bytes = ts->device_bytes;
	g->stop = stop_parse(ts->stop);
}

static void params_copy(struct convo_params *dst, const struct convo_params *src)
{
	dst->sampling = src->sampling;
	dst->max_tokens = src->max_tokens;
	dst->r1 = src->r1;
	dst->math = src->math;
	dst->chat_format = src->chat_format;
	convo_str_set(&dst->template_name, src->template_name);
	convo_str_set(&dst->system, src->system);
}

/* The panes as a conversation file. Answers still streaming count as stopped. */
static void tui_to_convo(const struct tui *t, struct convo *c)
{
	convo_init(c);
	c->created_ms = t->created_ms;
	c->layout = layout_to_settings(t->layout);
	c->broadcast = t->broadcast;
	c->focus = t->focus;
	c->n_panes = (size_t)t->n_panes;
	for (int i = 0; i < t->n_panes; i++) {
		const struct pane *p = &t->pane[i];
		struct convo_pane *cp = &c->panes[i];
		convo_str_set(&cp->model_path, p->model_path);
		convo_str_set(&cp->model_name, p->have_info ? p->info.name : NULL);
		convo_str_set(&cp->device, p->have_info ? p->info.device : NULL);
		params_copy(&cp->params, &p->params);
		for (size_t k = 0; k < p->tr.n; k++) {
			const struct transcript_turn *turn = p->tr.turns[k];
			struct convo_msg *m;
			if (turn->role == TRANSCRIPT_USER) {
				m = convo_pane_add(cp, CONVO_ROLE_USER, turn->text.data, turn->text.len);
				m->question = (uint32_t)turn->message;
			} else if (turn->role == TRANSCRIPT_ASSISTANT && turn->state != TRANSCRIPT_FAILED) {
				m = convo_pane_add(cp, CONVO_ROLE_ASSISTANT, turn->text.data, turn->text.len);
				m->question = (uint32_t)turn->message;
				m->think_open = turn->starts_in_think;
				m->stopped = turn->state == TRANSCRIPT_STOPPED || transcript_turn_busy(turn);
				if (turn->stats.valid) {
					m->has_stats = true;
					stats_to_gen(&turn->stats, &m->stats);
				}
			}
		}
	}
}

static void agreement_update(struct tui *t, uint64_t message);
static bool any_busy(const struct tui *t);

/*
 * Fill a pane's transcript from a loaded conversation pane; adopt: also take
 * its settings (--resume), except what the command line sets.
 */
static void pane_from_convo(struct tui *t, struct pane *p, const struct convo_pane *cp, bool adopt)
{
	uint64_t q = 0, n_user = 0;

	transcript_clear(&p->tr);
	p->dropped = 0;
	memset(&p->last, 0, sizeof p->last);
	for (size_t k = 0; k < cp->n_msgs; k++) {
		const struct convo_msg *m = &cp->msgs[k];
		struct transcript_turn *turn;
		switch (m->role) {
		case CONVO_ROLE_USER:
			/* Unnumbered questions pair across panes by their order. */
			n_user++;
			q = m->question ? m->question : n_user;
			if (q > t->last_message)
				t->last_message = q;
			transcript_add(&p->tr, TRANSCRIPT_USER, q, m->text, strlen(m->text));
			break;
		case CONVO_ROLE_ASSISTANT:
			turn = transcript_begin_answer(&p->tr, m->question ? m->question : q, m->think_open);
			transcript_turn_append(turn, m->text, strlen(m->text));
			transcript_turn_finish(turn, m->stopped ? TRANSCRIPT_STOPPED : TRANSCRIPT_DONE, NULL);
			if (m->has_stats) {
				stats_from_gen(&turn->stats, &m->stats, 0, 0);
				p->last = turn->stats;
			}
			break;
		case CONVO_ROLE_SYSTEM:
			settings_profile_set(&p->runtime, "system", m->text, NULL);
			break;
		}
	}
	if (adopt) {
		/* The saved settings become this pane's runtime layer, under the command line's. */
		unsigned cli = t->cli.overrides.set;
		unsigned set = (SETTINGS_SET_TEMPERATURE | SETTINGS_SET_TOP_P | SETTINGS_SET_R1 |
		                SETTINGS_SET_TEMPLATE | SETTINGS_SET_SYSTEM |
		                (cp->params.max_tokens ? SETTINGS_SET_MAX_TOKENS : 0)) &
		               ~cli;
		p->runtime.set |= set;
		p->runtime.temperature = cp->params.sampling.temperature;
		p->runtime.top_p = cp->params.sampling.top_p;
		p->runtime.r1 = cp->params.r1;
		p->runtime.max_tokens = cp->params.max_tokens;
		convo_str_set(&p->runtime.template_name,
		              cp->params.template_name ? cp->params.template_name : "");
		convo_str_set(&p->runtime.system, cp->params.system ? cp->params.system : "");
		p->math = cp->params.math;
	}
	pane_resolve(t, p);
}

static void tui_autosave(struct tui *t)
{
	struct convo c;
	char *cause = NULL;
	bool any = false;

	if (!t->autosave)
		return;
	for (int i = 0; i < t->n_panes; i++)
		any |= t->pane[i].tr.n > 0;
	if (!any)
		return;
	if (!t->autosave_path)
		t->autosave_path = convo_autosave_path(t->created_ms);
	tui_to_convo(t, &c);
	if (convo_save(&c, t->autosave_path, &cause) != 0) {
		tui_message(t, true, "autosave failed: %s", cause);
		free(cause);
	}
	convo_free(&c);
}

/* ---- panes: models and answers ----------------------------------------------------------------- */

static int pane_start(struct tui *t, int i, char **cause)
{
	struct pane *p = &t->pane[i];

	if (p->w)
		return 0;
	p->index = i;
	sampler_params_default(&p->params.sampling);
	p->w = tui_worker_start(i, &t->q, t->models, cause);
	return p->w ? 0 : -1;
}

/* Load path into pane p (queued behind whatever it is doing). */
static void pane_load(struct tui *t, struct pane *p, const char *path)
{
	const char *device;
	int threads, quant_bits;
	uint64_t gpu_mem;
	uint32_t ctx;

	free(p->model_path);
	p->model_path = xstrdup(path);
	settings_profile_free(&p->file);
	settings_profile_for(&t->cfg, path, &p->file);
	p->state = PANE_LOADING;
	p->progress = 0;
	p->have_info = false;
	p->load_job = ++t->next_job;
	pane_load_params(t, p, &device, &threads, &gpu_mem, &quant_bits, &ctx);
	pane_resolve(t, p);
	tui_worker_load(p->w, p->load_job, path, device, threads, gpu_mem, quant_bits, ctx);
	t->dirty = true;
}

static void pane_cancel(struct pane *p)
{
	if (p->gen_job)
		tui_worker_cancel(p->w);
}

/* Start answering question (a user turn of p) on p's worker. */
static void pane_answer(struct tui *t, struct pane *p, const struct transcript_turn *question)
{
	struct transcript_turn *turn = transcript_begin_answer(&p->tr, question->message, p->params.r1);
	struct chat chat = {0};
	struct chat_options o = {0};
	struct gen_params g = {0};

	pane_build_chat(p, question, &chat);
	o.format = p->params.chat_format;
	o.r1 = p->params.r1;
	o.add_generation_prompt = true;
	g.sampling = p->params.sampling;
	if (!p->seed_fixed)
		g.sampling.seed = fresh_seed();
	g.max_tokens = p->params.max_tokens;
	p->gen_job = ++t->next_job;
	p->gen_turn = turn->id;
	p->live_tokens = 0;
	p->live_tps = 0;
	p->live_ttft_ms = 0;
	p->view.scroll = 0;
	tui_worker_chat(p->w, p->gen_job, &chat, &o, &g);
	t->dirty = true;
}

/* The text a user message is sent as: the template's prefix and suffix, and the math instruction. */
static char *pane_wrap_user(const struct tui *t, const struct pane *p, const char *text)
{
	char *s = prompts_wrap_user(pane_template(t, p), text);

	if (p->math && !strstr(s, "\\boxed")) {
		char *m = xasprintf("%s\n%s", s, CHAT_R1_MATH_SUFFIX);
		free(s);
		s = m;
	}
	return s;
}

/* Whether pane p can take a question now; says why not. */
static bool pane_ready_for(struct tui *t, const struct pane *p)
{
	if (pane_busy(p)) {
		tui_message(t, true, "pane %d is still answering (Esc stops it)", p->index + 1);
		return false;
	}
	if (p->state == PANE_NO_MODEL || p->state == PANE_FAILED) {
		tui_message(t, true, "pane %d has no model (/model %d PATH loads one)", p->index + 1,
		            p->index + 1);
		return false;
	}
	return true;
}

/* The panes a message or a per-pane command goes to: both when broadcasting, else the focused one. */
static int targets(const struct tui *t, int *out)
{
	int n = 0;

	if (t->broadcast)
		for (int i = 0; i < t->n_panes; i++)
			out[n++] = i;
	else
		out[n++] = t->focus;
	return n;
}

static bool send_message(struct tui *t, const char *text)
{
	int tg[2] = {0, 0}, n = targets(t, tg);
	uint64_t msg;

	for (int k = 0; k < n; k++)
		if (!pane_ready_for(t, &t->pane[tg[k]]))
			return false;
	msg = ++t->last_message;
	for (int k = 0; k < n; k++) {
		struct pane *p = &t->pane[tg[k]];
		char *sent = pane_wrap_user(t, p, text);
		struct transcript_turn *q = transcript_add(&p->tr, TRANSCRIPT_USER, msg, sent, strlen(sent));
		free(sent);
		pane_answer(t, p, q);
	}
	tui_autosave(t);
	return true;
}

static void cancel_all(struct tui *t)
{
	bool any = false;

	for (int i = 0; i < t->n_panes; i++) {
		any |= pane_busy(&t->pane[i]);
		pane_cancel(&t->pane[i]);
	}
	if (any)
		tui_message(t, false, "stopping…");
}

/* With two panes and both answers to message in, compare their \boxed{} answers. */
static void agreement_update(struct tui *t, uint64_t message)
{
	struct transcript_turn *a[2] = {NULL, NULL};
	char *boxed[2];

	if (t->n_panes < 2 || message == 0)
		return;
	for (int i = 0; i < 2; i++) {
		struct pane *p = &t->pane[i];
		for (size_t k = p->tr.n; k-- > 0;) {
			struct transcript_turn *turn = p->tr.turns[k];
			if (turn->role == TRANSCRIPT_ASSISTANT && turn->message == message) {
				a[i] = turn;
				break;
			}
		}
		if (!a[i] || transcript_turn_busy(a[i]) || a[i]->state == TRANSCRIPT_FAILED)
			return;
	}
	boxed[0] = transcript_turn_boxed(a[0]);
	boxed[1] = transcript_turn_boxed(a[1]);
	if (boxed[0] || boxed[1]) {
		transcript_turn_set_agreement(a[0], boxed[1]);
		transcript_turn_set_agreement(a[1], boxed[0]);
	}
	free(boxed[0]);
	free(boxed[1]);
}

static void event_handle(struct tui *t, struct tui_event *ev)
{
	struct pane *p;
	struct transcript_turn *turn;

	if (ev->pane < 0 || ev->pane >= t->n_panes)
		return;
	p = &t->pane[ev->pane];
	switch (ev->type) {
	case TUI_EV_PROGRESS:
		if (ev->job == p->load_job)
			p->progress = ev->progress;
		break;
	case TUI_EV_LOADED:
		if (ev->job != p->load_job)
			break;
		p->state = PANE_READY;
		p->info = ev->info;
		p->have_info = true;
		pane_resolve(t, p);
		if (p->info.note[0])
			transcript_add_note(&p->tr, TRANSCRIPT_NOTE, "%s", p->info.note);
		if (p->announce) {
			char name[160];
			model_short_name(p->model_path, name, sizeof name);
			transcript_add_note(&p->tr, TRANSCRIPT_NOTE, "model %s (%s) on %s", name,
			                    p->info.name, p->info.device);
			p->announce = false;
		}
		break;
	case TUI_EV_LOAD_FAILED:
		if (ev->job != p->load_job)
			break;
		p->state = PANE_FAILED;
		transcript_add_note(&p->tr, TRANSCRIPT_ERROR, "%s",
		                    ev->text ? ev->text : "the model could not be loaded");
		break;
	case TUI_EV_TEXT:
		if (ev->job != p->gen_job || !(turn = pane_turn(p, p->gen_turn, NULL)))
			break;
		transcript_turn_append(turn, ev->text, ev->len);
		p->live_tokens = ev->tokens;
		p->live_ttft_ms = ev->ttft_ms;
		p->live_tps = ev->tokens > 1 && ev->elapsed_s > 0 ? (ev->tokens - 1) / ev->elapsed_s : 0;
		break;
	case TUI_EV_DONE:
		if (ev->job != p->gen_job)
			break;
		p->gen_job = 0;
		if (!(turn = pane_turn(p, p->gen_turn, NULL)))
			break;
		stats_from_gen(&turn->stats, &ev->stats, ev->n_cached, ev->n_ctx ? ev->n_ctx : p->info.n_ctx);
		if (ev->stats.stop != GEN_STOP_CANCELLED || ev->stats.gen_tokens > 0 || ev->n_cached > 0)
			p->last = turn->stats;
		transcript_turn_finish(
		        turn, ev->stats.stop == GEN_STOP_CANCELLED ? TRANSCRIPT_STOPPED : TRANSCRIPT_DONE,
		        NULL);
		if (ev->stats.merged_system && !p->merged_said) {
			p->merged_said = true;
			transcript_add_note(
			        &p->tr, TRANSCRIPT_NOTE,
			        "R1 conventions: the system text went into the first user message");
		}
		if (ev->stats.dropped_turns) {
			p->dropped += ev->stats.dropped_turns;
			transcript_add_note(
			        &p->tr, TRANSCRIPT_NOTE,
			        "the conversation outgrew the context: the oldest %u exchange%s no longer "
			        "reach%s the model",
			        ev->stats.dropped_turns, ev->stats.dropped_turns == 1 ? "" : "s",
			        ev->stats.dropped_turns == 1 ? "es" : "");
		}
		if (ev->stats.stop == GEN_STOP_CONTEXT)
			transcript_add_note(&p->tr, TRANSCRIPT_NOTE,
			                    "the context is full (%u tokens): /clear starts over",
			                    turn->stats.ctx_size);
		agreement_update(t, turn->message);
		tui_autosave(t);
		if (ev->stats.stop == GEN_STOP_CANCELLED && !any_busy(t))
			tui_message(t, false, "stopped");
		break;
	case TUI_EV_FAILED:
		if (ev->job != p->gen_job)
			break;
		p->gen_job = 0;
		if ((turn = pane_turn(p, p->gen_turn, NULL)))
			transcript_turn_finish(turn, TRANSCRIPT_FAILED, ev->text);
		break;
	}
	t->dirty = true;
}

/* ---- slash commands ------------------------------------------------------------------------------ */

static const char tui_keys_help[] =
        "keys: Enter send · Alt-Enter/Ctrl-J newline · Esc/Ctrl-C stop · Ctrl-D quit (empty line)\n"
        "↑/↓ history · Ctrl-R search history · Tab complete · Ctrl-X Ctrl-E $EDITOR\n"
        "PgUp/PgDn scroll · Ctrl-T fold thinking · Ctrl-O other pane · Ctrl-X b broadcast · Ctrl-L redraw";

static struct pane *focused(struct tui *t)
{
	return &t->pane[t->focus];
}

static int cmd_model(struct tui *t, const struct command *c)
{
	int i = c->pane ? c->pane - 1 : t->focus;
	char *cause = NULL;
	struct pane *p;

	if (!path_exists(c->arg)) {
		tui_message(t, true, "/model: %s: no such file or folder", c->arg);
		return -1;
	}
	if (i == 1 && t->n_panes == 1) {
		if (pane_start(t, 1, &cause) != 0) {
			tui_message(t, true, "/model: %s", cause);
			free(cause);
			return -1;
		}
		t->n_panes = 2;
		t->pane[1].runtime.set = 0;
	}
	p = &t->pane[i];
	pane_cancel(p);
	p->gen_job = 0; /* what the old model still says is dropped */
	if (pane_turn(p, p->gen_turn, NULL) && transcript_turn_busy(pane_turn(p, p->gen_turn, NULL)))
		transcript_turn_finish(pane_turn(p, p->gen_turn, NULL), TRANSCRIPT_STOPPED, NULL);
	pane_load(t, p, c->arg);
	p->announce = true;
	p->dropped = 0;
	tui_message(t, false, "pane %d: loading %s", i + 1, path_base(c->arg));
	return 0;
}

static void cmd_per_pane(struct tui *t, const struct command *c)
{
	int tg[2] = {0, 0}, n = targets(t, tg);
	char *why = NULL;

	for (int k = 0; k < n; k++) {
		struct pane *p = &t->pane[tg[k]];
		char num[64];
		switch (c->id) {
		case COMMAND_TEMP:
			snprintf(num, sizeof num, "%.17g", c->number);
			settings_profile_set(&p->runtime, "temperature", num, &why);
			break;
		case COMMAND_TOP_P:
			snprintf(num, sizeof num, "%.17g", c->number);
			settings_profile_set(&p->runtime, "top_p", num, &why);
			break;
		case COMMAND_SEED:
			snprintf(num, sizeof num, "%llu", (unsigned long long)c->seed);
			settings_profile_set(&p->runtime, "seed", num, &why);
			break;
		case COMMAND_R1:
			p->runtime.set |= SETTINGS_SET_R1;
			p->runtime.r1 = c->on == 1;
			break;
		case COMMAND_MATH:
			p->math = c->on == 1;
			break;
		case COMMAND_SYSTEM:
			p->runtime.set |= SETTINGS_SET_SYSTEM;
			convo_str_set(&p->runtime.system, c->arg ? c->arg : "");
			break;
		default:
			break;
		}
		free(why);
		why = NULL;
		pane_resolve(t, p);
	}
	{
		const struct pane *p = &t->pane[tg[0]];
		const char *who = n > 1 ? "both panes" : t->n_panes > 1 ? (tg[0] ? "pane 2" : "pane 1") : "";
		const char *sep = *who ? ": " : "";
		switch (c->id) {
		case COMMAND_TEMP:
			tui_message(t, false, "%s%stemperature %g%s", who, sep, c->number,
			            c->number == 0 ? " (greedy)" : "");
			break;
		case COMMAND_TOP_P:
			tui_message(t, false, "%s%stop-p %g", who, sep, c->number);
			break;
		case COMMAND_SEED:
			tui_message(t, false, "%s%sseed %llu", who, sep, (unsigned long long)c->seed);
			break;
		case COMMAND_R1:
			tui_message(t, false, "%s%sR1 conventions %s (temperature %g, top-p %g)", who, sep,
			            c->on == 1 ? "on" : "off", (double)p->params.sampling.temperature,
			            (double)p->params.sampling.top_p);
			break;
		case COMMAND_MATH:
			tui_message(t, false, "%s%smath %s%s", who, sep, c->on == 1 ? "on" : "off",
			            c->on == 1 ? ": questions ask for a \\boxed{} answer" : "");
			break;
		case COMMAND_SYSTEM:
			if (c->arg && *c->arg)
				tui_message(t, false, "%s%ssystem prompt set%s", who, sep,
				            p->params.r1 ? " (R1: it goes into the first user message)" : "");
			else
				tui_message(t, false, "%s%ssystem prompt cleared", who, sep);
			break;
		default:
			break;
		}
	}
}

static int cmd_template(struct tui *t, const struct command *c)
{
	int tg[2] = {0, 0}, n = targets(t, tg);
	const struct prompt_template *tpl = NULL;

	if (c->arg && *c->arg && !(tpl = prompts_find(&t->prompts, c->arg))) {
		tui_message(t, true, "/template: no template '%s' (/templates lists them)", c->arg);
		return -1;
	}
	for (int k = 0; k < n; k++) {
		struct pane *p = &t->pane[tg[k]];
		p->runtime.set |= SETTINGS_SET_TEMPLATE;
		convo_str_set(&p->runtime.template_name, tpl ? tpl->name : "");
		/* The template's system prompt takes over from an earlier /system. */
		p->runtime.set &= ~(unsigned)SETTINGS_SET_SYSTEM;
		/* Its sampling overrides too: drop what earlier commands set. */
		p->runtime.set &=
		        ~(unsigned)(SETTINGS_SET_TEMPERATURE | SETTINGS_SET_TOP_P | SETTINGS_SET_R1);
		pane_resolve(t, p);
	}
	if (tpl)
		tui_message(t, false, "template %s%s%s", tpl->name, *tpl->description ? ": " : "",
		            tpl->description);
	else
		tui_message(t, false, "no template");
	return 0;
}

static void cmd_templates(struct tui *t)
{
	struct buf b = {0};
	const char *cur = focused(t)->params.template_name;

	if (t->prompts.n == 0) {
		tui_message(t, true, "no templates found (%s)", "prompts/*.ini");
		return;
	}
	buf_printf(&b, "templates (/template NAME):");
	for (size_t i = 0; i < t->prompts.n; i++) {
		const struct prompt_template *p = &t->prompts.v[i];
		buf_printf(&b, "\n%s %s%s%s", cur && strcmp(cur, p->name) == 0 ? "•" : " ", p->name,
		           *p->description ? " — " : "", p->description);
	}
	transcript_add_note(&focused(t)->tr, TRANSCRIPT_NOTE, "%s", buf_cstr(&b));
	focused(t)->view.scroll = 0;
	buf_free(&b);
}

static int cmd_retry(struct tui *t)
{
	int tg[2] = {0, 0}, n = targets(t, tg), started = 0;

	for (int k = 0; k < n; k++) {
		struct pane *p = &t->pane[tg[k]];
		struct transcript_turn *q = transcript_last(&p->tr, TRANSCRIPT_USER);
		if (!q) {
			if (n == 1) {
				tui_message(t, true, "/retry: nothing to retry yet");
				return -1;
			}
			continue;
		}
		if (!pane_ready_for(t, p))
			return -1;
	}
	for (int k = 0; k < n; k++) {
		struct pane *p = &t->pane[tg[k]];
		struct transcript_turn *q = transcript_last(&p->tr, TRANSCRIPT_USER);
		if (!q)
			continue;
		/* Drop the old answer(s) to that question and what was said after it. */
		for (size_t i = p->tr.n; i-- > 0 && p->tr.turns[i] != q;)
			transcript_remove(&p->tr, i);
		pane_answer(t, p, q);
		started++;
	}
	if (!started) {
		tui_message(t, true, "/retry: nothing to retry yet");
		return -1;
	}
	tui_message(t, false, "retrying");
	return 0;
}

static void pane_clear(struct pane *p)
{
	pane_cancel(p);
	p->gen_job = 0;
	transcript_clear(&p->tr);
	p->dropped = 0;
	p->merged_said = false;
	memset(&p->last, 0, sizeof p->last);
	p->view.scroll = 0;
}

static void cmd_clear(struct tui *t)
{
	int tg[2] = {0, 0}, n = targets(t, tg);

	tui_autosave(t);
	for (int k = 0; k < n; k++)
		pane_clear(&t->pane[tg[k]]);
	if (n == t->n_panes) {
		/* A new conversation: the old one stays in its file. */
		t->created_ms = now_ms();
		free(t->autosave_path);
		t->autosave_path = NULL;
	}
	tui_message(t, false, "conversation cleared");
}

static int cmd_save(struct tui *t, const struct command *c)
{
	struct convo conv;
	char *cause = NULL;
	char *path = c->arg ? xstrdup(c->arg) : NULL;
	int rc;

	if (!path) {
		if (!t->autosave_path)
			t->autosave_path = convo_autosave_path(t->created_ms);
		path = xstrdup(t->autosave_path);
	}
	tui_to_convo(t, &conv);
	rc = convo_save(&conv, path, &cause);
	if (rc != 0)
		tui_message(t, true, "/save: %s", cause);
	else
		tui_message(t, false, "saved to %s", path);
	convo_free(&conv);
	free(cause);
	free(path);
	return rc;
}

static void apply_convo(struct tui *t, const struct convo *c, bool load_models);

static int cmd_load(struct tui *t, const struct command *c)
{
	struct convo conv;
	char *cause = NULL;

	if (convo_load(&conv, c->arg, &cause) != 0) {
		tui_message(t, true, "/load: %s", cause);
		free(cause);
		return -1;
	}
	tui_autosave(t);
	apply_convo(t, &conv, false);
	convo_free(&conv);
	/*
	 * The loaded file stays as the user saved it: the conversation goes on
	 * in a new autosave file (which `duet --resume` finds).
	 */
	t->created_ms = now_ms();
	free(t->autosave_path);
	t->autosave_path = NULL;
	tui_autosave(t);
	tui_message(t, false, "loaded %s", c->arg);
	return 0;
}

static int cmd_export(struct tui *t, const struct command *c)
{
	struct convo conv;
	char *cause = NULL;
	int rc;

	tui_to_convo(t, &conv);
	rc = convo_export_markdown(&conv, c->arg, &cause);
	if (rc != 0)
		tui_message(t, true, "/export: %s", cause);
	else
		tui_message(t, false, "exported to %s", c->arg);
	convo_free(&conv);
	free(cause);
	return rc;
}

static void cmd_stats(struct tui *t)
{
	for (int i = 0; i < t->n_panes; i++) {
		struct pane *p = &t->pane[i];
		const struct transcript_stats *s = &p->last;
		struct buf b = {0};
		buf_printf(&b, "%s on %s", p->have_info ? p->info.name : path_base(p->model_path),
		           p->have_info ? p->info.device : "?");
		if (p->have_info)
			buf_printf(&b, " · %d thread%s · weights %s · context %u", p->info.n_threads,
			           p->info.n_threads == 1 ? "" : "s", cli_human_bytes(p->info.weight_bytes),
			           p->info.n_ctx);
		buf_printf(&b, "\nsampling: temperature %g, top-p %g, top-k %d, min-p %g, seed %s%s%s%s",
		           (double)p->params.sampling.temperature, (double)p->params.sampling.top_p,
		           p->params.sampling.top_k, (double)p->params.sampling.min_p,
		           p->seed_fixed ? "fixed" : "fresh per answer",
		           p->params.r1 ? ", R1 conventions" : "", p->params.math ? ", math" : "",
		           p->params.template_name ? ", template " : "");
		if (p->params.template_name)
			buf_printf(&b, "%s", p->params.template_name);
		if (s->valid)
			buf_printf(&b,
			           "\nlast answer: %u tokens (%s) · prompt %u (+%u cached) · prefill %.1f "
			           "tok/s · "
			           "decode %.1f tok/s · ttft %.0f ms · itl p50 %.2f ms p99 %.2f ms · context "
			           "%u/%u · "
			           "peak rss %s",
			           s->gen_tokens, s->stop, s->prompt_tokens, s->cached_tokens, s->prefill_tps,
			           s->decode_tps, s->ttft_ms, s->itl_p50_ms, s->itl_p99_ms, s->ctx_used,
			           s->ctx_size, cli_human_bytes(s->peak_rss));
		else
			buf_printf(&b, "\nno answer yet");
		transcript_add_note(&p->tr, TRANSCRIPT_NOTE, "%s", buf_cstr(&b));
		p->view.scroll = 0;
		buf_free(&b);
	}
}

/* Carry out a parsed command; -1 when it could not (a message says why, nothing changed). */
static int command_run(struct tui *t, const struct command *c)
{
	int rc = 0;

	t->dirty = true;
	switch (c->id) {
	case COMMAND_HELP: {
		char *h = command_help_text(false);
		transcript_add_note(&focused(t)->tr, TRANSCRIPT_NOTE, "%s\n%s", h, tui_keys_help);
		focused(t)->view.scroll = 0;
		free(h);
		break;
	}
	case COMMAND_MODEL:
		rc = cmd_model(t, c);
		break;
	case COMMAND_SYSTEM:
	case COMMAND_TEMP:
	case COMMAND_TOP_P:
	case COMMAND_SEED:
	case COMMAND_R1:
	case COMMAND_MATH:
		cmd_per_pane(t, c);
		break;
	case COMMAND_TEMPLATE:
		rc = cmd_template(t, c);
		break;
	case COMMAND_TEMPLATES:
		cmd_templates(t);
		break;
	case COMMAND_THINK:
		t->think = think_from_settings(c->think);
		tui_message(t, false, "thinking: %s", think_name(t->think));
		break;
	case COMMAND_RETRY:
		rc = cmd_retry(t);
		break;
	case COMMAND_CLEAR:
		cmd_clear(t);
		break;
	case COMMAND_SAVE:
		rc = cmd_save(t, c);
		break;
	case COMMAND_LOAD:
		rc = cmd_load(t, c);
		break;
	case COMMAND_EXPORT:
		rc = cmd_export(t, c);
		break;
	case COMMAND_STATS:
		cmd_stats(t);
		break;
	case COMMAND_LAYOUT:
		if (c->layout < 0)
			t->layout = t->layout == UI_LAYOUT_AUTO   ? UI_LAYOUT_SIDE
			            : t->layout == UI_LAYOUT_SIDE ? UI_LAYOUT_STACKED
			                                          : UI_LAYOUT_AUTO;
		else
			t->layout = layout_from_settings(c->layout);
		tui_message(t, false, "layout %s", ui_layout_name(t->layout));
		break;
	case COMMAND_FOCUS:
		if (t->n_panes < 2) {
			tui_message(t, true, "/focus: there is only one pane (/model 2 PATH opens a second)");
			rc = -1;
			break;
		}
		t->focus = c->pane ? c->pane - 1 : 1 - t->focus;
		tui_message(t, false, "pane %d has the focus%s", t->focus + 1,
		            t->broadcast ? "" : ": messages go to it");
		break;
	case COMMAND_BROADCAST:
		t->broadcast = c->on < 0 ? !t->broadcast : c->on == 1;
		if (t->n_panes < 2)
			tui_message(t, false, "broadcast %s (one pane: no difference)",
			            t->broadcast ? "on" : "off");
		else if (t->broadcast)
			tui_message(t, false, "broadcast: messages go to both panes");
		else
			tui_message(t, false, "messages go to pane %d only (Ctrl-O switches)", t->focus + 1);
		break;
	case COMMAND_QUIT:
		t->quit = true;
		break;
	case COMMAND_COUNT:
		break;
	}
	return rc;
}

static void input_send(struct tui *t)
{
	const char *line = ui_editor_text(&t->input.ed);
	const char *p = line;
	struct command c = {0};
	char *cause = NULL;
	char *copy;
	int rc;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (!*p)
		return;
	if (p[0] == '/' && p[1] == '/') {
		copy = xstrdup(p + 1);
		if (send_message(t, copy)) {
			if (t->hist)
				history_file_add(t->hist, line);
			ui_input_reset(&t->input);
		}
		free(copy);
		return;
	}
	rc = command_parse(line, &c, &cause);
	if (rc < 0) {
		/* Nothing else changes: the line stays for the user to fix. */
		tui_message(t, true, "%s", cause);
		free(cause);
		return;
	}
	copy = xstrdup(line);
	if (rc == 0) {
		if (send_message(t, copy)) {
			if (t->hist)
				history_file_add(t->hist, copy);
			ui_input_reset(&t->input);
		}
	} else {
		if (t->hist)
			history_file_add(t->hist, copy);
		/* A command that fails leaves the line for the user to fix. */
		if (command_run(t, &c) == 0)
			ui_input_reset(&t->input);
		command_free(&c);
	}
	free(copy);
	if (t->hist) {
		char *why = NULL;
		if (history_file_save(t->hist, &why) != 0) {
			tui_message(t, true, "history: %s", why);
			free(why);
		}
	}
}

/* Restore the panes from a conversation; load_models: also open the models it names (--resume). */
static void apply_convo(struct tui *t, const struct convo *c, bool load_models)
{
	size_t n = c->n_panes ? c->n_panes : 1;

	for (size_t i = 0; i < n && i < 2; i++) {
		struct pane *p = &t->pane[i];
		char *cause = NULL;
		if ((int)i >= t->n_panes) {
			if (!c->panes[i].model_path || pane_start(t, (int)i, &cause) != 0) {
				free(cause);
				break;
			}
			t->n_panes = (int)i + 1;
			load_models = true;
		}
		pane_clear(p);
		if (load_models && c->panes[i].model_path && path_exists(c->panes[i].model_path) &&
		    (!p->model_path || strcmp(p->model_path, c->panes[i].model_path) != 0))
			pane_load(t, p, c->panes[i].model_path);
		pane_from_convo(t, p, &c->panes[i], load_models);
	}
	for (uint64_t m = 1; m <= t->last_message; m++)
		agreement_update(t, m);
	/* Broadcast and focus stay as the user has them now. */
	t->created_ms = c->created_ms ? c->created_ms : now_ms();
	t->dirty = true;
}

/* ---- completion, $EDITOR, suspend ------------------------------------------------------------- */

static void input_complete(struct tui *t)
{
	struct ui_editor *ed = &t->input.ed;
	const char **names = xcalloc(t->prompts.n ? t->prompts.n : 1, sizeof *names);
	struct command_completion comp = {0};
	size_t n;

	for (size_t i = 0; i < t->prompts.n; i++)
		names[i] = t->prompts.v[i].name;
	n = command_complete(ui_editor_text(ed), ed->cursor, names, t->prompts.n, &comp);
	free(names);
	if (n == 0) {
		tui_message(t, false, "no completions");
	} else {
		const char *ins = n == 1 ? comp.v[0] : comp.common;
		size_t have = ed->cursor - comp.start;
		if (strlen(ins) >= have) {
			ui_buf_erase(&ed->text, comp.start, have);
			ed->cursor = comp.start;
			ui_editor_insert(ed, ins, strlen(ins));
			if (n == 1 && ins[0] && ins[strlen(ins) - 1] != '/' &&
			    ed->cursor == ui_editor_len(ed))
				ui_editor_insert(ed, " ", 1);
		}
		if (n > 1) {
			struct buf b = {0};
			for (size_t i = 0; i < n && b.len < 400; i++)
				buf_printf(&b, "%s%s", i ? "  " : "", comp.v[i]);
			tui_message(t, false, "%s", buf_cstr(&b));
			buf_free(&b);
		}
	}
	command_completion_free(&comp);
	t->dirty = true;
}

/* Give the terminal to another program: curses off, standard error back. */
static void terminal_leave(void)
{
	ui_term_suspend();
	if (saved_stderr >= 0) {
		fflush(stderr);
		dup2(saved_stderr, STDERR_FILENO);
	}
}

static int log_fd = -1;

static void terminal_return(void)
{
	if (log_fd >= 0) {
		fflush(stderr);
		dup2(log_fd, STDERR_FILENO);
	}
	ui_term_resume();
}

static void input_edit_external(struct tui *t)
{
	const char *tmpdir = getenv("TMPDIR");
	const char *editor = getenv("VISUAL");
	char *path, *text, *cause = NULL;
	size_t len;
	int fd, status = -1;
	pid_t pid;

	if (!editor || !*editor)
		editor = getenv("EDITOR");
	if (!editor || !*editor)
		editor = "vi";
	path = xasprintf("%s/duet-message-XXXXXX.md", tmpdir && *tmpdir ? tmpdir : "/tmp");
	fd = mkstemps(path, 3);
	if (fd < 0) {
		tui_message(t, true, "$EDITOR: cannot create %s: %s", path, strerror(errno));
		free(path);
		return;
	}
	if (write(fd, ui_editor_text(&t->input.ed), ui_editor_len(&t->input.ed)) < 0 || close(fd) != 0) {
		tui_message(t, true, "$EDITOR: cannot write %s: %s", path, strerror(errno));
		unlink(path);
		free(path);
		return;
	}
	terminal_leave();
	pid = fork();
	if (pid == 0) {
		/* $EDITOR may hold arguments ("code -w"): let the shell split it. */
		setenv("DUET_EDITOR", editor, 1);
		execl("/bin/sh", "sh", "-c", "exec $DUET_EDITOR \"$1\"", "sh", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	terminal_return();
	if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		tui_message(t, true, "$EDITOR (%s) failed: the message is unchanged", editor);
	} else if ((text = file_read_all(path, TUI_MAX_EDIT_BYTES, &len, &cause))) {
		if (len > 0 && text[len - 1] == '\n')
			len--;
		ui_editor_set(&t->input.ed, text, len);
		free(text);
	} else {
		tui_message(t, true, "$EDITOR: %s", cause);
		free(cause);
	}
	unlink(path);
	free(path);
	t->dirty = true;
}

static void tui_suspend(struct tui *t)
{
	terminal_leave();
	signal(SIGTSTP, SIG_DFL);
	raise(SIGTSTP);
	/* Continued. */
	terminal_return();
	t->dirty = true;
}

/* ---- keys ------------------------------------------------------------------------------------------ */

/* A [keys] spec ("C-t", "M-x", "F3", "Tab", ...) as a key; false when it is not one we can match. */
static bool key_spec(const char *spec, struct ui_key *k)
{
	static const struct {
		const char *name;
		enum ui_key_code code;
		uint32_t ch;
	} named[] = {
	        {"Tab", UI_KEY_TAB, 0},     {"S-Tab", UI_KEY_BACKTAB, 0}, {"Enter", UI_KEY_ENTER, 0},
	        {"Esc", UI_KEY_ESC, 0},     {"Space", UI_KEY_CHAR, ' '},  {"Backspace", UI_KEY_BACKSPACE, 0},
	        {"Up", UI_KEY_UP, 0},       {"Down", UI_KEY_DOWN, 0},     {"Left", UI_KEY_LEFT, 0},
	        {"Right", UI_KEY_RIGHT, 0}, {"Home", UI_KEY_HOME, 0},     {"End", UI_KEY_END, 0},
	        {"PgUp", UI_KEY_PGUP, 0},   {"PgDn", UI_KEY_PGDN, 0},     {"Delete", UI_KEY_DELETE, 0},
	};
	uint32_t cp;

	memset(k, 0, sizeof *k);
	if (!spec || !*spec || strchr(spec, ' '))
		return false;
	if (strncmp(spec, "M-", 2) == 0 && spec[2]) {
		k->alt = true;
		spec += 2;
	}
	if (strncmp(spec, "C-", 2) == 0 && spec[2] && !spec[3]) {
		k->code = UI_KEY_CHAR;
		k->ch = (uint32_t)spec[2] & 0x1f;
		return true;
	}
	if (spec[0] == 'F' && spec[1] >= '1' && spec[1] <= '9') {
		k->code = UI_KEY_FN;
		k->ch = (uint32_t)atoi(spec + 1);
		return true;
	}
	for (size_t i = 0; i < sizeof named / sizeof *named; i++)
		if (strcmp(spec, named[i].name) == 0) {
			k->code = named[i].code;
			k->ch = named[i].ch;
			return true;
		}
	if (ui_text_next(spec, strlen(spec), &cp) == strlen(spec)) {
		k->code = UI_KEY_CHAR;
		k->ch = cp;
		return true;
	}
	return false;
}

/*
 * The [keys] bindings, on top of the built-in keys (Ctrl-T, Ctrl-X b, Ctrl-O,
 * Ctrl-X Ctrl-E), which keep working. Chords must start with Ctrl-X, the
 * input line's prefix key.
 */
static void keys_setup(struct tui *t)
{
	static const enum ui_action actions[SETTINGS_KEY_COUNT] = {
	        [SETTINGS_KEY_FOLD_THINK] = UI_ACTION_THINK_TOGGLE,
	        [SETTINGS_KEY_TOGGLE_BROADCAST] = UI_ACTION_BROADCAST_TOGGLE,
	        [SETTINGS_KEY_FOCUS_NEXT] = UI_ACTION_FOCUS_NEXT,
	        [SETTINGS_KEY_EDITOR] = UI_ACTION_EXT_EDITOR,
	};
	t->n_binds = 0;
	for (int i = 0; i < SETTINGS_KEY_COUNT; i++) {
		const char *spec = t->cfg.keys[i];
		struct ui_key k;
		bool chord = false;
		if (strncmp(spec, "C-x ", 4) == 0) {
			chord = true;
			spec += 4;
		}
		if (!key_spec(spec, &k))
			continue;
		t->binds[t->n_binds].key = k;
		t->binds[t->n_binds].chord = chord;
		t->binds[t->n_binds].action = actions[i];
		t->n_binds++;
	}
}

static enum ui_action key_bound(struct tui *t, const struct ui_key *k)
{
	if (t->input.paste || t->input.searching)
		return UI_ACTION_NONE;
	for (size_t i = 0; i < t->n_binds; i++) {
		const struct ui_key *b = &t->binds[i].key;
		if (t->binds[i].chord != t->input.ctrl_x)
			continue;
		if (b->code == k->code && b->alt == k->alt &&
		    (b->code == UI_KEY_CHAR || b->code == UI_KEY_FN ? b->ch == k->ch : true)) {
			t->input.ctrl_x = false;
			return t->binds[i].action;
		}
	}
	return UI_ACTION_NONE;
}

/* The pane at screen position (y, x), or -1. */
static int pane_at(const struct tui *t, int y, int x)
{
	for (int i = 0; i < t->lay.n_panes; i++) {
		const struct ui_rect *b = &t->lay.body[i];
		if (y >= t->lay.title[i].y && y <= t->lay.status[i].y && x >= b->x && x < b->x + b->w)
			return i;
	}
	return -1;
}

static bool any_busy(const struct tui *t)
{
	for (int i = 0; i < t->n_panes; i++)
		if (pane_busy(&t->pane[i]))
			return true;
	return false;
}

static void key_handle(struct tui *t, const struct ui_key *k)
{
	enum ui_action act;
	int page;

	if (t->quit_asked) {
		t->quit_asked = false;
		free(t->message);
		t->message = NULL;
		t->dirty = true;
		if ((k->code == UI_KEY_CHAR && (k->ch == 'y' || k->ch == 'Y' || k->ch == 3)) ||
		    (k->code == UI_KEY_CHAR && k->ch == 4)) {
			t->quit = true;
			return;
		}
		if (k->code == UI_KEY_CHAR && (k->ch == 'n' || k->ch == 'N'))
			return;
		if (k->code == UI_KEY_ESC)
			return;
	}
	act = key_bound(t, k);
	if (act == UI_ACTION_NONE)
		act = ui_input_key(&t->input, k);
	page = t->lay.body[t->focus].h > 2 ? t->lay.body[t->focus].h - 2 : 1;
	switch (act) {
	case UI_ACTION_NONE:
		return;
	case UI_ACTION_REDRAW:
	case UI_ACTION_RESIZE:
		break;
	case UI_ACTION_SEND:
		input_send(t);
		break;
	case UI_ACTION_CANCEL:
		cancel_all(t);
		break;
	case UI_ACTION_INTERRUPT:
		if (any_busy(t)) {
			cancel_all(t);
		} else {
			t->quit_asked = true;
			tui_message(t, false, "Quit duet? y or Ctrl-C quits, any other key stays");
		}
		break;
	case UI_ACTION_QUIT:
		t->quit = true;
		break;
	case UI_ACTION_COMPLETE:
		input_complete(t);
		break;
	case UI_ACTION_EXT_EDITOR:
		input_edit_external(t);
		break;
	case UI_ACTION_PAGE_UP:
		ui_view_scroll(&focused(t)->view, page, (size_t)t->lay.body[t->focus].h);
		break;
	case UI_ACTION_PAGE_DOWN:
		ui_view_scroll(&focused(t)->view, -page, (size_t)t->lay.body[t->focus].h);
		break;
	case UI_ACTION_WHEEL_UP:
	case UI_ACTION_WHEEL_DOWN: {
		int i = pane_at(t, k->y, k->x);
		if (i < 0)
			i = t->focus;
		ui_view_scroll(&t->pane[i].view,
		               act == UI_ACTION_WHEEL_UP ? TUI_WHEEL_LINES : -TUI_WHEEL_LINES,
		               (size_t)t->lay.body[i].h);
		break;
	}
	case UI_ACTION_CLICK: {
		int i = pane_at(t, k->y, k->x);
		if (i >= 0)
			t->focus = i;
		break;
	}
	case UI_ACTION_THINK_TOGGLE:
		t->think = t->think == UI_THINK_SHOW ? UI_THINK_FOLD : UI_THINK_SHOW;
		tui_message(t, false, "thinking: %s", think_name(t->think));
		break;
	case UI_ACTION_FOCUS_NEXT:
		if (t->n_panes > 1) {
			t->focus = 1 - t->focus;
			tui_message(t, false, "pane %d has the focus", t->focus + 1);
		}
		break;
	case UI_ACTION_BROADCAST_TOGGLE: {
		struct command c = {.id = COMMAND_BROADCAST, .on = -1};
		command_run(t, &c);
		break;
	}
	case UI_ACTION_REFRESH:
		ui_term_invalidate();
		break;
	case UI_ACTION_SUSPEND:
		tui_suspend(t);
		break;
	}
	t->dirty = true;
}

/* ---- drawing ---------------------------------------------------------------------------------------- */

static void pane_status(const struct pane *p, char *buf, size_t size)
{
	const struct transcript_stats *s = &p->last;
	uint64_t mem = s->device_bytes ? s->device_bytes : p->have_info ? p->info.weight_bytes : 0;
	uint32_t ctx = p->have_info ? p->info.n_ctx : 0;
	size_t n = 0;

	buf[0] = '\0';
	if (p->state == PANE_FAILED) {
		snprintf(buf, size, "no model");
		return;
	}
	if (p->state != PANE_READY && !pane_busy(p))
		return;
	if (pane_busy(p)) {
		if (p->live_tokens)
			n += (size_t)snprintf(buf + n, size - n, "▶ %u tok · %.1f tok/s · ttft %.0f ms · ",
			                      p->live_tokens, p->live_tps, p->live_ttft_ms);
		else
			n += (size_t)snprintf(buf + n, size - n, "▶ prefill… · ");
	} else if (s->valid && s->gen_tokens > 0) {
		n += (size_t)snprintf(buf + n, size - n, "%.1f tok/s · ttft %.0f ms · ", s->decode_tps,
		                      s->ttft_ms);
	}
	if (n < size)
		n += (size_t)snprintf(buf + n, size - n, "ctx %u/%u", s->ctx_used,
		                      s->ctx_size ? s->ctx_size : ctx);
	if (n < size && mem)
		snprintf(buf + n, size - n, " · %s", cli_human_bytes(mem));
}

static void tui_draw(struct tui *t)
{
	struct ui_screen sc = {0};
	char title[2][192], right[2][96], status[2][192], hint[96], prompt[8];
	bool busy = any_busy(t);

	if (t->message && !t->quit_asked && time_now() - t->message_time > TUI_MESSAGE_S) {
		free(t->message);
		t->message = NULL;
	}
	sc.n_panes = t->n_panes;
	for (int i = 0; i < t->n_panes; i++) {
		struct pane *p = &t->pane[i];
		struct ui_pane_view *v = &sc.pane[i];
		char name[160];
		model_short_name(p->model_path, name, sizeof name);
		snprintf(title[i], sizeof title[i], "%s%s%s", t->n_panes > 1 ? (i ? "2 " : "1 ") : "",
		         *name ? name : "no model", p->state == PANE_LOADING ? " (loading)" : "");
		if (p->have_info)
			snprintf(right[i], sizeof right[i], "%s%s · t %g", p->info.device,
			         p->params.r1 ? " · R1" : "", (double)p->params.sampling.temperature);
		else
			right[i][0] = '\0';
		pane_status(p, status[i], sizeof status[i]);
		v->tr = &p->tr;
		v->view = &p->view;
		v->title = title[i];
		v->title_right = right[i];
		v->status = status[i];
		v->focused = t->n_panes > 1 && i == t->focus;
		v->progress = p->state == PANE_LOADING ? p->progress : -1;
		v->empty = p->state == PANE_LOADING    ? "loading the model…"
		           : p->state == PANE_NO_MODEL ? "no model: /model PATH loads one"
		           : p->state == PANE_READY
		                   ? "Type a message; Enter sends it. /help lists commands and keys."
		                   : NULL;
	}
	sc.layout = t->layout;
	sc.think = t->think;
	sc.input = &t->input;
	if (t->n_panes > 1)
		snprintf(prompt, sizeof prompt, "%s", t->broadcast ? "» " : t->focus ? "2› " : "1› ");
	else
		snprintf(prompt, sizeof prompt, "› ");
	sc.prompt = prompt;
	sc.message = t->message;
	sc.message_error = t->message_error;
	snprintf(hint, sizeof hint, "%s%s", busy ? "Esc stops" : "/help",
	         t->n_panes < 2 ? ""
	         : t->broadcast ? " · to both"
	         : t->focus     ? " · to pane 2"
	                        : " · to pane 1");
	sc.hint = hint;
	ui_draw(&sc, &t->lay);
	t->dirty = false;
	t->last_draw = time_now();
}

/* ---- signals and the terminal's safety net ------------------------------------------------------ */

static void on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* a full pipe already holds a wake-up */
	}
	errno = saved;
}

static void restore_stderr(void)
{
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
	}
}

static void on_crash(int sig)
{
	static const char msg[] = "duet: crashed; the terminal was restored\n";

	ui_term_emergency_restore();
	restore_stderr();
	if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
		/* nothing left to report with */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void fatal_hook(void)
{
	ui_term_emergency_restore();
	restore_stderr();
}

static int signals_setup(char **cause)
{
	static const int handled[] = {SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGCONT};
	static const int crashes[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	struct sigaction sa;

	if (pipe(sig_pipe) != 0)
		return error_set(cause, "cannot create a pipe: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		fcntl(sig_pipe[i], F_SETFL, fcntl(sig_pipe[i], F_GETFL) | O_NONBLOCK);
		fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
	}
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof handled / sizeof *handled; i++)
		sigaction(handled[i], &sa, NULL);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < sizeof crashes / sizeof *crashes; i++)
		sigaction(crashes[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* While curses is up, standard error goes to a log file (the engine may write warnings there). */
static void stderr_redirect(void)
{
	char *path = files_xdg_path("XDG_STATE_HOME", ".local/state", "duet.log");
	char *dir = files_dirname(path);

	files_mkdir_p(dir, NULL);
	log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd < 0)
		log_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	free(dir);
	free(path);
	if (log_fd < 0)
		return;
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(log_fd, STDERR_FILENO);
}

/* ---- the loop ---------------------------------------------------------------------------------------- */

static void signals_drain(struct tui *t)
{
	unsigned char c[64];
	ssize_t n;

	while ((n = read(sig_pipe[0], c, sizeof c)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			switch (c[i]) {
			case SIGWINCH:
			case SIGCONT:
				ui_term_resize();
				t->dirty = true;
				break;
			case SIGINT:
				/* Raw mode makes Ctrl-C a key; a SIGINT came from kill(1): act as Ctrl-C
				 * does. */
				if (any_busy(t)) {
					cancel_all(t);
				} else {
					t->quit = true;
					t->quit_signal = SIGINT;
				}
				break;
			default:
				t->quit = true;
				t->quit_signal = c[i];
				break;
			}
		}
	}
}

static void tui_loop(struct tui *t)
{
	while (!t->quit) {
		struct pollfd fds[3];
		double now = time_now(), wait_s;
		int timeout, rc;
		struct ui_key k;

		if (t->dirty && now - t->last_draw >= TUI_FRAME_S)
			tui_draw(t);
		if (t->dirty)
			wait_s = TUI_FRAME_S - (now - t->last_draw);
		else if (t->message && !t->quit_asked)
			wait_s = TUI_MESSAGE_S - (now - t->message_time) + 0.05;
		else
			wait_s = -1;
		timeout = wait_s < 0 ? -1 : (int)(wait_s * 1000) + 1;
		fds[0] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		fds[1] = (struct pollfd){.fd = t->q.wake[0], .events = POLLIN};
		fds[2] = (struct pollfd){.fd = sig_pipe[0], .events = POLLIN};
		rc = poll(fds, 3, timeout);
		if (rc < 0 && errno != EINTR)
			break;
		if (t->message && !t->quit_asked && time_now() - t->message_time > TUI_MESSAGE_S)
			t->dirty = true;
		signals_drain(t);
		if (fds[1].revents & POLLIN) {
			struct tui_event *ev = tui_queue_take(&t->q);
			while (ev) {
				struct tui_event *next = ev->next;
				event_handle(t, ev);
				tui_event_free(ev);
				ev = next;
			}
		}
		if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			t->quit = true; /* the terminal went away */
			t->quit_signal = SIGHUP;
		}
		while (!t->quit && ui_term_get_key(&k))
			key_handle(t, &k);
	}
}

/* ---- start and end -------------------------------------------------------------------------------- */

static size_t hist_count(void *user)
{
	struct tui *t = user;
	return t->hist ? history_file_count(t->hist) : 0;
}

static const char *hist_get(void *user, size_t i)
{
	struct tui *t = user;
	return t->hist ? history_file_get(t->hist, i) : NULL;
}

/* The user's [colors] over the theme for this terminal. */
static void theme_setup(struct tui *t)
{
	static const enum ui_style slot_style[SETTINGS_COLOR_COUNT] = {
	        [SETTINGS_COLOR_THINK] = UI_STYLE_THINK,   [SETTINGS_COLOR_ANSWER] = UI_STYLE_TEXT,
	        [SETTINGS_COLOR_USER] = UI_STYLE_USER,     [SETTINGS_COLOR_BOXED] = UI_STYLE_BOXED,
	        [SETTINGS_COLOR_AGREE] = UI_STYLE_AGREE,   [SETTINGS_COLOR_DISAGREE] = UI_STYLE_DISAGREE,
	        [SETTINGS_COLOR_STATUS] = UI_STYLE_STATUS, [SETTINGS_COLOR_ERROR] = UI_STYLE_ERROR,
	        [SETTINGS_COLOR_NOTE] = UI_STYLE_NOTE,     [SETTINGS_COLOR_BORDER] = UI_STYLE_BORDER,
	};
	struct ui_theme th;
	int colours = ui_term_colours();

	ui_theme_default(&th, colours);
	for (int i = 0; i < SETTINGS_COLOR_COUNT; i++) {
		const struct settings_color *c = &t->cfg.colors[i];
		struct ui_style_spec *sp = &th.style[slot_style[i]];
		if (!(t->cfg.colors_set & (1u << i)))
			continue; /* not set by the file: the theme's choice stands */
		sp->fg = (short)settings_color_degrade(c->fg, colours ? colours : 1);
		sp->bg = (short)settings_color_degrade(c->bg, colours ? colours : 1);
		sp->attrs = (c->attrs & SETTINGS_ATTR_BOLD ? UI_ATTR_BOLD : 0) |
		            (c->attrs & SETTINGS_ATTR_DIM ? UI_ATTR_DIM : 0) |
		            (c->attrs & SETTINGS_ATTR_UNDERLINE ? UI_ATTR_UNDERLINE : 0) |
		            (c->attrs & SETTINGS_ATTR_REVERSE ? UI_ATTR_REVERSE : 0) |
		            (c->attrs & SETTINGS_ATTR_ITALIC ? UI_ATTR_ITALIC : 0);
		if (slot_style[i] == UI_STYLE_ERROR)
			th.style[UI_STYLE_MESSAGE_ERROR] = *sp;
		if (slot_style[i] == UI_STYLE_THINK)
			th.style[UI_STYLE_THINK_HEAD] = *sp;
	}
	ui_term_set_theme(&th);
}

static void tui_free(struct tui *t)
{
	for (int i = 0; i < 2; i++) {
		struct pane *p = &t->pane[i];
		transcript_free(&p->tr);
		ui_view_free(&p->view);
		free(p->model_path);
		settings_profile_free(&p->file);
		settings_profile_free(&p->runtime);
		free(p->params.template_name);
		free(p->params.system);
	}
	ui_input_free(&t->input);
	history_file_free(t->hist);
	prompts_free(&t->prompts);
	settings_profile_free(&t->cli.overrides);
	settings_free(&t->cfg);
	free(t->autosave_path);
	free(t->message);
}

static bool locale_is_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

int cmd_chat(int argc, char **argv)
{
	struct tui *t = xcalloc(1, sizeof *t);
	struct convo resumed = {0};
	const char *paths[2] = {NULL, NULL};
	char *default_model = NULL, *resume_path = NULL, *cause = NULL;
	struct ini_messages msgs = {0};
	bool have_resume = false, all_joined = true;
	int rc = CLI_EXIT_FAIL;

	if (settings_cli_parse(argc, argv, &t->cli, &cause) != 0) {
		fprintf(stderr, "duet chat: %s\n\n%s", cause, SETTINGS_CLI_USAGE);
		free(cause);
		free(t);
		return CLI_EXIT_USAGE;
	}
	if (t->cli.help) {
		printf("%s\n%s\n", SETTINGS_CLI_USAGE, tui_keys_help);
		settings_profile_free(&t->cli.overrides);
		free(t);
		return CLI_EXIT_OK;
	}
	if (t->cli.plain || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		settings_profile_free(&t->cli.overrides);
		free(t);
		return cmd_chat_plain(argc, argv);
	}
	if (!locale_is_utf8()) {
		fprintf(stderr,
		        "duet: the chat interface needs a UTF-8 locale, and the character set here is %s.\n"
		        "Set one (for example LANG=C.UTF-8), or use `duet chat --plain`.\n",
		        nl_langinfo(CODESET));
		goto out;
	}
	if (settings_load(&t->cfg, t->cli.config_path, &cause) != 0) {
		fprintf(stderr, "duet: %s\n", cause);
		goto out;
	}
	{
		char *shipped = prompts_shipped_dir(), *user = prompts_user_dir();
		prompts_load(&t->prompts, shipped, user, &msgs);
		free(shipped);
		free(user);
	}
	t->hist = history_file_open(NULL, 0, &cause);
	if (!t->hist) {
		ini_messages_add(&msgs, "history: %s", cause);
		free(cause);
		cause = NULL;
	}
	if (t->cli.resume) {
		resume_path = *t->cli.resume ? xstrdup(t->cli.resume) : convo_latest(&cause);
		if (!resume_path || convo_load(&resumed, resume_path, &cause) != 0) {
			fprintf(stderr, "duet: --resume: %s\n", cause);
			goto out;
		}
		have_resume = true;
	}

	for (int i = 0; i < 2; i++) {
		if ((size_t)i < t->cli.n_models)
			paths[i] = t->cli.models[i];
		else if (have_resume && (size_t)i < resumed.n_panes && resumed.panes[i].model_path &&
		         !t->cli.n_models)
			paths[i] = resumed.panes[i].model_path;
		else if (!t->cli.n_models && !have_resume)
			paths[i] = i == 0 ? t->cfg.model : t->cfg.model2;
	}
	if (!paths[0]) {
		default_model = cli_default_model();
		paths[0] = default_model;
	}
	t->n_panes = paths[1] ? 2 : 1;
	t->layout = layout_from_settings(t->cli.layout >= 0 ? t->cli.layout : (int)t->cfg.layout);
	t->think = think_from_settings(t->cli.think >= 0 ? t->cli.think : (int)t->cfg.think);
	t->broadcast = t->cli.broadcast >= 0 ? t->cli.broadcast == 1 : t->cfg.broadcast;
	t->mouse = t->cli.mouse || t->cfg.mouse;
	t->autosave = t->cfg.autosave && !t->cli.no_autosave;
	t->created_ms = now_ms();
	t->input.hist = (struct ui_history){hist_count, hist_get, t};
	keys_setup(t);

	t->models = tui_models_new();
	if (tui_queue_init(&t->q, &cause) != 0 || signals_setup(&cause) != 0) {
		fprintf(stderr, "duet: %s\n", cause);
		goto out;
	}
	for (int i = 0; i < t->n_panes; i++) {
		if (pane_start(t, i, &cause) != 0) {
			fprintf(stderr, "duet: %s\n", cause);
			goto out;
		}
		if (path_exists(paths[i]))
			pane_load(t, &t->pane[i], paths[i]);
		else
			transcript_add_note(&t->pane[i].tr, TRANSCRIPT_ERROR,
			                    "%s: no such model file or folder (duet -m PATH, or /model PATH)",
			                    paths[i]);
	}
	if (have_resume) {
		for (size_t i = 0; i < resumed.n_panes && (int)i < t->n_panes; i++)
			pane_from_convo(t, &t->pane[i], &resumed.panes[i], true);
		for (uint64_t m = 1; m <= t->last_message; m++)
			agreement_update(t, m);
		t->created_ms = resumed.created_ms ? resumed.created_ms : t->created_ms;
		t->autosave_path = xstrdup(resume_path);
		if (t->cli.broadcast < 0)
			t->broadcast = resumed.broadcast || t->n_panes < 2;
		if (t->cli.layout < 0 && resumed.layout >= 0)
			t->layout = layout_from_settings(resumed.layout);
	}
	for (size_t i = 0; i < t->cfg.messages.n; i++)
		transcript_add_note(&t->pane[0].tr, TRANSCRIPT_ERROR, "config: %s", t->cfg.messages.v[i]);
	for (size_t i = 0; i < msgs.n; i++)
		transcript_add_note(&t->pane[0].tr, TRANSCRIPT_ERROR, "%s", msgs.v[i]);
	if (t->cfg.messages.n)
		tui_message(t, true, "%zu problem%s in %s: the rest of it applies", t->cfg.messages.n,
		            t->cfg.messages.n == 1 ? "" : "s",
		            t->cfg.path ? t->cfg.path : "the configuration");
	else if (have_resume)
		tui_message(t, false, "resumed %s", resume_path);

	{
		struct ui_term_options o = {0};
		o.mouse = t->mouse;
		o.monochrome = t->cfg.palette == SETTINGS_PALETTE_MONO ||
		               (getenv("NO_COLOR") && *getenv("NO_COLOR"));
		o.max_colours = t->cfg.palette == SETTINGS_PALETTE_8 ? 8 : 0;
		if (ui_term_start(&o, &cause) != 0) {
			fprintf(stderr, "duet: %s (try `duet chat --plain`)\n", cause);
			goto out;
		}
	}
	tui_global = t;
	fatal_set_hook(fatal_hook);
	stderr_redirect();
	theme_setup(t);
	t->dirty = true;

	tui_loop(t);

	for (int i = 0; i < t->n_panes; i++)
		pane_cancel(&t->pane[i]);
	tui_autosave(t);
	if (t->hist)
		history_file_save(t->hist, NULL);
	ui_term_stop();
	fatal_set_hook(NULL);
	restore_stderr();
	tui_global = NULL;
	for (int i = 0; i < t->n_panes; i++) {
		all_joined &= tui_worker_stop(t->pane[i].w, false);
		t->pane[i].w = NULL;
	}
	if (t->autosave_path && path_exists(t->autosave_path))
		printf("conversation saved in %s (duet --resume continues it)\n", t->autosave_path);
	rc = t->quit_signal ? 128 + t->quit_signal : CLI_EXIT_OK;
	if (!all_joined) {
		/* A model is still loading on a detached thread that may touch the queue: leave now. */
		fflush(NULL);
		_exit(rc);
	}
out:
	if (t->models) {
		for (int i = 0; i < 2; i++)
			if (t->pane[i].w)
				tui_worker_stop(t->pane[i].w, true);
		tui_models_free(t->models);
	}
	if (t->q.wake[0] || t->q.wake[1])
		tui_queue_free(&t->q);
	convo_free(&resumed);
	ini_messages_free(&msgs);
	free(resume_path);
	free(default_model);
	free(cause);
	tui_free(t);
	free(t);
	return rc;
}
