/*
 * convo.c — conversations: the plain data model, JSON files through
 * jansson (written atomically, read with every field checked), Markdown
 * export, and the autosave folder. Calls jansson, app/files.h, infer/
 * (chat, engine's gen_stop_name, sampler defaults); no curses.
 *
 * Numbers: floats are written in their shortest decimal form that reads
 * back to the same float; statistics (doubles) keep 15 significant digits.
 * 64-bit values above 2^63 - 1 (seeds) are written as decimal strings.
 */
#include "config.h"

#include "app/convo.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "app/files.h"
#include "app/settings.h"
#include "infer/util.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the data model ------------------------------------------------------------------------------------ */

void convo_str_set(char **dst, const char *src)
{
	char *copy = src ? xstrdup(src) : NULL;
	free(*dst);
	*dst = copy;
}

static void params_free(struct convo_params *p)
{
	free(p->template_name);
	free(p->system);
	p->template_name = p->system = NULL;
}

void convo_init(struct convo *c)
{
	memset(c, 0, sizeof *c);
	c->created_ms = now_ms();
	c->broadcast = true;
	c->n_panes = 1;
	sampler_params_default(&c->panes[0].params.sampling);
}

void convo_pane_clear(struct convo_pane *p)
{
	for (size_t i = 0; i < p->n_msgs; i++)
		free(p->msgs[i].text);
	free(p->msgs);
	p->msgs = NULL;
	p->n_msgs = p->cap_msgs = 0;
}

void convo_free(struct convo *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CONVO_MAX_PANES; i++) {
		struct convo_pane *p = &c->panes[i];
		convo_pane_clear(p);
		free(p->model_path);
		free(p->model_name);
		free(p->device);
		params_free(&p->params);
	}
	memset(c, 0, sizeof *c);
}

struct convo_msg *convo_pane_add(struct convo_pane *p, enum convo_role role, const char *text, size_t len)
{
	struct convo_msg *m;

	if (p->n_msgs == p->cap_msgs) {
		p->cap_msgs = p->cap_msgs ? 2 * p->cap_msgs : 8;
		p->msgs = xreallocarray(p->msgs, p->cap_msgs, sizeof *p->msgs);
	}
	m = &p->msgs[p->n_msgs++];
	memset(m, 0, sizeof *m);
	m->role = role;
	m->text = xstrndup(text ? text : "", text ? len : 0);
	m->time_ms = now_ms();
	return m;
}

uint32_t convo_last_question(const struct convo *c)
{
	uint32_t q = 0;

	for (size_t i = 0; i < c->n_panes && i < CONVO_MAX_PANES; i++)
		for (size_t k = 0; k < c->panes[i].n_msgs; k++)
			if (c->panes[i].msgs[k].question > q)
				q = c->panes[i].msgs[k].question;
	return q;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

void convo_msg_split(const struct convo_msg *m, const char **think, size_t *think_len, const char **answer,
                     size_t *answer_len)
{
	const char *t = m->text ? m->text : "";
	size_t len = strlen(t), off = chat_answer_offset(t, len);
	const char *th = t;
	size_t thn;

	if (off > 0) {
		thn = off - strlen("</think>");
		*answer = t + off;
		*answer_len = len - off;
	} else {
		const char *lead = t;
		while (is_blank(*lead))
			lead++;
		if (!m->think_open && strncmp(lead, "<think>", 7) != 0) {
			*think = t;
			*think_len = 0;
			*answer = t;
			*answer_len = len;
			return;
		}
		thn = len;
		*answer = t + len;
		*answer_len = 0;
	}
	trim(&th, &thn);
	if (thn >= 7 && strncmp(th, "<think>", 7) == 0) {
		th += 7;
		thn -= 7;
		trim(&th, &thn);
	}
	*think = th;
	*think_len = thn;
	while (*answer_len && is_blank(**answer)) {
		(*answer)++;
		(*answer_len)--;
	}
}

void convo_pane_to_chat(const struct convo_pane *p, struct chat *out)
{
	if (p->params.system && *p->params.system)
		chat_add(out, CHAT_ROLE_SYSTEM, p->params.system, strlen(p->params.system));
	for (size_t i = 0; i < p->n_msgs; i++) {
		const struct convo_msg *m = &p->msgs[i];
		const char *text = m->text;
		size_t len = strlen(text);

		if (m->role == CONVO_ROLE_ASSISTANT && m->think_open && chat_answer_offset(text, len) == 0)
			len = 0; /* stopped while thinking: R1 never sends thinking back */
		chat_add(out,
		         m->role == CONVO_ROLE_SYSTEM ? CHAT_ROLE_SYSTEM
		         : m->role == CONVO_ROLE_USER ? CHAT_ROLE_USER
		                                      : CHAT_ROLE_ASSISTANT,
		         text, len);
	}
}

/* ---- writing JSON
 * ------------------------------------------------------------------------------------------ */

/* Valid UTF-8 for json_stringn: invalid bytes become U+FFFD. */
static json_t *jstr(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s);
	json_t *j = json_stringn(s, len);
	struct buf b = {0};

	if (j)
		return j;
	for (size_t i = 0; i < len;) {
		size_t n = 0;
		uint32_t cp = 0;
		if (u[i] < 0x80)
			n = 1, cp = u[i];
		else if ((u[i] & 0xe0) == 0xc0)
			n = 2, cp = u[i] & 0x1f;
		else if ((u[i] & 0xf0) == 0xe0)
			n = 3, cp = u[i] & 0x0f;
		else if ((u[i] & 0xf8) == 0xf0)
			n = 4, cp = u[i] & 0x07;
		bool ok = n > 0 && i + n <= len;
		for (size_t k = 1; ok && k < n; k++) {
			ok = (u[i + k] & 0xc0) == 0x80;
			cp = cp << 6 | (u[i + k] & 0x3f);
		}
		ok = ok && !(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) && !(n == 4 && cp < 0x10000) &&
		     cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
		if (ok) {
			buf_append(&b, s + i, n);
			i += n;
		} else {
			buf_append(&b, "\xef\xbf\xbd", 3);
			i++;
		}
	}
	j = json_stringn(b.data ? b.data : "", b.len);
	buf_free(&b);
	return j;
}

