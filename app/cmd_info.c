/*
 * cmd_info.c — `duet info`: what a model file holds, as duet understood it
 * (the model description both sources share), its tokenizer, and optionally
 * the raw GGUF metadata and tensor list; `duet info --devices` lists GPUs.
 * Every string from the file is untrusted and escaped on a terminal.
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cli.h"
#include "infer/backend.h"
#include "infer/dtype.h"
#include "infer/gguf.h"
#include "infer/model.h"
#include "infer/tokenizer.h"
#include "infer/util.h"

static bool out_is_tty;

static void put_text(const char *s)
{
	cli_write_untrusted(stdout, s, strlen(s), out_is_tty);
}

static void print_id(const char *label, int32_t id, const struct tokenizer *tok)
{
	size_t len = 0;
	const char *piece;

	if (id < 0) {
		printf("%s -", label);
		return;
	}
	printf("%s %d", label, id);
	piece = tok && (size_t)id < tokenizer_n_vocab(tok) ? tokenizer_token_bytes(tok, id, &len) : NULL;
	if (piece) {
		fputs(" ", stdout);
		cli_write_json_string(stdout, piece, len);
	}
}

static void print_types(const struct model_file *mf)
{
	unsigned counts[DTYPE_COUNT_] = {0};
	bool first = true;

	for (size_t i = 0; i < model_file_n_tensors(mf); i++) {
		uint32_t t = model_file_tensor(mf, i)->type;
		if (t < DTYPE_COUNT_)
			counts[t]++;
	}
	printf("tensors:       %zu (", model_file_n_tensors(mf));
	for (unsigned t = 0; t < DTYPE_COUNT_; t++) {
		if (!counts[t])
			continue;
		printf("%s%s %u", first ? "" : ", ", dtype_name(t), counts[t]);
		first = false;
	}
	printf(")\n");
}

static int print_devices(void)
{
#ifdef HAVE_CUDA
	const struct backend_ops *cuda = cuda_backend_get();
	char *cause = NULL, versions[160];
	int n = cuda->device_count(&cause);

	cuda->versions(versions, sizeof versions);
	printf("%s\n", versions);
	if (n < 0) {
		printf("no usable GPU: %s\n", cause);
		free(cause);
		return CLI_EXIT_FAIL;
	}
	for (int i = 0; i < n; i++) {
		struct backend_device_info info;
		if (cuda->device_info(i, &info, &cause) != 0) {
			printf("cuda:%d  %s\n", i, cause);
			free(cause);
			cause = NULL;
			continue;
		}
		printf("cuda:%d  %s, compute capability %d.%d, %d SMs, %s total, %s free\n", i, info.name,
		       info.cc_major, info.cc_minor, info.multiprocessors, cli_human_bytes(info.total_mem),
		       cli_human_bytes(info.free_mem));
	}
	return CLI_EXIT_OK;
#else
	printf("this duet was built without CUDA (configure found no CUDA toolkit, or --without-cuda)\n");
	return CLI_EXIT_FAIL;
#endif
}

static void print_kv(const struct gguf *g)
{
	printf("\nmetadata (%llu keys):\n", (unsigned long long)gguf_n_kv(g));
	for (uint64_t i = 0; i < gguf_n_kv(g); i++) {
		struct gguf_str key = gguf_kv_key(g, i);
		char *val = gguf_kv_describe(g, i, 160);
		fputs("  ", stdout);
		cli_write_untrusted(stdout, key.ptr, key.len, out_is_tty);
		fputs(" = ", stdout);
		put_text(val);
		fputc('\n', stdout);
		free(val);
	}
}

static void print_tensors(const struct model_file *mf)
{
	printf("\ntensors:\n");
	for (size_t i = 0; i < model_file_n_tensors(mf); i++) {
		const struct tensor *t = model_file_tensor(mf, i);
		printf("  %-28s %-5s [", t->name, dtype_name(t->type));
		for (uint32_t d = 0; d < t->n_dims; d++)
			printf("%s%llu", d ? ", " : "", (unsigned long long)t->ne[d]);
		printf("]  %s at %llu\n", cli_human_bytes(t->n_bytes), (unsigned long long)t->file_offset);
	}
}

static int print_model(const char *path, bool show_kv, bool show_tensors)
{
	char *cause = NULL;
	struct model_file *mf = model_file_open(path, &cause);
	struct tokenizer *tok = NULL;
	const struct model_desc *d;
	const struct gguf *g;
	int rc = CLI_EXIT_OK;

	if (!mf) {
		fprintf(stderr, "duet: %s\n", cause);
		free(cause);
		return CLI_EXIT_FAIL;
	}
	d = model_file_desc(mf);
	g = model_file_gguf(mf);

	printf("file:          ");
	put_text(path);
	if (g)
		printf(" (GGUF v%u, %s)\n", gguf_version(g), cli_human_bytes(gguf_file_size(g)));
	else
		printf(" (safetensors)\n");
	printf("name:          ");
	put_text(d->name);
	printf("\narchitecture:  %s\n", model_arch_name(d->arch));
	printf("parameters:    %s\n", cli_human_count(model_file_n_params(mf)));
	print_types(mf);
	printf("weights:       %s\n", cli_human_bytes(model_file_weight_bytes(mf)));
	printf("layers:        %u\n", d->n_layers);
	printf("embedding:     %u\n", d->n_embd);
	printf("heads:         %u (KV heads %u, head dim %u)\n", d->n_heads, d->n_kv_heads, d->head_dim);
	printf("feed-forward:  %u\n", d->n_ff);
	printf("vocabulary:    %u\n", d->n_vocab);
	printf("rope:          theta %g, %s pairs\n", d->rope_theta,
	       d->rope_layout == ROPE_LAYOUT_ADJACENT ? "adjacent (2i, 2i+1)" : "half-split (i, i+d/2)");
	printf("rms eps:       %g\n", d->rms_eps);
	printf("context:       %u (trained)\n", d->n_ctx_train);
	printf("qkv bias:      %s\n", d->qkv_bias ? "yes" : "no");
	printf("output:        %s\n", d->tied_output ? "tied to token_embd" : "own output.weight");

	tok = tokenizer_from_model(mf, &cause);
	if (!tok) {
		printf("tokenizer:     unusable: ");
		put_text(cause);
		printf("\n");
		free(cause);
		cause = NULL;
		rc = CLI_EXIT_FAIL;
	} else {
		printf("tokenizer:     %s (byte-level BPE), pre-tokenizer %s%s, %zu tokens\n", tokenizer_type(tok),
		       tokenizer_pre(tok), tokenizer_normalizes_nfc(tok) ? ", NFC" : "", tokenizer_n_vocab(tok));
	}
	printf("special ids:  ");
	print_id(" BOS", d->bos_id, tok);
	print_id(", EOS", d->eos_id, tok);
	print_id(", EOT", d->eot_id, tok);
	print_id(", PAD", d->pad_id, tok);
	printf("; add BOS %s\n", d->add_bos ? "yes" : "no");
	printf("stop ids:      ");
	for (uint32_t i = 0; i < d->n_stop_ids; i++)
		printf("%s%d", i ? " " : "", d->stop_ids[i]);
	printf("%s\n", d->n_stop_ids ? "" : "-");
	printf("chat format:   %s%s\n", chat_format_name(d->chat_format),
	       d->chat_template ? " (detected from the chat template)" : " (no chat template in the model)");
	printf("sampling:      ");
	if (isnan(d->temperature) && isnan(d->top_p) && d->top_k <= 0)
		printf("no defaults in the model\n");
	else
		printf("temperature %g, top-p %g, top-k %d (model defaults)\n", d->temperature, d->top_p, d->top_k);

	if (show_kv && g)
		print_kv(g);
	if (show_tensors)
		print_tensors(mf);
	tokenizer_free(tok);
	model_file_close(mf);
	return rc;
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{"kv", no_argument, NULL, 'k'},
		{"tensors", no_argument, NULL, 't'},
		{"devices", no_argument, NULL, 'd'},
		{"model", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool show_kv = false, show_tensors = false, devices = false;
	const char *given = NULL;
	char *path;
	int c, rc;

	out_is_tty = isatty(STDOUT_FILENO);
	while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			show_kv = true;
			break;
		case 't':
			show_tensors = true;
			break;
		case 'd':
			devices = true;
			break;
		case 'm':
			given = optarg;
			break;
		case 'h':
			printf("usage: duet info [PATH | -m PATH] [--kv] [--tensors]\n       duet info --devices\n");
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (devices)
		return print_devices();
	if (optind < argc) {
		if (given || optind + 1 < argc) {
			fprintf(stderr, "duet info: give one model path\n");
			return CLI_EXIT_USAGE;
		}
		given = argv[optind];
	}
	path = cli_resolve_model(given);
	if (!path)
		return CLI_EXIT_FAIL;
	rc = print_model(path, show_kv, show_tensors);
	free(path);
	return rc;
}
