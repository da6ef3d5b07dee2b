/*
 * cmd_mkmodel.c — `duet mkmodel`: write a random-weight model of a real
 * configuration (a built-in name or a config.json) as GGUF or as a Hugging
 * Face safetensors folder, for benchmarks and GPU checks where real weights
 * cannot travel. The work is infer/mkmodel.c's; this file parses options
 * and reports what was written.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/cli.h"
#include "infer/dtype.h"
#include "infer/mkmodel.h"
#include "infer/quantize.h"
#include "infer/util.h"

#define MKMODEL_USAGE                                                                                        \
	"usage: duet mkmodel --config NAME|config.json --out PATH [options]\n"                               \
	"  --config C        a built-in configuration (--list) or a Hugging Face config.json\n"              \
	"  --out PATH        a .gguf file, or a folder for safetensors\n"                                    \
	"  --format F        gguf or safetensors (default: gguf when PATH ends in .gguf)\n"                  \
	"  --quant T         weight type: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k (default "    \
	"bf16);\n"                                                                                           \
	"                    safetensors takes f32, f16, bf16; norms and biases stay f32 in GGUF\n"          \
	"  --seed S          weights are a function of the seed alone (default 1)\n"                         \
	"  --vocab-from P    copy the tokenizer of a GGUF, a tokenizer.json or a folder holding them\n"      \
	"                    (default: a synthetic byte-level vocabulary of the configuration's size)\n"     \
	"  --layers N, --vocab N, --ctx N   override the configuration\n"                                    \
	"  --std X           standard deviation of matrix weights (default 0.02)\n"                          \
	"  -t, --threads N   generator threads (default: one per core)\n"                                    \
	"  --list            print the built-in configurations\n"

static int parse_type(const char *s, uint32_t *out)
{
	for (uint32_t t = 0; t < DTYPE_COUNT_; t++) {
		const struct dtype_traits *tr = dtype_traits(t);
		if (tr && quantize_supported(t) && strcasecmp(tr->name, s) == 0) {
			*out = t;
			return 0;
		}
	}
	fprintf(stderr,
	        "duet mkmodel: --quant '%s' is not one of f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k "
	        "q6_k\n",
	        s);
	return -1;
}

static void list_configs(void)
{
	for (const char *const *n = mkmodel_config_names(); *n; n++) {
		const struct mkmodel_config *c = mkmodel_config_builtin(*n);
		printf("%-22s %-5s hidden %u, %u layers, %u/%u heads of %u, ffn %u, vocab %u, ctx %u, rope "
		       "%g, eps %g%s%s\n",
		       c->name, model_arch_name(c->arch), c->n_embd, c->n_layers, c->n_heads, c->n_kv_heads,
		       c->head_dim, c->n_ff, c->n_vocab, c->n_ctx, (double)c->rope_theta, (double)c->rms_eps,
		       c->qkv_bias ? ", qkv bias" : "", c->tied_output ? ", tied output" : "");
	}
}

int cmd_mkmodel(int argc, char **argv)
{
	enum {
		OPT_CONFIG = 256,
		OPT_OUT,
		OPT_FORMAT,
		OPT_QUANT,
		OPT_SEED,
		OPT_VOCAB_FROM,
		OPT_LAYERS,
		OPT_VOCAB,
		OPT_CTX,
		OPT_STD,
		OPT_LIST
	};
	static const struct option opts[] = {
	        {"config", required_argument, NULL, OPT_CONFIG},
	        {"out", required_argument, NULL, OPT_OUT},
	        {"format", required_argument, NULL, OPT_FORMAT},
	        {"quant", required_argument, NULL, OPT_QUANT},
	        {"seed", required_argument, NULL, OPT_SEED},
	        {"vocab-from", required_argument, NULL, OPT_VOCAB_FROM},
	        {"layers", required_argument, NULL, OPT_LAYERS},
	        {"vocab", required_argument, NULL, OPT_VOCAB},
	        {"ctx", required_argument, NULL, OPT_CTX},
	        {"std", required_argument, NULL, OPT_STD},
	        {"threads", required_argument, NULL, 't'},
	        {"list", no_argument, NULL, OPT_LIST},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *out = NULL, *format = NULL;
	struct mkmodel_params p = {.type = DTYPE_BF16, .seed = 1};
	struct mkmodel_config c;
	struct mkmodel_report rep;
	uint32_t layers = 0, vocab = 0, ctx = 0, threads = 0;
	char *cause = NULL, *end;
	size_t len;
	int opt;

	while ((opt = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_FORMAT:
			format = optarg;
			break;
		case OPT_QUANT:
			if (parse_type(optarg, &p.type) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_SEED:
			errno = 0;
			p.seed = strtoull(optarg, &end, 0);
			if (errno || *end || !*optarg) {
				fprintf(stderr, "duet mkmodel: --seed '%s' is not a whole number\n", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_VOCAB_FROM:
			p.vocab_from = optarg;
			break;
		case OPT_LAYERS:
			if (run_parse_u32("mkmodel", "--layers", optarg, 4096, &layers) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_VOCAB:
			if (run_parse_u32("mkmodel", "--vocab", optarg, 1u << 22, &vocab) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_CTX:
			if (run_parse_u32("mkmodel", "--ctx", optarg, 1u << 24, &ctx) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_STD:
			if (run_parse_float("mkmodel", "--std", optarg, 1e-6f, 10.0f, &p.std) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 't':
			if (run_parse_u32("mkmodel", "--threads", optarg, 1024, &threads) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_LIST:
			list_configs();
			return CLI_EXIT_OK;
		case 'h':
			fputs(MKMODEL_USAGE, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(MKMODEL_USAGE, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "duet mkmodel: unexpected argument '%s'\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (!config || !out) {
		fprintf(stderr, "duet mkmodel: --config and --out are required\n%s", MKMODEL_USAGE);
		return CLI_EXIT_USAGE;
	}
	len = strlen(out);
	if (!format)
		p.format =
		        len > 5 && strcmp(out + len - 5, ".gguf") == 0 ? MKMODEL_GGUF : MKMODEL_SAFETENSORS;
	else if (strcmp(format, "gguf") == 0)
		p.format = MKMODEL_GGUF;
	else if (strcmp(format, "safetensors") == 0)
		p.format = MKMODEL_SAFETENSORS;
	else {
		fprintf(stderr, "duet mkmodel: --format '%s' is not gguf or safetensors\n", format);
		return CLI_EXIT_USAGE;
	}

	if (mkmodel_config_builtin(config)) {
		c = *mkmodel_config_builtin(config);
	} else if (path_exists(config)) {
		if (mkmodel_config_from_json(config, &c, &cause) < 0)
			goto fail;
	} else {
		fprintf(stderr,
		        "duet mkmodel: --config '%s' is neither a built-in configuration nor a file; "
		        "built-in:\n",
		        config);
		for (const char *const *n = mkmodel_config_names(); *n; n++)
			fprintf(stderr, "  %s\n", *n);
		return CLI_EXIT_USAGE;
	}
	if (layers)
		c.n_layers = layers;
	if (vocab)
		c.n_vocab = vocab;
	if (ctx)
		c.n_ctx = ctx;
	if (layers || vocab)
		snprintf(c.name + strnlen(c.name, sizeof c.name - 16), 16, "-l%uv%u", c.n_layers, c.n_vocab);
	p.n_threads = (int)threads;

	if (mkmodel_write(&c, &p, out, &rep, &cause) < 0)
		goto fail;
	printf("wrote %s: %s (%s, %s parameters, %u layers, vocabulary %u with %u tokens), %s%s, %s in %.1f "
	       "s (%.0f "
	       "MB/s), seed %llu\n",
	       out, c.name, model_arch_name(c.arch), cli_human_count(rep.n_params), c.n_layers, c.n_vocab,
	       rep.n_vocab_tokens, dtype_name(p.type),
	       rep.n_fallback ? " (some matrices Q8_0/F16: rows not whole blocks)" : "",
	       cli_human_bytes(rep.bytes), rep.seconds,
	       rep.seconds > 0 ? (double)rep.bytes / rep.seconds / 1e6 : 0.0, (unsigned long long)p.seed);
	return CLI_EXIT_OK;
fail:
	fprintf(stderr, "duet mkmodel: %s\n", cause ? cause : "failed");
	free(cause);
	return CLI_EXIT_FAIL;
}
