/*
 * cmd_tokenize.c — `duet tokenize`: text to token ids with a model's own
 * tokenizer, and `--decode` ids back to text. User text is never parsed for
 * special tokens unless --special asks for it (DESIGN.md §4).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cli.h"
#include "infer/tokenizer.h"
#include "infer/util.h"

#define TOKENIZE_MAX_STDIN (256u << 20) /* 256 MiB: beyond that, split the input */

static int read_stdin(struct buf *text)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
		if (text->len + n > TOKENIZE_MAX_STDIN) {
			fprintf(stderr, "duet tokenize: standard input is larger than %u MiB\n", TOKENIZE_MAX_STDIN >> 20);
			return -1;
		}
		buf_append(text, chunk, n);
	}
	if (ferror(stdin)) {
		fprintf(stderr, "duet tokenize: reading standard input: %s\n", strerror(errno));
		return -1;
	}
	buf_cstr(text);
	return 0;
}

static void print_json(const struct tokenizer *tok, const struct tokens *ids)
{
	printf("[");
	for (size_t i = 0; i < ids->n; i++) {
		size_t plen, blen;
		const char *piece = tokenizer_piece(tok, ids->ids[i], &plen);
		const char *bytes = tokenizer_token_bytes(tok, ids->ids[i], &blen);
		printf("%s\n  {\"id\": %d, \"piece\": ", i ? "," : "", ids->ids[i]);
		cli_write_json_string(stdout, piece, plen);
		printf(", \"text\": ");
		cli_write_json_string(stdout, bytes, blen);
		printf(", \"special\": %s}", tokenizer_is_special(tok, ids->ids[i]) ? "true" : "false");
	}
	printf("%s]\n", ids->n ? "\n" : "");
}

static int parse_ids(int argc, char **argv, size_t n_vocab, struct tokens *ids)
{
	for (int i = 0; i < argc; i++) {
		/* Ids may come as separate arguments or as one space/comma-separated list. */
		char *s = argv[i];
		while (*s) {
			char *end;
			long v;
			while (*s == ' ' || *s == ',' || *s == '\t' || *s == '\n' || *s == '[' || *s == ']')
				s++;
			if (!*s)
				break;
			errno = 0;
			v = strtol(s, &end, 10);
			if (end == s || errno || v < 0 || (unsigned long)v >= n_vocab) {
				fprintf(stderr, "duet tokenize: '%s' is not a token id of this model (0..%zu)\n", s,
					n_vocab - 1);
				return -1;
			}
			tokens_push(ids, (int32_t)v);
			s = end;
		}
	}
	return 0;
}

int cmd_tokenize(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'm'},
		{"special", no_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"bos", no_argument, NULL, 'b'},
		{"decode", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool special = false, json = false, bos = false, decode = false;
	const char *given = NULL;
	char *path = NULL, *cause = NULL;
	struct tokenizer *tok = NULL;
	struct tokens ids = {0};
	struct buf text = {0};
	int c, rc = CLI_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			given = optarg;
			break;
		case 's':
			special = true;
			break;
		case 'j':
			json = true;
			break;
		case 'b':
			bos = true;
			break;
		case 'd':
			decode = true;
			break;
		case 'h':
			printf("usage: duet tokenize [-m MODEL|TOKENIZER] [--special] [--json] [--bos] [TEXT... | -]\n"
			       "       duet tokenize [-m MODEL] [--special] --decode ID...\n");
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (decode && optind >= argc) {
		fprintf(stderr, "duet tokenize: --decode needs token ids\n");
		return CLI_EXIT_USAGE;
	}
	path = cli_resolve_model(given);
	if (!path)
		return CLI_EXIT_FAIL;
	/* Only the tokenizer is needed: vocabulary-only GGUFs and bare tokenizer.json work too. */
	tok = tokenizer_open(path, &cause);
	if (!tok)
		goto fail;

	if (decode) {
		size_t len;
		char *out;
		if (parse_ids(argc - optind, argv + optind, tokenizer_n_vocab(tok), &ids) != 0)
			goto done;
		out = tokenizer_decode(tok, ids.ids, ids.n, special, &len, &cause);
		if (!out)
			goto fail;
		cli_write_untrusted(stdout, out, len, isatty(STDOUT_FILENO));
		if (isatty(STDOUT_FILENO))
			fputc('\n', stdout);
		free(out);
		rc = CLI_EXIT_OK;
		goto done;
	}

	if (optind >= argc || (optind + 1 == argc && strcmp(argv[optind], "-") == 0)) {
		if (read_stdin(&text) != 0)
			goto done;
	} else {
		for (int i = optind; i < argc; i++) {
			if (i > optind)
				buf_putc(&text, ' ');
			buf_append(&text, argv[i], strlen(argv[i]));
		}
	}
	if (tokenizer_encode(tok, text.data ? text.data : "", text.len,
			     (special ? TOKENIZE_SPECIAL : 0) | (bos ? TOKENIZE_ADD_BOS : 0), &ids, &cause) != 0)
		goto fail;
	if (json) {
		print_json(tok, &ids);
	} else {
		for (size_t i = 0; i < ids.n; i++)
			printf("%s%d", i ? " " : "", ids.ids[i]);
		printf("\n");
	}
	rc = CLI_EXIT_OK;
	goto done;
fail:
	fprintf(stderr, "duet: %s\n", cause);
	rc = CLI_EXIT_FAIL;
done:
	free(cause);
	buf_free(&text);
	tokens_free(&ids);
	tokenizer_free(tok);
	free(path);
	return rc;
}
