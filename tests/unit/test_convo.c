/*
 * test_convo.c — conversation files (app/convo.c): save -> load gives back
 * every field; malformed files are refused with a message that names the
 * file and the field; atomic saving; the Markdown export's content; the
 * thinking/answer split; the autosave folder and "latest". TAP.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app/convo.h"
#include "app/settings.h"
#include "infer/util.h"
#include "tests/tap.h"

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int sampling_eq(const struct sampler_params *a, const struct sampler_params *b)
{
	return a->temperature == b->temperature && a->top_k == b->top_k && a->top_p == b->top_p &&
	       a->min_p == b->min_p && a->repeat_penalty == b->repeat_penalty &&
	       a->presence_penalty == b->presence_penalty && a->penalty_last_n == b->penalty_last_n &&
	       a->seed == b->seed;
}

static int stats_eq(const struct gen_stats *a, const struct gen_stats *b)
{
	return a->prompt_tokens == b->prompt_tokens && a->cached_tokens == b->cached_tokens &&
	       a->gen_tokens == b->gen_tokens && a->ttft_ms == b->ttft_ms &&
	       a->prefill_tps == b->prefill_tps && a->decode_tps == b->decode_tps &&
	       a->itl_p50_ms == b->itl_p50_ms && a->itl_p99_ms == b->itl_p99_ms &&
	       a->peak_rss == b->peak_rss && a->device_bytes == b->device_bytes &&
	       a->dropped_turns == b->dropped_turns && a->merged_system == b->merged_system &&
	       a->stop == b->stop;
}

/* Every field; the first difference goes to the TAP diagnostics. */
static int convo_eq(const struct convo *a, const struct convo *b)
{
#define DIFF(cond, what)                                                                                     \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			tap_diag("  differs: %s", what);                                                     \
			return 0;                                                                            \
		}                                                                                            \
	} while (0)
	DIFF(a->created_ms == b->created_ms, "created_ms");
	DIFF(a->layout == b->layout && a->broadcast == b->broadcast && a->focus == b->focus,
	     "layout/broadcast/focus");
	DIFF(a->n_panes == b->n_panes, "n_panes");
	for (size_t i = 0; i < a->n_panes; i++) {
		const struct convo_pane *p = &a->panes[i], *q = &b->panes[i];
		DIFF(str_eq(p->model_path, q->model_path) && str_eq(p->model_name, q->model_name) &&
		             str_eq(p->device, q->device),
		     "model");
		DIFF(sampling_eq(&p->params.sampling, &q->params.sampling), "params.sampling");
		DIFF(p->params.max_tokens == q->params.max_tokens && p->params.r1 == q->params.r1 &&
		             p->params.math == q->params.math &&
		             p->params.chat_format == q->params.chat_format,
		     "params");
		DIFF(str_eq(p->params.template_name, q->params.template_name) &&
		             str_eq(p->params.system, q->params.system),
		     "params strings");
		DIFF(p->n_msgs == q->n_msgs, "n_msgs");
		for (size_t k = 0; k < p->n_msgs; k++) {
			const struct convo_msg *m = &p->msgs[k], *n = &q->msgs[k];
			DIFF(m->role == n->role && str_eq(m->text, n->text), "message role/text");
			DIFF(m->time_ms == n->time_ms && m->question == n->question, "message time/question");
			DIFF(m->think_open == n->think_open && m->stopped == n->stopped, "message flags");
			DIFF(m->has_sampling == n->has_sampling &&
			             (!m->has_sampling ||
			              (sampling_eq(&m->sampling, &n->sampling) && m->r1 == n->r1)),
			     "message sampling");
			DIFF(m->has_stats == n->has_stats &&
			             (!m->has_stats || stats_eq(&m->stats, &n->stats)),
			     "message stats");
		}
	}
	return 1;
#undef DIFF
}

#define Q1 "What is 6 × 7?\nReply \"exactly\"."

