/*
 * app.h — the program's entry points shared between app/ files.
 */
#ifndef DUET_APP_APP_H
#define DUET_APP_APP_H

#define DUET_USAGE                                                                            \
	"usage: duet [-m MODEL [-m MODEL2]] [--resume] [--plain] [options]   the chat (one or two panes)\n" \
	"       duet COMMAND [options]\n"                                                     \
	"\n"                                                                                  \
	"commands:\n"                                                                         \
	"  chat [options]                  the chat interface (duet chat --help for its options)\n" \
	"  info [PATH] [--kv] [--tensors]  describe a model file or folder (default model when no PATH)\n" \
	"  info --devices                  list GPUs the CUDA backend can use\n"              \
	"  tokenize [-m MODEL] [--special] [--json] [--bos] TEXT...\n"                        \
	"                                  print token ids of TEXT (stdin when TEXT is - or absent)\n" \
	"  tokenize [-m MODEL] --decode ID...  print the text of token ids\n"                 \
	"  run [-m MODEL] -p TEXT [--raw] [--system TEXT] [-n N] [--greedy] [--stats] ...\n"    \
	"                                  answer one prompt on stdout (duet run --help for all options)\n" \
	"  logits [-m MODEL] -p TEXT [--raw] [--top K] [--all-positions] [--json]\n"               \
	"                                  the largest logits of a forward pass over TEXT\n"      \
	"  bench [-m MODEL] [-p N] [-n M] [-t THREADS] [-r REPS] [--json]\n"                       \
	"                                  prefill and decode speed (tokens/s, latency, memory)\n" \
	"  mkmodel --config NAME|config.json --out PATH [--quant T] [--seed S]\n"                 \
	"                                  write a random-weight model of a real shape (GGUF or safetensors)\n" \
	"  help, --help                    this text\n"                                       \
	"  version, --version              the version\n"                                     \
	"\n"                                                                                  \
	"Models: a GGUF file, a Hugging Face model folder (config.json + *.safetensors +\n"   \
	"tokenizer.json), or a .safetensors file with config.json beside it. Without -m/PATH\n" \
	"duet uses SmolLM2-135M-Instruct from the models cache (./setup.sh fetches it).\n"


#endif
