/*
 * test_util.c — the core's small helpers: messages, buffers, checked
 * arithmetic, whole-file reads with a size cap.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infer/util.h"
#include "tests/tap.h"

int main(void)
{
	char *cause = NULL;
	struct buf b = {0};
	uint64_t r;
	char path[] = "/tmp/duet-test-util-XXXXXX";
	int fd;
	size_t len;
	char *data;

	TAP_EQ_INT(error_set(&cause, "%s: bad %d", "f.gguf", 7), -1, "error_set returns -1");
	TAP_EQ_STR(cause, "f.gguf: bad 7", "error_set formats the message");
	error_prefix(&cause, "loading %s", "model");
	TAP_EQ_STR(cause, "loading model: f.gguf: bad 7", "error_prefix prepends");
	free(cause);
	cause = NULL;
	TAP_EQ_INT(error_set(NULL, "ignored"), -1, "a NULL cause is allowed");

	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i % 10);
	TAP_EQ_INT(b.len, 2000, "buf grows across many appends");
	TAP_EQ_INT(strncmp(buf_cstr(&b), "0,1,2,", 6), 0, "buf keeps content in order");
	buf_free(&b);
	tap_ok(!u64_mul(UINT64_MAX / 2 + 1, 2, &r), "u64_mul detects overflow");
	tap_ok(u64_mul(1u << 20, 1u << 20, &r) && r == 1ull << 40, "u64_mul multiplies");
	tap_ok(!u64_add(UINT64_MAX, 1, &r), "u64_add detects overflow");

	fd = mkstemp(path);
	if (fd < 0 || write(fd, "abcdef", 6) != 6)
		return tap_ok(0, "temporary file"), tap_done();
	close(fd);
	data = file_read_all(path, 100, &len, &cause);
	tap_ok(data && len == 6 && strcmp(data, "abcdef") == 0, "file_read_all reads the file");
	free(data);
	data = file_read_all(path, 5, &len, &cause);
	tap_ok(data == NULL, "file_read_all refuses a file over the cap");
	TAP_ERR_HAS(cause, path, "the message names the file");
	free(cause);
	cause = NULL;
	unlink(path);
	data = file_read_all(path, 100, &len, &cause);
	TAP_ERR_HAS(cause, "No such file", "a missing file says so");
	free(cause);
	return tap_done();
}