static void fill(struct convo *c)
{
	struct convo_msg *m;
	struct convo_pane *p;

	convo_init(c);
	c->created_ms = 1717243200123; /* 2024-06-01T12:00:00.123Z */
	c->layout = SETTINGS_LAYOUT_SIDE;
	c->broadcast = true;
	c->focus = 1;
	c->n_panes = 2;

	p = &c->panes[0];
	convo_str_set(&p->model_path, "/models/DeepSeek-R1-Distill-Qwen-1.5B");
	convo_str_set(&p->model_name, "DeepSeek R1 Distill Qwen 1.5B");
	convo_str_set(&p->device, "cuda:0");
	sampler_params_default(&p->params.sampling);
	p->params.sampling.temperature = 0.6f;
	p->params.sampling.top_p = 0.95f;
	p->params.sampling.seed = 18446744073709551615ull; /* above INT64_MAX: written as a string */
	p->params.r1 = true;
	p->params.math = true;
	p->params.chat_format = CHAT_FORMAT_DEEPSEEK_R1;
	convo_str_set(&p->params.template_name, "r1-math");
	m = convo_pane_add(p, CONVO_ROLE_USER, Q1, strlen(Q1));
	m->time_ms = 1717243201000;
	m->question = 1;
	{
		static const char answer[] =
		        "Six sevens… let me add: 7+7+7+7+7+7 = 42.\n</think>\n\nThe answer is \\boxed{42}.";
		m = convo_pane_add(p, CONVO_ROLE_ASSISTANT, answer, sizeof answer - 1);
	}
	m->time_ms = 1717243203456;
	m->question = 1;
	m->think_open = true;
	m->has_sampling = true;
	m->sampling = p->params.sampling;
	m->r1 = true;
	m->has_stats = true;
	m->stats = (struct gen_stats){.prompt_tokens = 21,
	                              .cached_tokens = 3,
	                              .gen_tokens = 40,
	                              .ttft_ms = 12.5,
	                              .prefill_tps = 1680.25,
	                              .decode_tps = 97.125,
	                              .itl_p50_ms = 10.25,
	                              .itl_p99_ms = 13.75,
	                              .peak_rss = 1234567890123ull,
	                              .device_bytes = 3456789012ull,
	                              .dropped_turns = 1,
	                              .merged_system = true,
	                              .stop = GEN_STOP_EOS};
	m = convo_pane_add(p, CONVO_ROLE_USER, "And 6 × 8?", strlen("And 6 × 8?"));
	m->question = 2;
	m->time_ms = 0; /* unknown */
	m = convo_pane_add(p, CONVO_ROLE_ASSISTANT, "6 × 8: start with 6 × 7 = 42 and",
	                   strlen("6 × 8: start with 6 × 7 = 42 and"));
	m->question = 2;
	m->think_open = true;
	m->stopped = true;
	m->time_ms = 1717243209999;

	p = &c->panes[1];
	convo_str_set(&p->model_path, "/models/llama3-8b-q4.gguf");
	sampler_params_default(&p->params.sampling);
	p->params.sampling.temperature = 0.0f;
	p->params.sampling.seed = 42;
	convo_str_set(&p->params.system, "Be brief.\nUse \"quotes\" and \\backslashes\\.");
	m = convo_pane_add(p, CONVO_ROLE_USER, Q1, strlen(Q1));
	m->question = 1;
	m->time_ms = 1717243201000;
	m = convo_pane_add(p, CONVO_ROLE_ASSISTANT, "42, \\boxed{42}", strlen("42, \\boxed{42}"));
	m->question = 1;
	m->has_stats = true;
	m->stats.gen_tokens = 5;
	m->stats.stop = GEN_STOP_MAX_TOKENS;
	m->time_ms = 1717243202000;
}