static json_t *jstr_or_null(const char *s)
{
	return s ? jstr(s) : json_null();
}

/* The shortest decimal that reads back as the same float. */
static json_t *jfloat(float f)
{
	char tmp[32];

	if (!isfinite(f))
		return json_null();
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, (double)f);
		if ((float)strtod(tmp, NULL) == f)
			break;
	}
	return json_real(strtod(tmp, NULL));
}

static json_t *jdouble(double d)
{
	return isfinite(d) ? json_real(d) : json_null();
}

static json_t *ju64(uint64_t v)
{
	char tmp[24];

	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
	return json_string(tmp);
}

static json_t *jtime(int64_t ms)
{
	char tmp[96];
	struct tm tm;
	time_t secs;

	if (ms <= 0)
		return json_null();
	secs = (time_t)(ms / 1000);
	if (!gmtime_r(&secs, &tm))
		return json_null();
	snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return json_string(tmp);
}

static json_t *sampling_to_json(const struct sampler_params *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "temperature", jfloat(s->temperature));
	json_object_set_new(o, "top_k", json_integer(s->top_k));
	json_object_set_new(o, "top_p", jfloat(s->top_p));
	json_object_set_new(o, "min_p", jfloat(s->min_p));
	json_object_set_new(o, "repeat_penalty", jfloat(s->repeat_penalty));
	json_object_set_new(o, "presence_penalty", jfloat(s->presence_penalty));
	json_object_set_new(o, "penalty_last_n", json_integer(s->penalty_last_n));
	json_object_set_new(o, "seed", ju64(s->seed));
	return o;
}

static json_t *stats_to_json(const struct gen_stats *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "prompt_tokens", json_integer(s->prompt_tokens));
	json_object_set_new(o, "cached_tokens", json_integer(s->cached_tokens));
	json_object_set_new(o, "gen_tokens", json_integer(s->gen_tokens));
	json_object_set_new(o, "ttft_ms", jdouble(s->ttft_ms));
	json_object_set_new(o, "prefill_tps", jdouble(s->prefill_tps));
	json_object_set_new(o, "decode_tps", jdouble(s->decode_tps));
	json_object_set_new(o, "itl_p50_ms", jdouble(s->itl_p50_ms));
	json_object_set_new(o, "itl_p99_ms", jdouble(s->itl_p99_ms));
	json_object_set_new(o, "peak_rss", ju64(s->peak_rss));
	json_object_set_new(o, "device_bytes", ju64(s->device_bytes));
	json_object_set_new(o, "dropped_turns", json_integer(s->dropped_turns));
	json_object_set_new(o, "merged_system", json_boolean(s->merged_system));
	json_object_set_new(o, "stop", json_string(gen_stop_name(s->stop)));
	return o;
}

static const char *const role_names[] = {"system", "user", "assistant"};

