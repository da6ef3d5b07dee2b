/*
 * cmd_logits.c — `duet logits`: the top-K logits of a forward pass over a
 * prompt (chat-rendered, or --raw text, or --ids), at the last position or
 * every position. The hook for golden checks against other implementations
 * and for looking at what a model "thinks" of a prompt. Token texts are
 * untrusted: always escaped in the text form, JSON-escaped in --json.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cli.h"
#include "infer/chat.h"
#include "infer/engine.h"
#include "infer/util.h"

#define LOGITS_USAGE                                                                                  \
	"usage: duet logits [-m MODEL] (-p TEXT|- [--raw] [--system TEXT] | --ids ID,...) [options]\n" \
	"  -p, --prompt TEXT   the prompt, rendered with the model's chat format (- reads stdin)\n"     \
	"      --raw           the prompt as plain text (BOS added when the model asks for it)\n"      \
	"      --ids LIST      token ids instead of text (comma or space separated)\n"               \
	"      --top K         how many of the largest logits to print (default 10)\n"                \
	"      --all-positions every position, not only the last\n"                                    \
	"      --json          one JSON object\n"                                                     \
	"      --ctx N, -t N, --device D, --gpu-mem SIZE, --quant Q, --chat-format F, --r1, --no-r1\n" \
	"                      as for duet run\n"

struct top_entry {
	int32_t id;
	float logit;
};

/* The k largest of row[0..n) by logit, ties by smaller id first; returns how many. */
static size_t top_select(const float *row, size_t n, size_t k, struct top_entry *out)
{
	size_t have = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;
		if (have == k && !(row[i] > out[k - 1].logit))
			continue;
		j = have < k ? have++ : k - 1;
		while (j > 0 && row[i] > out[j - 1].logit) {
			out[j] = out[j - 1];
			j--;
		}
		out[j].id = (int32_t)i;
		out[j].logit = row[i];
	}
	return have;
}

static int parse_id_list(const char *s, uint32_t n_vocab, struct tokens *ids)
{
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
			fprintf(stderr, "duet logits: '%.20s' is not a token id of this model (0..%u)\n", s, n_vocab - 1);
			return -1;
		}
		tokens_push(ids, (int32_t)v);
		s = end;
	}
	if (ids->n == 0) {
		fprintf(stderr, "duet logits: --ids has no ids\n");
		return -1;
	}
	return 0;
}

static void print_token_text(const struct tokenizer *tok, int32_t id, bool json)
{
	size_t len;
	const char *b = tokenizer_token_bytes(tok, id, &len);

	if (json) {
		cli_write_json_string(stdout, b ? b : "", b ? len : 0);
		return;
	}
	fputc('\'', stdout);
	cli_write_untrusted(stdout, b ? b : "", b ? len : 0, true);
	fputc('\'', stdout);
}

