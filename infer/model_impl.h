/*
 * model_impl.h — the inside of struct model_file, shared by model.c (dispatch,
 * tensor validation, accessors), model_gguf.c (GGUF metadata -> desc) and
 * model_hf.c (config.json & co. + safetensors -> desc). Not for other callers.
 */
#ifndef DUET_INFER_MODEL_IMPL_H
#define DUET_INFER_MODEL_IMPL_H

#include "infer/model.h"

struct gguf;
struct st_file;

struct model_file {
	char *path;                 /* as given by the caller */
	enum model_source source;
	struct model_desc desc;
	char *chat_template;        /* owned; desc.chat_template points here */

	/* All tensors under GGUF names, in file order. For GGUF the structs are
	 * copies whose names point into the gguf handle; for safetensors the
	 * names are owned (names_owned). */
	struct tensor *tensors;
	size_t n_tensors;
	bool names_owned;

	struct gguf *gguf;          /* MODEL_SOURCE_GGUF */
	struct st_file **shards;    /* MODEL_SOURCE_SAFETENSORS */
	size_t n_shards;
	char *tokenizer_json;       /* paths, NULL when absent */
	char *tokenizer_config_json;
};

/* Fill desc, tensors and chat_template from an opened GGUF (mf->gguf set). */
int model_gguf_load(struct model_file *mf, char **cause);
/*
 * Fill everything from a HF folder (dir) or a single safetensors file
 * (single_file, with config.json in its folder; dir is then that folder).
 */
int model_hf_load(struct model_file *mf, const char *dir, const char *single_file, char **cause);

/*
 * After a loader: check every tensor the architecture needs is present with
 * the shape desc implies and a supported type, and that no expected tensor
 * is duplicated. Messages name the file and the tensor.
 */
int model_check_tensors(struct model_file *mf, char **cause);

#endif