static json_t *pane_to_json(const struct convo_pane *p)
{
	json_t *o = json_object(), *model = json_object(), *params = json_object(), *msgs = json_array();

	json_object_set_new(model, "path", jstr_or_null(p->model_path));
	json_object_set_new(model, "name", jstr_or_null(p->model_name));
	json_object_set_new(model, "device", jstr_or_null(p->device));
	json_object_set_new(o, "model", model);

	json_object_set_new(params, "sampling", sampling_to_json(&p->params.sampling));
	json_object_set_new(params, "max_tokens", json_integer(p->params.max_tokens));
	json_object_set_new(params, "r1", json_boolean(p->params.r1));
	json_object_set_new(params, "math", json_boolean(p->params.math));
	json_object_set_new(params, "chat_format",
	                    p->params.chat_format == CHAT_FORMAT_UNKNOWN
	                            ? json_null()
	                            : json_string(chat_format_name(p->params.chat_format)));
	json_object_set_new(params, "template", jstr_or_null(p->params.template_name));
	json_object_set_new(params, "system", jstr_or_null(p->params.system));
	json_object_set_new(o, "params", params);

	for (size_t i = 0; i < p->n_msgs; i++) {
		const struct convo_msg *m = &p->msgs[i];
		json_t *jm = json_object();

		json_object_set_new(jm, "role", json_string(role_names[m->role]));
		json_object_set_new(jm, "text", jstr(m->text));
		json_object_set_new(jm, "time", jtime(m->time_ms));
		if (m->question)
			json_object_set_new(jm, "question", json_integer(m->question));
		if (m->role == CONVO_ROLE_ASSISTANT) {
			json_object_set_new(jm, "think_open", json_boolean(m->think_open));
			json_object_set_new(jm, "stopped", json_boolean(m->stopped));
			if (m->has_sampling) {
				json_object_set_new(jm, "sampling", sampling_to_json(&m->sampling));
				json_object_set_new(jm, "r1", json_boolean(m->r1));
			}
			if (m->has_stats)
				json_object_set_new(jm, "stats", stats_to_json(&m->stats));
		}
		json_array_append_new(msgs, jm);
	}
	json_object_set_new(o, "messages", msgs);
	return o;
}

char *convo_to_json(const struct convo *c)
{
	json_t *root = json_object(), *panes = json_array();
	char *text, *out;

	json_object_set_new(root, "duet_conversation", json_integer(CONVO_VERSION));
	json_object_set_new(root, "created", jtime(c->created_ms));
	json_object_set_new(root, "saved", jtime(now_ms()));
	json_object_set_new(root, "layout",
	                    json_string(settings_layout_name((enum settings_layout)c->layout)));
	json_object_set_new(root, "broadcast", json_boolean(c->broadcast));
	json_object_set_new(root, "focus", json_integer(c->focus));
	for (size_t i = 0; i < c->n_panes && i < CONVO_MAX_PANES; i++)
		json_array_append_new(panes, pane_to_json(&c->panes[i]));
	json_object_set_new(root, "panes", panes);
	text = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(15));
	json_decref(root);
	if (!text)
		fatal("convo: json_dumps failed (out of memory)");
	out = xasprintf("%s\n", text);
	free(text);
	return out;
}

int convo_save(const struct convo *c, const char *path, char **cause)
{
	char *text = convo_to_json(c);
	int rc = files_write_atomic(path, text, strlen(text), cause);
	free(text);
	return rc;
}

/* ---- reading JSON
 * ----------------------------------------------------------------------------------------------- */

struct reader {
	const char *name;
	char **cause;
};

static const char *jtype(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

static int bad(struct reader *r, const char *where, const char *fmt, ...) DUET_PRINTF(3, 4);
static int bad(struct reader *r, const char *where, const char *fmt, ...)
{
	va_list ap;
	char *what = NULL;

	va_start(ap, fmt);
	error_vset(&what, fmt, ap);
	va_end(ap);
	error_set(r->cause, "%s: %s: %s", r->name, where, what);
	free(what);
	return -1;
}

/* Optional string: absent or null leaves *out NULL. */
static int get_str(struct reader *r, const json_t *o, const char *key, const char *where, bool required,
                   char **out)
{
	json_t *j = json_object_get(o, key);

	*out = NULL;
	if (!j || json_is_null(j)) {
		if (required)
			return bad(r, where, "'%s' is missing", key);
		return 0;
	}
	if (!json_is_string(j))
		return bad(r, where, "'%s' should be a string, not %s", key, jtype(j));
	if (json_string_length(j) > CONVO_MAX_TEXT)
		return bad(r, where, "'%s' is %zu bytes long (at most %u)", key, json_string_length(j),
		           (unsigned)CONVO_MAX_TEXT);
	if (strlen(json_string_value(j)) != json_string_length(j))
		return bad(r, where, "'%s' holds a NUL character", key);
	*out = xstrdup(json_string_value(j));
	return 0;
}

static int get_bool(struct reader *r, const json_t *o, const char *key, const char *where, bool *out)
{
	json_t *j = json_object_get(o, key);

	if (!j)
		return 0;
	if (!json_is_boolean(j))
		return bad(r, where, "'%s' should be true or false, not %s", key, jtype(j));
	*out = json_is_true(j);
	return 0;
}

static int get_u64(struct reader *r, const json_t *o, const char *key, const char *where, uint64_t max,
                   uint64_t *out)
{
	json_t *j = json_object_get(o, key);

	if (!j)
		return 0;
	if (json_is_integer(j)) {
		json_int_t v = json_integer_value(j);
		if (v < 0 || (uint64_t)v > max)
			return bad(r, where, "'%s' = %lld is out of range 0..%llu", key, (long long)v,
			           (unsigned long long)max);
		*out = (uint64_t)v;
		return 0;
	}
	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		char *end;
		errno = 0;
		unsigned long long v =
		        s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10) : (errno = EINVAL, 0);
		if (errno || *end || v > max)
			return bad(r, where, "'%s' = \"%.40s\" is not a whole number in 0..%llu", key, s,
			           (unsigned long long)max);
		*out = v;
		return 0;
	}
	return bad(r, where, "'%s' should be a whole number, not %s", key, jtype(j));
}