static void test_round_trip(const char *dir)
{
	struct convo a, b;
	char *json, *path = path_join(dir, "sub/c.json"), *cause = NULL;

	fill(&a);
	json = convo_to_json(&a);
	tap_ok(strstr(json, "\"duet_conversation\": 1") != NULL, "the file starts with its version");
	tap_ok(strstr(json, "\"seed\": \"18446744073709551615\"") != NULL,
	       "a seed above 2^63-1 is written as a string");
	tap_ok(strstr(json, "\"temperature\": 0.6,") != NULL, "0.6f is written as 0.6");
	tap_ok(strstr(json, "\"2024-06-01T12:00:00.123Z\"") != NULL,
	       "times as ISO 8601 UTC with milliseconds");
	TAP_EQ_INT(convo_from_json(&b, "mem", json, strlen(json), &cause), 0, "JSON -> conversation");
	if (cause)
		tap_diag("%s", cause);
	tap_ok(convo_eq(&a, &b), "equal after the JSON round trip (every field)");
	convo_free(&b);

	TAP_EQ_INT(convo_save(&a, path, &cause), 0, "save (creating the folder)");
	TAP_EQ_INT(convo_load(&b, path, &cause), 0, "load");
	tap_ok(convo_eq(&a, &b), "equal after save and load");
	{
		struct stat st;
		tap_ok(stat(path, &st) == 0 && (st.st_mode & 077) == 0, "a new file is private (0600)");
	}
	{
		/* replace by rename: a hard link to the old file keeps the old text */
		char *link_path = path_join(dir, "sub/old.json");
		size_t n1, n2;
		char *before, *kept;
		link(path, link_path);
		before = file_read_all(path, 1 << 20, &n1, NULL);
		convo_pane_add(&a.panes[0], CONVO_ROLE_USER, "more", 4);
		convo_save(&a, path, NULL);
		kept = file_read_all(link_path, 1 << 20, &n2, NULL);
		tap_ok(before && kept && strcmp(before, kept) == 0,
		       "saving replaces the file atomically (rename)");
		free(before);
		free(kept);
		unlink(link_path);
		free(link_path);
	}
	convo_free(&b);
	convo_free(&a);
	free(json);
	unlink(path);
	free(path);

	/* invalid UTF-8 (a model can emit a lone byte) is saved as U+FFFD, not refused */
	convo_init(&a);
	convo_pane_add(&a.panes[0], CONVO_ROLE_ASSISTANT, "ok \xff\xfe end \xe4\xb8", 12);
	json = convo_to_json(&a);
	TAP_EQ_INT(convo_from_json(&b, "utf8", json, strlen(json), &cause), 0,
	           "invalid UTF-8 saves and loads");
	TAP_EQ_STR(b.panes[0].msgs[0].text, "ok \xef\xbf\xbd\xef\xbf\xbd end \xef\xbf\xbd\xef\xbf\xbd",
	           "... each bad byte as U+FFFD");
	convo_free(&a);
	convo_free(&b);
	free(json);
}

