/*
 * cli.h — what the subcommands share: the default model location, model
 * opening with user-facing messages, and writing untrusted text (model
 * output, vocabulary pieces) to a stream without letting control characters
 * or escape sequences reach a terminal raw.
 */
#ifndef DUET_APP_CLI_H
#define DUET_APP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses: 0 ok, 1 the input was bad (file, model), 2 bad usage. */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,
	CLI_EXIT_USAGE = 2,
};

/* The models cache: $DUET_MODELS, else $XDG_CACHE_HOME/duet/models, else ~/.cache/duet/models. Caller frees. */
char *cli_models_dir(void);
/* The default model (SmolLM2-135M-Instruct) in the cache. Caller frees. */
char *cli_default_model(void);
/* argv's model, or the default when NULL; prints why when none exists. Caller frees. */
char *cli_resolve_model(const char *given);

struct engine_model;
struct engine_model_params;
/*
 * Open a model for a one-shot command: engine_model_open, then the one line
 * on stderr saying that `--device auto` fell back to the CPU, if it did.
 */
struct engine_model *cli_model_open(const char *path, const struct engine_model_params *p, char **cause);

/*
 * A byte count for --gpu-mem and the gpu_mem setting: digits, optionally a
 * fraction and a binary suffix K, M, G or T (any case, optionally followed
 * by B or iB): "20G", "512M", "1.5g", "4096" (bytes). Returns 0, or -1 for
 * anything else (empty, unknown suffix, a fraction without a suffix,
 * overflow).
 */
int cli_parse_size(const char *s, uint64_t *out);
/* --quant and the quant setting: "q8", "q4", "none" -> 8, 4, 0. Returns 0, or -1. */
int cli_parse_quant(const char *s, int *bits);
/* The same for a command's --gpu-mem / --quant: on a bad value, "duet CMD: ..." on stderr and -1. */
int cli_opt_gpu_mem(const char *cmd, const char *arg, uint64_t *out);
int cli_opt_quant(const char *cmd, const char *arg, int *bits);
/* The --help lines of --gpu-mem and --quant (run, bench, logits). */
#define CLI_GPU_USAGE                                                                                    \
	"      --gpu-mem SIZE    cap on GPU memory: bytes, or with K, M, G, T (e.g. 20G; default no cap)\n" \
	"      --quant Q         q8, q4: quantise float weights at load on the GPU (the CPU runs the\n"     \
	"                        file's own types); none (default) keeps them\n"

/* "1.23 GiB" style (static buffer per call slot: up to 4 live results). */
const char *cli_human_bytes(unsigned long long n);
/* "134.5 M" style. */
const char *cli_human_count(unsigned long long n);

/*
 * Write untrusted bytes. When `escape` is set, C0/C1 controls other than \n
 * and \t, DEL, and invalid UTF-8 come out as visible escapes (\x1b, \u0085,
 * \xff); used whenever the stream is a terminal.
 */
void cli_write_untrusted(FILE *f, const char *s, size_t n, bool escape);
/* JSON string literal of arbitrary bytes (invalid UTF-8 -> \ufffd). */
void cli_write_json_string(FILE *f, const char *s, size_t n);

int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/* `duet chat --plain` (app/cmd_chat_plain.c); argv[0] = "chat". Also what `duet chat` runs without a terminal. */
int cmd_chat_plain(int argc, char **argv);
int cmd_mkmodel(int argc, char **argv);

/*
 * Shared by run, logits and bench (app/cmd_run.c). The parsers print
 * "duet CMD: OPT ..." on stderr and return -1 for a bad value.
 * run_prompt_read appends ARG, or standard input when ARG is "-", to out
 * (NUL-terminated).
 */
struct buf;

/*
 * The options every model-running command (run, logits, bench) shares:
 * --ctx N, -t/--threads N, --device D, --gpu-mem SIZE, --quant q8|q4|none.
 * Put CLI_ENGINE_OPTIONS in the getopt_long table and "t:" in the short
 * options, and offer each getopt result to cli_engine_option first: it
 * returns 1 when the option was one of these (stored in *mp / *n_ctx), 0 when
 * not, -1 for a bad value (message printed; exit CLI_EXIT_USAGE).
 */
enum { CLI_OPT_CTX = 0x1000, CLI_OPT_DEVICE, CLI_OPT_GPU_MEM, CLI_OPT_QUANT };
#define CLI_ENGINE_OPTIONS                                                     \
	{"ctx", required_argument, NULL, CLI_OPT_CTX},                         \
	{"threads", required_argument, NULL, 't'},                             \
	{"device", required_argument, NULL, CLI_OPT_DEVICE},                   \
	{"gpu-mem", required_argument, NULL, CLI_OPT_GPU_MEM},                 \
	{"quant", required_argument, NULL, CLI_OPT_QUANT}
int cli_engine_option(const char *cmd, int opt, const char *arg, struct engine_model_params *mp, uint32_t *n_ctx);

int run_parse_u32(const char *cmd, const char *opt, const char *s, uint32_t max, uint32_t *out);
int run_parse_float(const char *cmd, const char *opt, const char *s, float min, float max, float *out);
int run_prompt_read(const char *cmd, const char *arg, struct buf *out);

#endif