static int get_u32(struct reader *r, const json_t *o, const char *key, const char *where, uint32_t max,
                   uint32_t *out)
{
	uint64_t v = *out;
	if (get_u64(r, o, key, where, max, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A number in [lo, hi]; null reads as NaN only when nan_ok. */
static int get_double(struct reader *r, const json_t *o, const char *key, const char *where, double lo,
                      double hi, bool nan_ok, double *out)
{
	json_t *j = json_object_get(o, key);

	if (!j)
		return 0;
	if (json_is_null(j) && nan_ok) {
		*out = NAN;
		return 0;
	}
	if (!json_is_number(j))
		return bad(r, where, "'%s' should be a number, not %s", key, jtype(j));
	double v = json_number_value(j);
	if (!isfinite(v) || v < lo || v > hi)
		return bad(r, where, "'%s' = %g is out of range %g..%g", key, v, lo, hi);
	*out = v;
	return 0;
}

static int get_float(struct reader *r, const json_t *o, const char *key, const char *where, double lo,
                     double hi, float *out)
{
	double v = *out;
	if (get_double(r, o, key, where, lo, hi, false, &v) != 0)
		return -1;
	*out = (float)v;
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.mmm]Z" -> ms; absent or null -> 0. */
static int get_time(struct reader *r, const json_t *o, const char *key, const char *where, int64_t *out)
{
	json_t *j = json_object_get(o, key);
	int y, mo, d, h, mi, s, ms = 0, n = 0;
	struct tm tm = {0};
	const char *str;

	*out = 0;
	if (!j || json_is_null(j))
		return 0;
	if (!json_is_string(j))
		return bad(r, where, "'%s' should be a time string, not %s", key, jtype(j));
	str = json_string_value(j);
	if (sscanf(str, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 || n != 19)
		goto bad_time;
	if (str[n] == '.') {
		int m = 0;
		if (sscanf(str + n + 1, "%3d%n", &ms, &m) != 1 || m != 3)
			goto bad_time;
		n += 4;
	}
	if (strcmp(str + n, "Z") != 0 || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || s > 60 || ms < 0)
		goto bad_time;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	*out = (int64_t)timegm(&tm) * 1000 + ms;
	return 0;
bad_time:
	return bad(r, where, "'%s' = \"%.40s\" is not a time like 2025-01-31T12:00:00.000Z", key, str);
}

static int get_object(struct reader *r, const json_t *o, const char *key, const char *where, json_t **out)
{
	json_t *j = json_object_get(o, key);

	*out = NULL;
	if (!j || json_is_null(j))
		return 0;
	if (!json_is_object(j))
		return bad(r, where, "'%s' should be an object, not %s", key, jtype(j));
	*out = j;
	return 0;
}

static int read_sampling(struct reader *r, const json_t *o, const char *where, struct sampler_params *s)
{
	uint32_t top_k = (uint32_t)(s->top_k < 0 ? 0 : s->top_k);

	if (get_float(r, o, "temperature", where, 0, 5, &s->temperature) ||
	    get_u32(r, o, "top_k", where, 100000, &top_k) ||
	    get_float(r, o, "top_p", where, 0, 1, &s->top_p) ||
	    get_float(r, o, "min_p", where, 0, 1, &s->min_p) ||
	    get_float(r, o, "repeat_penalty", where, 0, 10, &s->repeat_penalty) ||
	    get_float(r, o, "presence_penalty", where, -100, 100, &s->presence_penalty) ||
	    get_u32(r, o, "penalty_last_n", where, 10000000, &s->penalty_last_n) ||
	    get_u64(r, o, "seed", where, UINT64_MAX, &s->seed))
		return -1;
	s->top_k = (int32_t)top_k;
	return 0;
}

static int read_stats(struct reader *r, const json_t *o, const char *where, struct gen_stats *s)
{
	const double big = 1e12;
	json_t *stop;
	bool merged = false;

	memset(s, 0, sizeof *s);
	if (get_u32(r, o, "prompt_tokens", where, UINT32_MAX, &s->prompt_tokens) ||
	    get_u32(r, o, "cached_tokens", where, UINT32_MAX, &s->cached_tokens) ||
	    get_u32(r, o, "gen_tokens", where, UINT32_MAX, &s->gen_tokens) ||
	    get_double(r, o, "ttft_ms", where, 0, big, true, &s->ttft_ms) ||
	    get_double(r, o, "prefill_tps", where, 0, big, true, &s->prefill_tps) ||
	    get_double(r, o, "decode_tps", where, 0, big, true, &s->decode_tps) ||
	    get_double(r, o, "itl_p50_ms", where, 0, big, true, &s->itl_p50_ms) ||
	    get_double(r, o, "itl_p99_ms", where, 0, big, true, &s->itl_p99_ms) ||
	    get_u64(r, o, "peak_rss", where, UINT64_MAX, &s->peak_rss) ||
	    get_u64(r, o, "device_bytes", where, UINT64_MAX, &s->device_bytes) ||
	    get_u32(r, o, "dropped_turns", where, UINT32_MAX, &s->dropped_turns) ||
	    get_bool(r, o, "merged_system", where, &merged))
		return -1;
	s->merged_system = merged;
	s->stop = GEN_STOP_EOS;
	stop = json_object_get(o, "stop");
	if (stop) {
		int k;
		if (!json_is_string(stop))
			return bad(r, where, "'stop' should be a string, not %s", jtype(stop));
		for (k = GEN_STOP_EOS; k <= GEN_STOP_CONTEXT; k++)
			if (strcmp(json_string_value(stop), gen_stop_name((enum gen_stop)k)) == 0)
				break;
		if (k > GEN_STOP_CONTEXT)
			return bad(r, where,
			           "'stop' = \"%.40s\" is not eos, max-tokens, stop-string, cancelled or "
			           "context",
			           json_string_value(stop));
		s->stop = (enum gen_stop)k;
	}
	return 0;
}

static int read_message(struct reader *r, const json_t *jm, const char *where, struct convo_msg *m)
{
	char *role = NULL;
	char sub[160];
	json_t *o;
	size_t k;

	memset(m, 0, sizeof *m);
	if (!json_is_object(jm))
		return bad(r, where, "should be an object, not %s", jtype(jm));
	if (get_str(r, jm, "role", where, true, &role) != 0)
		return -1;
	for (k = 0; k < 3; k++)
		if (strcmp(role, role_names[k]) == 0)
			break;
	if (k == 3) {
		bad(r, where, "'role' = \"%.40s\" is not system, user or assistant", role);
		free(role);
		return -1;
	}
	free(role);
	m->role = (enum convo_role)k;
	if (get_str(r, jm, "text", where, true, &m->text) || get_time(r, jm, "time", where, &m->time_ms) ||
	    get_u32(r, jm, "question", where, UINT32_MAX, &m->question))
		return -1;
	if (m->role != CONVO_ROLE_ASSISTANT)
		return 0;
	if (get_bool(r, jm, "think_open", where, &m->think_open) ||
	    get_bool(r, jm, "stopped", where, &m->stopped))
		return -1;
	if (get_object(r, jm, "sampling", where, &o) != 0)
		return -1;
	if (o) {
		snprintf(sub, sizeof sub, "%s.sampling", where);
		sampler_params_default(&m->sampling);
		if (read_sampling(r, o, sub, &m->sampling) || get_bool(r, jm, "r1", where, &m->r1))
			return -1;
		m->has_sampling = true;
	}
	if (get_object(r, jm, "stats", where, &o) != 0)
		return -1;
	if (o) {
		snprintf(sub, sizeof sub, "%s.stats", where);
		if (read_stats(r, o, sub, &m->stats))
			return -1;
		m->has_stats = true;
	}
	return 0;
}

static int read_pane(struct reader *r, const json_t *jp, const char *where, struct convo_pane *p)
{
	json_t *model, *params, *msgs, *o;
	char sub[96], *cf = NULL;

	if (!json_is_object(jp))
		return bad(r, where, "should be an object, not %s", jtype(jp));
	sampler_params_default(&p->params.sampling);
	if (get_object(r, jp, "model", where, &model) != 0)
		return -1;
	if (model) {
		snprintf(sub, sizeof sub, "%s.model", where);
		if (get_str(r, model, "path", sub, false, &p->model_path) ||
		    get_str(r, model, "name", sub, false, &p->model_name) ||
		    get_str(r, model, "device", sub, false, &p->device))
			return -1;
	}
	if (get_object(r, jp, "params", where, &params) != 0)
		return -1;
	if (params) {
		snprintf(sub, sizeof sub, "%s.params", where);
		if (get_object(r, params, "sampling", sub, &o) != 0)
			return -1;
		if (o) {
			char sub2[128];
			snprintf(sub2, sizeof sub2, "%s.sampling", sub);
			if (read_sampling(r, o, sub2, &p->params.sampling) != 0)
				return -1;
		}
		if (get_u32(r, params, "max_tokens", sub, 10000000, &p->params.max_tokens) ||
		    get_bool(r, params, "r1", sub, &p->params.r1) ||
		    get_bool(r, params, "math", sub, &p->params.math) ||
		    get_str(r, params, "template", sub, false, &p->params.template_name) ||
		    get_str(r, params, "system", sub, false, &p->params.system) ||
		    get_str(r, params, "chat_format", sub, false, &cf))
			return -1;
		if (cf) {
			p->params.chat_format = chat_format_parse(cf);
			if (p->params.chat_format == CHAT_FORMAT_UNKNOWN) {
				bad(r, sub, "'chat_format' = \"%.40s\" is not chatml, llama3 or deepseek-r1",
				    cf);
				free(cf);
				return -1;
			}
			free(cf);
		}
	}
	msgs = json_object_get(jp, "messages");
	if (!msgs)
		return bad(r, where, "'messages' is missing");
	if (!json_is_array(msgs))
		return bad(r, where, "'messages' should be an array, not %s", jtype(msgs));
	if (json_array_size(msgs) > CONVO_MAX_MESSAGES)
		return bad(r, where, "%zu messages (at most %u)", json_array_size(msgs),
		           (unsigned)CONVO_MAX_MESSAGES);
	p->cap_msgs = json_array_size(msgs);
	p->msgs = xcalloc(p->cap_msgs ? p->cap_msgs : 1, sizeof *p->msgs);
	if (!p->cap_msgs)
		p->cap_msgs = 1;
	for (size_t i = 0; i < json_array_size(msgs); i++) {
		snprintf(sub, sizeof sub, "%s.messages[%zu]", where, i);
		int rc = read_message(r, json_array_get(msgs, i), sub, &p->msgs[p->n_msgs]);
		p->n_msgs++; /* counted even on failure, so convo_free releases its text */
		if (rc != 0)
			return -1;
	}
	return 0;
}

int convo_from_json(struct convo *c, const char *name, const char *text, size_t len, char **cause)
{
	struct reader r = {name, cause};
	json_error_t jerr;
	json_t *root, *j, *panes;
	char *layout = NULL;
	uint64_t focus = 0;

	memset(c, 0, sizeof *c);
	if (len > CONVO_MAX_FILE)
		return error_set(cause, "%s: %zu bytes is too large for a conversation (at most %u)", name,
		                 len, (unsigned)CONVO_MAX_FILE);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return error_set(cause, "%s: not valid JSON: line %d column %d: %s", name, jerr.line,
		                 jerr.column, jerr.text);
	if (!json_is_object(root)) {
		bad(&r, "top level", "should be an object, not %s", jtype(root));
		goto fail;
	}
	j = json_object_get(root, "duet_conversation");
	if (!j) {
		error_set(cause, "%s: not a duet conversation (no \"duet_conversation\" version)", name);
		goto fail;
	}
	if (!json_is_integer(j)) {
		bad(&r, "duet_conversation", "the version should be an integer, not %s", jtype(j));
		goto fail;
	}
	if (json_integer_value(j) != CONVO_VERSION) {
		error_set(cause, "%s: conversation format version %lld; this duet reads version %d", name,
		          (long long)json_integer_value(j), CONVO_VERSION);
		goto fail;
	}
	if (get_time(&r, root, "created", "top level", &c->created_ms) ||
	    get_str(&r, root, "layout", "top level", false, &layout) ||
	    get_bool(&r, root, "broadcast", "top level", &c->broadcast) ||
	    get_u64(&r, root, "focus", "top level", CONVO_MAX_PANES - 1, &focus))
		goto fail;
	c->focus = (int)focus;
	c->layout = SETTINGS_LAYOUT_AUTO;
	if (layout) {
		int l = settings_layout_parse(layout);
		if (l < 0) {
			bad(&r, "top level", "'layout' = \"%.40s\" is not auto, side or stacked", layout);
			goto fail;
		}
		c->layout = l;
	}
	panes = json_object_get(root, "panes");
	if (!panes) {
		bad(&r, "top level", "'panes' is missing");
		goto fail;
	}
	if (!json_is_array(panes) || json_array_size(panes) < 1 || json_array_size(panes) > CONVO_MAX_PANES) {
		bad(&r, "panes", "should be an array of 1 or 2 panes");
		goto fail;
	}
	for (size_t i = 0; i < json_array_size(panes); i++) {
		char where[32];
		snprintf(where, sizeof where, "panes[%zu]", i);
		c->n_panes = i + 1;
		if (read_pane(&r, json_array_get(panes, i), where, &c->panes[i]) != 0)
			goto fail;
	}
	if (c->focus >= (int)c->n_panes)
		c->focus = 0;
	free(layout);
	json_decref(root);
	return 0;
fail:
	free(layout);
	json_decref(root);
	convo_free(c);
	return -1;
}

int convo_load(struct convo *c, const char *path, char **cause)
{
	size_t len;
	char *text;
	int rc;

	memset(c, 0, sizeof *c);
	text = file_read_all(path, CONVO_MAX_FILE, &len, cause);
	if (!text)
		return -1;
	rc = convo_from_json(c, path, text, len, cause);
	free(text);
	return rc;
}

/* ---- Markdown
 * -------------------------------------------------------------------------------------------------- */

static void md_time(struct buf *b, int64_t ms)
{
	char tmp[40];
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (ms > 0 && localtime_r(&secs, &tm) && strftime(tmp, sizeof tmp, "%Y-%m-%d %H:%M", &tm))
		buf_printf(b, "%s", tmp);
	else
		buf_printf(b, "(unknown time)");
}

/* Text as Markdown paragraphs, "</details>" defused so it cannot close our block. */
static void md_text(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '<' && n - i >= 9 && strncmp(s + i, "</details", 9) == 0) {
			buf_printf(b, "&lt;");
			continue;
		}
		buf_putc(b, s[i]);
	}
}

static void md_quote(struct buf *b, const char *s)
{
	buf_printf(b, "> ");
	for (; *s; s++) {
		buf_putc(b, *s);
		if (*s == '\n')
			buf_printf(b, "> ");
	}
	buf_printf(b, "\n\n");
}

static const char *pane_label(const struct convo_pane *p, char *tmp, size_t size)
{
	const char *path = p->model_path;
	if (p->model_name && *p->model_name)
		return p->model_name;
	if (path) {
		const char *slash = strrchr(path, '/');
		snprintf(tmp, size, "%s", slash && slash[1] ? slash + 1 : path);
		return tmp;
	}
	return "(no model)";
}

static void md_params(struct buf *b, const struct sampler_params *s, bool r1)
{
	buf_printf(b, "temperature %g, top-p %g, top-k %d, min-p %g", (double)s->temperature,
	           (double)s->top_p, s->top_k, (double)s->min_p);
	if (s->repeat_penalty != 1.0f)
		buf_printf(b, ", repeat penalty %g", (double)s->repeat_penalty);
	buf_printf(b, ", seed %llu%s", (unsigned long long)s->seed, r1 ? ", R1 conventions" : "");
}

static void md_answer(struct buf *b, const struct convo_msg *m)
{
	const char *think, *answer;
	size_t tn, an;

	convo_msg_split(m, &think, &tn, &answer, &an);
	if (tn) {
		buf_printf(b, "<details><summary>Thinking</summary>\n\n");
		md_text(b, think, tn);
		buf_printf(b, "\n\n</details>\n\n");
	}
	if (an) {
		md_text(b, answer, an);
		buf_printf(b, "\n\n");
	} else if (!tn || !m->stopped)
		buf_printf(b, "*(no answer)*\n\n");
	if (m->stopped)
		buf_printf(b, "*(stopped before the end)*\n\n");
	{
		char *boxed = chat_extract_boxed(answer, an);
		if (boxed) {
			buf_printf(b, "**Final answer:** $\\boxed{%s}$\n\n", boxed);
			free(boxed);
		}
	}
	if (m->has_stats) {
		const struct gen_stats *s = &m->stats;
		buf_printf(b,
		           "<sub>%u tokens, first token after %.0f ms, %.1f tokens/s, prompt %u tokens (%u "
		           "cached), "
		           "stop: %s",
		           s->gen_tokens, s->ttft_ms, s->decode_tps, s->prompt_tokens, s->cached_tokens,
		           gen_stop_name(s->stop));
		if (m->has_sampling) {
			buf_printf(b, "; ");
			md_params(b, &m->sampling, m->r1);
		}
		buf_printf(b, "</sub>\n\n");
	}
}

char *convo_markdown(const struct convo *c)
{
	struct buf b = {0};
	size_t n_panes = c->n_panes > CONVO_MAX_PANES ? CONVO_MAX_PANES : c->n_panes;
	bool numbered = true;
	uint32_t n_questions = 0;
	char tmp[256];

	buf_printf(&b, "# duet conversation, ");
	md_time(&b, c->created_ms);
	buf_printf(&b, "\n\n");
	for (size_t i = 0; i < n_panes; i++) {
		const struct convo_pane *p = &c->panes[i];
		buf_printf(&b, "- **Pane %zu:** %s", i + 1, pane_label(p, tmp, sizeof tmp));
		if (p->model_path)
			buf_printf(&b, " (`%s`)", p->model_path);
		if (p->device)
			buf_printf(&b, " on %s", p->device);
		buf_printf(&b, "; ");
		md_params(&b, &p->params.sampling, p->params.r1);
		if (p->params.template_name)
			buf_printf(&b, "; template %s", p->params.template_name);
		if (p->params.chat_format != CHAT_FORMAT_UNKNOWN)
			buf_printf(&b, "; chat format %s", chat_format_name(p->params.chat_format));
		buf_printf(&b, "\n");
	}
	buf_printf(&b, "\n");
	for (size_t i = 0; i < n_panes; i++) {
		const struct convo_pane *p = &c->panes[i];
		if (p->params.system && *p->params.system) {
			if (n_panes > 1)
				buf_printf(&b, "System prompt of pane %zu:\n\n", i + 1);
			else
				buf_printf(&b, "System prompt:\n\n");
			md_quote(&b, p->params.system);
		}
	}

	/* Questions: numbered by the caller, or by order of each pane's user messages. */
	for (size_t i = 0; i < n_panes; i++) {
		uint32_t k = 0;
		for (size_t m = 0; m < c->panes[i].n_msgs; m++)
			if (c->panes[i].msgs[m].role == CONVO_ROLE_USER) {
				k++;
				if (!c->panes[i].msgs[m].question)
					numbered = false;
			}
		if (k > n_questions)
			n_questions = k;
	}
	if (numbered)
		n_questions = convo_last_question(c);

	for (uint32_t q = 1; q <= n_questions; q++) {
		const struct convo_msg *user[CONVO_MAX_PANES] = {0};
		size_t first = CONVO_MAX_PANES;
		bool same = true;

		for (size_t i = 0; i < n_panes; i++) {
			uint32_t k = 0;
			for (size_t m = 0; m < c->panes[i].n_msgs; m++) {
				const struct convo_msg *msg = &c->panes[i].msgs[m];
				if (msg->role != CONVO_ROLE_USER)
					continue;
				k++;
				if ((numbered && msg->question == q) || (!numbered && k == q)) {
					user[i] = msg;
					break;
				}
			}
			if (user[i] && first == CONVO_MAX_PANES)
				first = i;
		}
		if (first == CONVO_MAX_PANES)
			continue;
		for (size_t i = first + 1; i < n_panes; i++)
			if (user[i] && strcmp(user[i]->text, user[first]->text) != 0)
				same = false;
		buf_printf(&b, "## Question %u\n\n", q);
		if (same)
			md_quote(&b, user[first]->text);
		for (size_t i = 0; i < n_panes; i++) {
			const struct convo_pane *p = &c->panes[i];
			if (!user[i])
				continue;
			if (n_panes > 1)
				buf_printf(&b, "### Pane %zu: %s\n\n", i + 1, pane_label(p, tmp, sizeof tmp));
			if (!same)
				md_quote(&b, user[i]->text);
			/* the answers that follow this question in the pane (a /retry may leave several) */
			size_t m = (size_t)(user[i] - p->msgs) + 1;
			bool any = false;
			for (; m < p->n_msgs && p->msgs[m].role == CONVO_ROLE_ASSISTANT; m++) {
				md_answer(&b, &p->msgs[m]);
				any = true;
			}
			if (!any)
				buf_printf(&b, "*(no answer)*\n\n");
		}
	}
	buf_cstr(&b);
	return b.data;
}

int convo_export_markdown(const struct convo *c, const char *path, char **cause)
{
	char *md = convo_markdown(c);
	int rc = files_write_atomic(path, md, strlen(md), cause);
	free(md);
	return rc;
}

/* ---- autosave
 * ---------------------------------------------------------------------------------------------------- */

char *convo_autosave_dir(void)
{
	return files_xdg_path("XDG_DATA_HOME", ".local/share", "chats");
}

char *convo_autosave_path(int64_t created_ms)
{
	char name[64];
	time_t secs = (time_t)(created_ms / 1000);
	struct tm tm;
	char *dir = convo_autosave_dir(), *path;

	if (!localtime_r(&secs, &tm) || !strftime(name, sizeof name, "%Y-%m-%d_%H-%M-%S.json", &tm))
		snprintf(name, sizeof name, "%lld.json", (long long)created_ms);
	path = path_join(dir, name);
	free(dir);
	return path;
}

static int json_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

char *convo_latest(char **cause)
{
	char *dir = convo_autosave_dir(), *best = NULL;
	struct dirent **names = NULL;
	struct timespec best_t = {0, 0};
	int n = scandir(dir, &names, json_filter, alphasort);

	if (n < 0) {
		error_set(cause, "%s: no saved conversations (%s)", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		char *path = path_join(dir, names[i]->d_name);
		struct stat st;
		/* ties go to the later name (alphasort order): names carry the start time */
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    (!best || st.st_mtim.tv_sec > best_t.tv_sec ||
		     (st.st_mtim.tv_sec == best_t.tv_sec && st.st_mtim.tv_nsec >= best_t.tv_nsec))) {
			free(best);
			best = path;
			best_t = st.st_mtim;
		} else
			free(path);
		free(names[i]);
	}
	free(names);
	if (!best)
		error_set(cause, "%s: no saved conversations", dir);
	free(dir);
	return best;
}