int cmd_logits(int argc, char **argv)
{
	enum {
		OPT_RAW = 256, OPT_SYSTEM, OPT_IDS, OPT_TOP, OPT_ALL, OPT_JSON, OPT_FORMAT,
		OPT_R1, OPT_NO_R1,
	};
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'm'},
		{"prompt", required_argument, NULL, 'p'},
		{"raw", no_argument, NULL, OPT_RAW},
		{"system", required_argument, NULL, OPT_SYSTEM},
		{"ids", required_argument, NULL, OPT_IDS},
		{"top", required_argument, NULL, OPT_TOP},
		{"all-positions", no_argument, NULL, OPT_ALL},
		{"json", no_argument, NULL, OPT_JSON},
		{"chat-format", required_argument, NULL, OPT_FORMAT},
		{"r1", no_argument, NULL, OPT_R1},
		{"no-r1", no_argument, NULL, OPT_NO_R1},
		CLI_ENGINE_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *given = NULL, *prompt_arg = NULL, *system = NULL, *ids_arg = NULL;
	bool raw = false, all = false, json = false;
	int r1 = -1;
	enum chat_format format = CHAT_FORMAT_UNKNOWN;
	uint32_t top = 10, n_ctx = 0, n_vocab;
	char *path = NULL, *cause = NULL;
	struct buf prompt = { 0 };
	struct tokens ids = { 0 };
	struct chat conv = { 0 };
	struct engine_model *m = NULL;
	struct engine_model_params mp = { 0 };
	struct session *s = NULL;
	struct top_entry *best = NULL;
	const struct tokenizer *tok;
	float *logits = NULL;
	int c, rc = CLI_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "m:p:t:h", opts, NULL)) != -1) {
		int shared = cli_engine_option("logits", c, optarg, &mp, &n_ctx);

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
		case OPT_IDS:
			ids_arg = optarg;
			break;
		case OPT_TOP:
			if (run_parse_u32("logits", "--top", optarg, 1000000, &top) < 0 || top == 0) {
				if (top == 0)
					fprintf(stderr, "duet logits: --top must be at least 1\n");
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_ALL:
			all = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_FORMAT:
			format = chat_format_parse(optarg);
			if (format == CHAT_FORMAT_UNKNOWN) {
				fprintf(stderr, "duet logits: unknown chat format '%s' (deepseek-r1, llama3, chatml)\n",
					optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_R1:
			r1 = 1;
			break;
		case OPT_NO_R1:
			r1 = 0;
			break;
		case 'h':
			fputs(LOGITS_USAGE, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(LOGITS_USAGE, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "duet logits: unexpected argument '%s'\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (!prompt_arg == !ids_arg) {
		fprintf(stderr, "duet logits: give either -p TEXT or --ids LIST\n");
		return CLI_EXIT_USAGE;
	}
	if (prompt_arg && run_prompt_read("logits", prompt_arg, &prompt) < 0)
		return CLI_EXIT_FAIL;
	path = cli_resolve_model(given);
	if (!path)
		goto done;
	m = cli_model_open(path, &mp, &cause);
	if (!m)
		goto fail;
	tok = engine_model_tokenizer(m);
	n_vocab = engine_model_desc(m)->n_vocab;

	if (ids_arg) {
		if (parse_id_list(ids_arg, n_vocab, &ids) < 0)
			goto done;
	} else if (raw) {
		if (tokenizer_encode(tok, prompt.data, prompt.len, TOKENIZE_ADD_BOS, &ids, &cause) < 0)
			goto fail;
	} else {
		struct chat_options co = { .format = format, .add_generation_prompt = true };
		bool merged = false;
		co.r1 = r1 < 0 ? engine_model_is_r1(m) : r1 == 1;
		if (system)
			chat_add(&conv, CHAT_ROLE_SYSTEM, system, strlen(system));
		chat_add(&conv, CHAT_ROLE_USER, prompt.data, prompt.len);
		if (chat_tokenize(tok, engine_model_desc(m), &conv, &co, &ids, &merged, &cause) < 0)
			goto fail;
	}
	if (n_ctx == 0)
		n_ctx = ids.n > UINT32_MAX ? UINT32_MAX : (uint32_t)ids.n;
	s = session_new(m, n_ctx, &cause);
	if (!s)
		goto fail;
	logits = session_logits(s, ids.ids, ids.n, &cause);
	if (!logits)
		goto fail;

	if (top > n_vocab)
		top = n_vocab;
	best = xcalloc(top, sizeof *best);
	if (json) {
		printf("{\"model\": ");
		cli_write_json_string(stdout, path, strlen(path));
		printf(", \"device\": \"%s\", \"n_vocab\": %u, \"ids\": [", engine_model_device(m), n_vocab);
		for (size_t i = 0; i < ids.n; i++)
			printf("%s%d", i ? ", " : "", ids.ids[i]);
		printf("], \"positions\": [");
	} else {
		printf("# %zu tokens:", ids.n);
		for (size_t i = 0; i < ids.n; i++)
			printf(" %d", ids.ids[i]);
		printf("\n");
	}
	for (size_t p = all ? 0 : ids.n - 1; p < ids.n; p++) {
		size_t k = top_select(logits + p * n_vocab, n_vocab, top, best);
		if (json) {
			printf("%s\n  {\"pos\": %zu, \"id\": %d, \"top\": [", p > (all ? 0 : ids.n - 1) ? "," : "", p,
			       ids.ids[p]);
			for (size_t j = 0; j < k; j++) {
				printf("%s{\"id\": %d, \"logit\": %.9g, \"text\": ", j ? ", " : "", best[j].id,
				       (double)best[j].logit);
				print_token_text(tok, best[j].id, true);
				printf("}");
			}
			printf("]}");
		} else {
			printf("pos %zu id %d ", p, ids.ids[p]);
			print_token_text(tok, ids.ids[p], false);
			printf("\n");
			for (size_t j = 0; j < k; j++) {
				printf("  %6d %12.6f ", best[j].id, (double)best[j].logit);
				print_token_text(tok, best[j].id, false);
				printf("\n");
			}
		}
	}
	if (json)
		printf("\n]}\n");
	rc = CLI_EXIT_OK;
	goto done;
fail:
	fprintf(stderr, "duet logits: %s\n", cause ? cause : "failed");
	rc = CLI_EXIT_FAIL;
done:
	free(best);
	free(logits);
	free(cause);
	chat_free(&conv);
	tokens_free(&ids);
	buf_free(&prompt);
	session_free(s);
	engine_model_free(m);
	free(path);
	return rc;
}