static void test_malformed(void)
{
	static const struct {
		const char *json, *want, *name;
	} cases[] = {
	        {"", "not valid JSON", "empty file"},
	        {"{\"duet_conversation\": 1, ", "not valid JSON: line 1", "truncated"},
	        {"[1, 2]", "top level: should be an object, not an array", "top-level array"},
	        {"{\"panes\": []}", "not a duet conversation", "no version"},
	        {"{\"duet_conversation\": \"1\"}", "the version should be an integer", "version as a string"},
	        {"{\"duet_conversation\": 2, \"panes\": []}", "version 2; this duet reads version 1",
	         "a newer version"},
	        {"{\"duet_conversation\": 1}", "'panes' is missing", "no panes"},
	        {"{\"duet_conversation\": 1, \"panes\": []}", "panes: should be an array of 1 or 2 panes",
	         "zero panes"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"messages\": []}, {\"messages\": []}, "
	         "{\"messages\": []}]}",
	         "1 or 2 panes", "three panes"},
	        {"{\"duet_conversation\": 1, \"panes\": [{}]}", "panes[0]: 'messages' is missing",
	         "pane without messages"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"messages\": {}}]}",
	         "'messages' should be an array, not an object", "messages as an object"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"messages\": [{\"role\": \"user\", \"text\": "
	         "5}]}]}",
	         "panes[0].messages[0]: 'text' should be a string, not an integer", "text as a number"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"messages\": [{\"role\": \"user\", \"text\": "
	         "\"a\"}, {\"role\": \"bot\", "
	         "\"text\": \"b\"}]}]}",
	         "panes[0].messages[1]: 'role' = \"bot\" is not system, user or assistant", "unknown role"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"messages\": [{\"role\": \"user\"}]}]}",
	         "panes[0].messages[0]: 'text' is missing", "missing text"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"params\": {\"sampling\": {\"temperature\": 9}}, "
	         "\"messages\": []}]}",
	         "panes[0].params.sampling: 'temperature' = 9 is out of range 0..5",
	         "temperature out of range"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"params\": {\"sampling\": {\"seed\": -1}}, "
	         "\"messages\": []}]}",
	         "'seed' = -1 is out of range", "negative seed"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"params\": {\"chat_format\": \"jinja\"}, "
	         "\"messages\": []}]}",
	         "'chat_format' = \"jinja\" is not chatml", "unknown chat format"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"messages\": [{\"role\": \"assistant\", \"text\": "
	         "\"x\", \"stats\": "
	         "{\"stop\": \"tired\"}}]}]}",
	         "panes[0].messages[0].stats: 'stop' = \"tired\"", "unknown stop reason"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"messages\": [{\"role\": \"assistant\", \"text\": "
	         "\"x\", \"stats\": "
	         "{\"gen_tokens\": 1e3}}]}]}",
	         "'gen_tokens' should be a whole number, not a number", "a real where an integer belongs"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"messages\": [{\"role\": \"user\", \"text\": "
	         "\"x\", \"time\": "
	         "\"yesterday\"}]}]}",
	         "'time' = \"yesterday\" is not a time", "bad time"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"messages\": [{\"role\": \"user\", \"text\": "
	         "\"x\", \"time\": "
	         "\"2024-13-01T00:00:00Z\"}]}]}",
	         "is not a time", "month 13"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"messages\": [{\"role\": \"user\", \"text\": "
	         "\"a\\u0000b\"}]}]}",
	         "", "a NUL inside a string"},
	        {"{\"duet_conversation\": 1, \"duet_conversation\": 1, \"panes\": []}", "duplicate",
	         "duplicate keys"},
	        {"{\"duet_conversation\": 1, \"layout\": \"diagonal\", \"panes\": [{\"messages\": []}]}",
	         "'layout' = \"diagonal\"", "unknown layout"},
	        {"{\"duet_conversation\": 1, \"focus\": 5, \"panes\": [{\"messages\": []}]}",
	         "'focus' = 5 is out of range", "focus out of range"},
	        {"{\"duet_conversation\": 1, \"panes\": [{\"model\": [], \"messages\": []}]}",
	         "panes[0]: 'model' should be an object, not an array", "model as an array"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct convo c;
		char *cause = NULL;
		int rc = convo_from_json(&c, "bad.json", cases[i].json, strlen(cases[i].json), &cause);
		tap_ok(rc == -1, "refused: %s", cases[i].name);
		TAP_ERR_HAS(cause, "bad.json: ", "... the message names the file");
		TAP_ERR_HAS(cause, cases[i].want, "... and what is wrong");
		tap_ok(c.n_panes == 0 && c.panes[0].msgs == NULL, "... and leaves the conversation empty");
		free(cause);
	}
	{
		/* too many messages: refused before allocating them */
		struct buf b = {0};
		struct convo c;
		char *cause = NULL;
		buf_printf(&b, "{\"duet_conversation\": 1, \"panes\": [{\"messages\": [");
		for (int i = 0; i <= CONVO_MAX_MESSAGES; i++)
			buf_printf(&b, "%s0", i ? "," : "");
		buf_printf(&b, "]}]}");
		TAP_EQ_INT(convo_from_json(&c, "big.json", b.data, b.len, &cause), -1,
		           "too many messages refused");
		TAP_ERR_HAS(cause, "100001 messages (at most 100000)", "... with the count and the limit");
		free(cause);
		buf_free(&b);
	}
	{
		struct convo c;
		char *cause = NULL;
		TAP_EQ_INT(convo_load(&c, "/nonexistent/dir/c.json", &cause), -1, "a missing file");
		TAP_ERR_HAS(cause, "/nonexistent/dir/c.json", "... named");
		free(cause);
	}
	{
		/* a minimal file loads with defaults */
		static const char min[] =
		        "{\"duet_conversation\": 1, \"panes\": [{\"messages\": [{\"role\": \"user\", "
		        "\"text\": \"hi\"}]}], \"future_field\": {\"ignored\": true}}";
		struct convo c;
		char *cause = NULL;
		TAP_EQ_INT(convo_from_json(&c, "min.json", min, sizeof min - 1, &cause), 0,
		           "a minimal file loads (unknown fields ignored)");
		tap_ok(c.n_panes == 1 && c.panes[0].n_msgs == 1 && strcmp(c.panes[0].msgs[0].text, "hi") == 0,
		       "... its message");
		convo_free(&c);
		free(cause);
	}
}

static void test_split(void)
{
	static const struct {
		const char *text;
		bool think_open;
		const char *think, *answer;
	} cases[] = {
	        {"plain answer", false, "", "plain answer"},
	        {"reasoning\n</think>\n\nAnswer.", true, "reasoning", "Answer."},
	        {"<think>\nhmm\n</think>\nYes.", false, "hmm", "Yes."},
	        {"still thinking", true, "still thinking", ""},
	        {"  <think>unclosed", false, "unclosed", ""},
	        {"a</think>b</think>c", true, "a</think>b", "c"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct convo_msg m = {.role = CONVO_ROLE_ASSISTANT,
		                      .text = (char *)cases[i].text,
		                      .think_open = cases[i].think_open};
		const char *t, *a;
		size_t tn, an;
		char *ts, *as;
		convo_msg_split(&m, &t, &tn, &a, &an);
		ts = xstrndup(t, tn);
		as = xstrndup(a, an);
		TAP_EQ_STR(ts, cases[i].think, "split: thinking");
		TAP_EQ_STR(as, cases[i].answer, "split: answer");
		free(ts);
		free(as);
	}
	{
		struct convo c;
		struct chat chat = {0};
		fill(&c);
		convo_pane_to_chat(&c.panes[1], &chat);
		TAP_EQ_INT(chat.n, 3, "pane 2 as a chat: system + user + assistant");
		tap_ok(chat.n == 3 && chat.msgs[0].role == CHAT_ROLE_SYSTEM &&
		               chat.msgs[1].role == CHAT_ROLE_USER &&
		               chat.msgs[2].role == CHAT_ROLE_ASSISTANT,
		       "... roles in order");
		chat_free(&chat);
		convo_pane_to_chat(&c.panes[0], &chat);
		TAP_EQ_INT(chat.n, 4, "pane 1 as a chat: no system prompt");
		if (chat.n == 4)
			TAP_EQ_STR(chat.msgs[3].content, "",
			           "an answer stopped inside R1 thinking is sent empty");
		chat_free(&chat);
		convo_free(&c);
	}
}

static void test_markdown(const char *dir)
{
	struct convo c;
	char *md, *path = path_join(dir, "export.md"), *cause = NULL;
	size_t len;

	fill(&c);
	md = convo_markdown(&c);
	tap_ok(strncmp(md, "# duet conversation", 19) == 0, "markdown: a title");
	tap_ok(strstr(md, "**Pane 1:** DeepSeek R1 Distill Qwen 1.5B "
	                  "(`/models/DeepSeek-R1-Distill-Qwen-1.5B`) on cuda:0") != NULL,
	       "markdown: pane 1's model, path and device");
	tap_ok(strstr(md, "**Pane 2:** llama3-8b-q4.gguf") != NULL, "markdown: pane 2 named by its file");
	tap_ok(strstr(md, "temperature 0.6, top-p 0.95") != NULL, "markdown: the parameters");
	tap_ok(strstr(md, "template r1-math") != NULL, "markdown: the template");
	tap_ok(strstr(md, "> Be brief.\n> Use \"quotes\"") != NULL,
	       "markdown: a system prompt quoted line by line");
	tap_ok(strstr(md, "## Question 1\n\n> What is 6 × 7?\n> Reply \"exactly\".\n") != NULL,
	       "markdown: the question, once for both panes");
	{
		const char *q1 = strstr(md, "## Question 1"), *p1 = strstr(md, "### Pane 1"),
		           *p2 = strstr(md, "### Pane 2"), *q2 = strstr(md, "## Question 2");
		tap_ok(q1 && p1 && p2 && q2 && q1 < p1 && p1 < p2 && p2 < q2,
		       "markdown: both panes' answers under the question");
	}
	tap_ok(strstr(md, "<details><summary>Thinking</summary>\n\nSix sevens… let me add: 7+7+7+7+7+7 = "
	                  "42.\n\n</details>") != NULL,
	       "markdown: thinking in a <details> block");
	tap_ok(strstr(md, "</details>\n\nThe answer is \\boxed{42}.") != NULL,
	       "markdown: the answer after it");
	tap_ok(strstr(md, "**Final answer:** $\\boxed{42}$") != NULL, "markdown: the boxed answer");
	tap_ok(strstr(md, "40 tokens, first token after 12 ms, 97.1 tokens/s, prompt 21 tokens (3 cached), "
	                  "stop: eos") != NULL,
	       "markdown: statistics");
	tap_ok(strstr(md, "*(stopped before the end)*") != NULL, "markdown: a stopped answer is marked");
	tap_ok(strstr(md, "stop: max-tokens") != NULL, "markdown: pane 2's stop reason");
	free(md);

	TAP_EQ_INT(convo_export_markdown(&c, path, &cause), 0, "export to a file");
	md = file_read_all(path, 1 << 20, &len, NULL);
	tap_ok(md && strstr(md, "## Question 2"), "... holds the document");
	free(md);
	unlink(path);
	free(path);

	/* unnumbered questions pair by order; "</details>" in model text cannot close the block */
	convo_free(&c);
	convo_init(&c);
	c.n_panes = 2;
	convo_pane_add(&c.panes[0], CONVO_ROLE_USER, "first", 5);
	convo_pane_add(&c.panes[0], CONVO_ROLE_ASSISTANT, "<think>x</details>y</think>z", 28);
	convo_pane_add(&c.panes[1], CONVO_ROLE_USER, "first, for two", 14);
	md = convo_markdown(&c);
	tap_ok(strstr(md, "## Question 1") && strstr(md, "> first\n") && strstr(md, "> first, for two\n"),
	       "different questions per pane are quoted per pane");
	tap_ok(strstr(md, "x&lt;/details>y") != NULL, "model text cannot close the <details> block");
	tap_ok(strstr(md, "### Pane 2") && strstr(strstr(md, "### Pane 2"), "*(no answer)*"),
	       "a missing answer is said");
	free(md);
	convo_free(&c);
}

static void test_autosave(const char *dir)
{
	char *d, *p, *cause = NULL, *latest;
	struct convo c;

	setenv("XDG_DATA_HOME", dir, 1);
	d = convo_autosave_dir();
	{
		char *want = xasprintf("%s/duet/chats", dir);
		TAP_EQ_STR(d, want, "autosave folder under $XDG_DATA_HOME");
		free(want);
	}
	latest = convo_latest(&cause);
	tap_ok(latest == NULL, "no latest before anything is saved");
	TAP_ERR_HAS(cause, "no saved conversations", "... said so");
	free(cause);
	cause = NULL;

	setenv("TZ", "UTC", 1);
	tzset();
	p = convo_autosave_path(1717243200123);
	{
		char *want = xasprintf("%s/2024-06-01_12-00-00.json", d);
		TAP_EQ_STR(p, want, "autosave name from the start time");
		free(want);
	}
	convo_init(&c);
	convo_save(&c, p, NULL);
	{
		char *older = xasprintf("%s/2024-06-02_00-00-00.json", d);
		struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
		convo_save(&c, older, NULL);
		/* a later name but an older modification time: latest goes by the time */
		utimensat(AT_FDCWD, older, times, 0);
		latest = convo_latest(&cause);
		TAP_EQ_STR(latest, p, "latest: the most recently modified");
		free(latest);
		unlink(older);
		free(older);
	}
	unlink(p);
	rmdir(d);
	free(p);
	free(d);
	convo_free(&c);
}

int main(void)
{
	char dir[] = "/tmp/duet-convo-XXXXXX";

	if (!mkdtemp(dir))
		return tap_ok(0, "mkdtemp"), tap_done();
	test_round_trip(dir);
	test_malformed();
	test_split();
	test_markdown(dir);
	test_autosave(dir);
	{
		char *cmd = xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("cleanup failed");
		free(cmd);
	}
	return tap_done();
}
