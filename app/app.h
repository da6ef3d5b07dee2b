/*
 * app.h — the program's entry points shared between app/ files.
 */
#ifndef DUET_APP_APP_H
#define DUET_APP_APP_H

#define DUET_USAGE                                                                            \
	"usage: duet COMMAND [options]\n"                                                     \
	"\n"                                                                                  \
	"commands:\n"                                                                         \
	"  info [PATH] [--kv] [--tensors]  describe a model file or folder (default model when no PATH)\n" \
	"  info --devices                  list GPUs the CUDA backend can use\n"              \
	"  tokenize [-m MODEL] [--special] [--json] [--bos] TEXT...\n"                        \
	"                                  print token ids of TEXT (stdin when TEXT is - or absent)\n" \
	"  tokenize [-m MODEL] --decode ID...  print the text of token ids\n"                 \
	"  help, --help                    this text\n"                                       \
	"  version, --version              the version\n"                                     \
	"\n"                                                                                  \
	"Models: a GGUF file, a Hugging Face model folder (config.json + *.safetensors +\n"   \
	"tokenizer.json), or a .safetensors file with config.json beside it. Without -m/PATH\n" \
	"duet uses SmolLM2-135M-Instruct from the models cache (./setup.sh fetches it).\n"


#endif
