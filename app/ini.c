/*
 * ini.c — INI files through iniparser with line numbers: a pre-scan that
 * mirrors iniparser 4.1's line grammar finds sections, keys and malformed
 * lines, and writes a clean copy (bad lines blanked, sections renamed to
 * "sN" so that case, ':' and glob brackets in names survive, keys
 * normalised) that iniparser parses for the values. Line numbers in the
 * copy equal the original's. Calls iniparser and infer/util.h.
 */
#include "config.h"

#include "app/ini.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <iniparser.h>

#define DUET_XSTR(x) #x
#define DUET_STR(x)  DUET_XSTR(x)

void ini_messages_add(struct ini_messages *m, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (!m)
		return;
	va_start(ap, fmt);
	error_vset(&msg, fmt, ap);
	va_end(ap);
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 8;
		m->v = xreallocarray(m->v, m->cap, sizeof *m->v);
	}
	m->v[m->n++] = msg;
}

void ini_messages_free(struct ini_messages *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
	memset(m, 0, sizeof *m);
}

/* The line number of "NAME:LINE: ..." or INT_MAX. */
static long message_line(const char *msg, const char *name)
{
	size_t n = strlen(name);
	char *end;
	long line;

	if (strncmp(msg, name, n) != 0 || msg[n] != ':' || msg[n + 1] < '0' || msg[n + 1] > '9')
		return INT_MAX;
	line = strtol(msg + n + 1, &end, 10);
	return *end == ':' ? line : INT_MAX;
}

void ini_messages_sort(struct ini_messages *m, const char *name)
{
	/* insertion sort: a handful of messages, and it is stable */
	for (size_t i = 1; i < m->n; i++) {
		char *v = m->v[i];
		long key = message_line(v, name);
		size_t j = i;
		while (j > 0 && message_line(m->v[j - 1], name) > key) {
			m->v[j] = m->v[j - 1];
			j--;
		}
		m->v[j] = v;
	}
}

static int ini_silent(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

/* iniparser reads only from a path: hand it the clean copy through a memory file. */
static dictionary *ini_dict_from_text(const char *text, size_t len)
{
	char path[64];
	char tmpl[4096];
	const char *tmpdir = getenv("TMPDIR");
	dictionary *d;
	bool unlink_after = false;
	int fd;

#ifdef MFD_CLOEXEC
	fd = memfd_create("duet-ini", MFD_CLOEXEC);
#else
	fd = -1;
#endif
	if (fd >= 0) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		if (access(path, R_OK) != 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		snprintf(tmpl, sizeof tmpl, "%s/duet-ini.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
		fd = mkstemp(tmpl);
		if (fd < 0)
			return NULL;
		unlink_after = true;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			if (unlink_after)
				unlink(tmpl);
			return NULL;
		}
		off += (size_t)n;
	}
	iniparser_set_error_callback(ini_silent);
	d = iniparser_load(unlink_after ? tmpl : path);
	close(fd);
	if (unlink_after)
		unlink(tmpl);
	return d;
}

static bool ini_key_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.';
}

static void ini_add_entry(struct ini_file *f, size_t *cap, size_t section, char *key, int line)
{
	/* A key repeated within one section: iniparser keeps the last value, so keep the last line. */
	for (size_t i = f->n_entries; i-- > 0;) {
		struct ini_entry *e = &f->entries[i];
		if (e->section != f->sections[section].name)
			break;
		if (strcmp(e->key, key) == 0) {
			free(e->key);
			memmove(e, e + 1, (f->n_entries - i - 1) * sizeof *e);
			f->n_entries--;
			break;
		}
	}
	if (f->n_entries == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		f->entries = xreallocarray(f->entries, *cap, sizeof *f->entries);
	}
	f->entries[f->n_entries++] = (struct ini_entry){.section = f->sections[section].name,
	                                                .section_index = section,
	                                                .key = key,
	                                                .value = NULL,
	                                                .line = line};
}

/* Trim blanks (isspace, as iniparser does) from both ends of [*s, *s + *n). */
static void ini_trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

int ini_file_parse(struct ini_file *f, const char *name, const char *text, size_t len,
                   struct ini_messages *msgs, char **cause)
{
	struct buf clean = {0}, logical = {0};
	size_t cap_sections = 0, cap_entries = 0;
	long cur = -1; /* current section index */
	dictionary *d = NULL;
	size_t pos = 0;
	int lineno = 0;

