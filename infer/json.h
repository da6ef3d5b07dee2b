/*
 * json.h — small helpers over jansson for the JSON files duet reads
 * (config.json, tokenizer_config.json, generation_config.json, safetensors
 * headers): loading with a size cap and a message that names the file, line
 * and column of a syntax error, and typed field getters whose messages name
 * the file and the field ("PATH: field 'hidden_size' must be a positive
 * integer"). Duplicate keys are refused everywhere: jansson would otherwise
 * keep the last one silently.
 *
 * Thread-safe (jansson objects are not shared between threads here).
 */
#ifndef DUET_INFER_JSON_H
#define DUET_INFER_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parse a whole file (at most max_bytes) as one JSON value of any kind.
 * Returns a new reference (json_decref it), or NULL with *cause =
 * "PATH: JSON syntax error at line L, column C: what jansson says".
 * flags are extra jansson decoding flags, usually 0. JSON_DECODE_INT_AS_REAL
 * suits files whose integers duet never reads but which may exceed 64 bits
 * (tokenizer_config.json's model_max_length is often 1e30 written as an
 * integer, which jansson otherwise refuses as "too big integer").
 */
json_t *json_file_load(const char *path, size_t max_bytes, size_t flags, char **cause);
/* The same over a buffer; name is what messages call it. */
json_t *json_mem_load(const void *data, size_t len, const char *name, size_t flags, char **cause);

/*
 * Typed getters on a field of an object. name names the file in messages.
 * Return 1 and set *out when the field is present, 0 when it is absent or
 * JSON null (*out untouched), -1 when present with the wrong kind or out of
 * range, with *cause = "NAME: field 'KEY' must be ...".
 */
int json_field_u32(const json_t *obj, const char *name, const char *key, uint32_t min, uint32_t *out,
                   char **cause);
int json_field_i32(const json_t *obj, const char *name, const char *key, int32_t *out, char **cause);
/* Integer or real, finite; stored as float. */
int json_field_f32(const json_t *obj, const char *name, const char *key, float *out, char **cause);
int json_field_bool(const json_t *obj, const char *name, const char *key, bool *out, char **cause);
/* *out borrows the string from obj. */
int json_field_str(const json_t *obj, const char *name, const char *key, const char **out, char **cause);

/* "NAME: field 'KEY' is missing"; returns -1. */
int json_field_missing(const char *name, const char *key, char **cause);

/* A short description of a value's kind for messages: "a string", "null"... */
const char *json_kind_name(const json_t *v);

#endif
