/*
 * json.c — loading JSON files with a size cap and located syntax errors, and
 * typed field getters with messages naming the file and field. Calls jansson
 * and infer/util only.
 */
#include "config.h"

#include "infer/json.h"

#include <math.h>
#include <stdlib.h>

#include "infer/util.h"

json_t *json_mem_load(const void *data, size_t len, const char *name, size_t flags, char **cause)
{
	json_error_t err;
	json_t *v = json_loadb(data, len, flags | JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);

	if (!v) {
		/* jansson reports line -1 when the error has no position (e.g. empty input). */
		if (err.line > 0)
			error_set(cause, "%s: JSON syntax error at line %d, column %d: %s", name, err.line,
			          err.column, err.text);
		else
			error_set(cause, "%s: JSON syntax error: %s", name, err.text);
	}
	return v;
}

json_t *json_file_load(const char *path, size_t max_bytes, size_t flags, char **cause)
{
	size_t len;
	char *data = file_read_all(path, max_bytes, &len, cause);
	json_t *v;

	if (!data)
		return NULL;
	v = json_mem_load(data, len, path, flags, cause);
	free(data);
	return v;
}

const char *json_kind_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "an unknown JSON value";
}

int json_field_missing(const char *name, const char *key, char **cause)
{
	return error_set(cause, "%s: field '%s' is missing", name, key);
}

/* The field, or NULL when absent or null. */
static const json_t *field_get(const json_t *obj, const char *key)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return v && !json_is_null(v) ? v : NULL;
}

int json_field_u32(const json_t *obj, const char *name, const char *key, uint32_t min, uint32_t *out,
                   char **cause)
{
	const json_t *v = field_get(obj, key);
	json_int_t x;

	if (!v)
		return 0;
	if (!json_is_integer(v))
		goto bad;
	x = json_integer_value(v);
	if (x < (json_int_t)min || x > (json_int_t)UINT32_MAX)
		goto bad;
	*out = (uint32_t)x;
	return 1;
bad:
	if (json_is_integer(v) && json_integer_value(v) > (json_int_t)UINT32_MAX)
		return error_set(cause, "%s: field '%s' is %lld, more than %u", name, key,
		                 (long long)json_integer_value(v), UINT32_MAX);
	if (min == 0)
		return error_set(cause, "%s: field '%s' must be a non-negative integer (it is %s)", name, key,
		                 json_kind_name(v));
	if (min == 1)
		return error_set(cause, "%s: field '%s' must be a positive integer (it is %s)", name, key,
		                 json_is_integer(v) ? "zero or negative" : json_kind_name(v));
	return error_set(cause, "%s: field '%s' must be an integer of at least %u", name, key, min);
}

int json_field_i32(const json_t *obj, const char *name, const char *key, int32_t *out, char **cause)
{
	const json_t *v = field_get(obj, key);
	json_int_t x;

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return error_set(cause, "%s: field '%s' must be an integer (it is %s)", name, key,
		                 json_kind_name(v));
	x = json_integer_value(v);
	if (x < INT32_MIN || x > INT32_MAX)
		return error_set(cause, "%s: field '%s' is %lld, out of the 32-bit range", name, key,
		                 (long long)x);
	*out = (int32_t)x;
	return 1;
}

int json_field_f32(const json_t *obj, const char *name, const char *key, float *out, char **cause)
{
	const json_t *v = field_get(obj, key);
	double x;

	if (!v)
		return 0;
	if (!json_is_number(v))
		return error_set(cause, "%s: field '%s' must be a number (it is %s)", name, key,
		                 json_kind_name(v));
	x = json_number_value(v);
	if (!isfinite(x) || fabs(x) > 3.4e38)
		return error_set(cause, "%s: field '%s' is %g, out of the float range", name, key, x);
	*out = (float)x;
	return 1;
}

int json_field_bool(const json_t *obj, const char *name, const char *key, bool *out, char **cause)
{
	const json_t *v = field_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return error_set(cause, "%s: field '%s' must be true or false (it is %s)", name, key,
		                 json_kind_name(v));
	*out = json_is_true(v);
	return 1;
}

int json_field_str(const json_t *obj, const char *name, const char *key, const char **out, char **cause)
{
	const json_t *v = field_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return error_set(cause, "%s: field '%s' must be a string (it is %s)", name, key,
		                 json_kind_name(v));
	*out = json_string_value(v);
	return 1;
}