	memset(f, 0, sizeof *f);
	f->name = xstrdup(name);
	while (pos < len) {
		int first = lineno + 1, n_phys = 0;
		bool has_nul = false;

		/* One logical line: physical lines joined where one ends in '\' (after trailing blanks). */
		logical.len = 0;
		for (;;) {
			const char *nl = memchr(text + pos, '\n', len - pos);
			size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
			const char *s = text + pos;

			lineno++;
			n_phys++;
			if (memchr(s, '\0', n))
				has_nul = true;
			while (n && isspace((unsigned char)s[n - 1]))
				n--;
			pos = nl ? end + 1 : len;
			if (n && s[n - 1] == '\\' && pos < len) {
				buf_append(&logical, s, n - 1);
				continue;
			}
			buf_append(&logical, s, n);
			break;
		}

		const char *s = logical.data ? logical.data : "";
		size_t n = logical.len;
		const char *why = NULL;
		char *clean_line = NULL;

		ini_trim(&s, &n);
		if (has_nul)
			why = "a NUL byte in the line";
		else if (logical.len > INI_MAX_LINE)
			why = "line too long (iniparser reads at most " DUET_STR(
			        INI_MAX_LINE) " bytes a line)";
		else if (n == 0 || s[0] == ';' || s[0] == '#') {
			/* blank or comment */
		} else if (s[0] == '[' && s[n - 1] == ']') {
			const char *nm = s + 1;
			size_t nn = n - 2;
			ini_trim(&nm, &nn);
			if (nn == 0)
				why = "empty section name []";
			else {
				if (f->n_sections == cap_sections) {
					cap_sections = cap_sections ? 2 * cap_sections : 8;
					f->sections =
					        xreallocarray(f->sections, cap_sections, sizeof *f->sections);
				}
				f->sections[f->n_sections] = (struct ini_section){xstrndup(nm, nn), first};
				cur = (long)f->n_sections++;
				clean_line = xasprintf("[s%ld]", cur);
			}
		} else {
			const char *eq = memchr(s, '=', n);
			if (s[0] == '[')
				why = "malformed section header (a comment may not follow ']')";
			else if (!eq)
				why = "expected 'key = value' or '[section]'";
			else {
				const char *k = s;
				size_t kn = (size_t)(eq - s);
				ini_trim(&k, &kn);
				bool good = kn > 0;
				for (size_t i = 0; i < kn; i++)
					good = good && ini_key_char((unsigned char)k[i]);
				if (kn == 0)
					why = "missing key before '='";
				else if (!good)
					ini_messages_add(
					        msgs,
					        "%s:%d: bad key name '%.*s' (letters, digits, '-', '_', '.')",
					        name, first, (int)(kn > 60 ? 60 : kn), k);
				else if (cur < 0)
					ini_messages_add(msgs, "%s:%d: '%.*s' outside any [section]", name,
					                 first, (int)kn, k);
				else {
					char *key = xstrndup(k, kn);
					for (char *p = key; *p; p++)
						*p = *p == '-' ? '_' : (char)tolower((unsigned char)*p);
					clean_line = xasprintf("%s %.*s", key, (int)(s + n - eq), eq);
					ini_add_entry(f, &cap_entries, (size_t)cur, key, first);
				}
			}
		}
		if (why)
			ini_messages_add(msgs, "%s:%d: %s", name, first, why);
		if (clean_line) {
			buf_append(&clean, clean_line, strlen(clean_line));
			free(clean_line);
		}
		for (int i = 0; i < n_phys; i++)
			buf_putc(&clean, '\n');
	}
	buf_free(&logical);

	d = ini_dict_from_text(clean.data ? clean.data : "", clean.len);
	buf_free(&clean);
	if (!d) {
		error_set(cause, "%s: the INI parser failed on the cleaned text", name);
		goto fail;
	}
	for (size_t i = 0; i < f->n_entries; i++) {
		struct ini_entry *e = &f->entries[i];
		char *dkey = xasprintf("s%zu:%s", e->section_index, e->key);
		const char *v = iniparser_getstring(d, dkey, NULL);
		free(dkey);
		e->value = xstrdup(v ? v : "");
	}
	iniparser_freedict(d);
	return 0;
fail:
	ini_file_free(f);
	return -1;
}

int ini_file_load(struct ini_file *f, const char *path, struct ini_messages *msgs, char **cause)
{
	size_t len;
	char *text = file_read_all(path, INI_MAX_FILE, &len, cause);
	int rc;

	memset(f, 0, sizeof *f);
	if (!text)
		return -1;
	rc = ini_file_parse(f, path, text, len, msgs, cause);
	free(text);
	return rc;
}

void ini_file_free(struct ini_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_entries; i++) {
		free(f->entries[i].key);
		free(f->entries[i].value);
	}
	for (size_t i = 0; i < f->n_sections; i++)
		free(f->sections[i].name);
	free(f->entries);
	free(f->sections);
	free(f->name);
	memset(f, 0, sizeof *f);
}

char *ini_unescape(const char *value)
{
	struct buf b = {0};

	for (const char *p = value; *p; p++) {
		if (p[0] == '\\' && (p[1] == 'n' || p[1] == 't' || p[1] == '\\')) {
			buf_putc(&b, p[1] == 'n' ? '\n' : p[1] == 't' ? '\t' : '\\');
			p++;
		} else
			buf_putc(&b, *p);
	}
	buf_cstr(&b);
	return b.data;
}

int ini_parse_bool(const char *value)
{
	static const char *const yes[] = {"on", "yes", "true", "1"}, *const no[] = {"off", "no", "false",
	                                                                            "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(value, yes[i]) == 0)
			return 1;
		if (strcasecmp(value, no[i]) == 0)
			return 0;
	}
	return -1;
}
