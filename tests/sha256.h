/*
 * sha256.h — SHA-256 (FIPS 180-4) for tests: golden fixtures record hashes of
 * large outputs (a whole dequantised model) instead of the outputs themselves.
 * Not for security use; no dependencies.
 */
#ifndef DUET_TESTS_SHA256_H
#define DUET_TESTS_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t state[8];
	uint64_t n_bytes;  /* total fed so far */
	uint8_t block[64]; /* pending input, block_len bytes */
	size_t block_len;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Finish and write the 32-byte digest; s must be re-initialised to reuse. */
void sha256_final(struct sha256 *s, uint8_t digest[32]);
/* Lower-case hex of a digest, NUL-terminated. */
void sha256_hex(const uint8_t digest[32], char hex[65]);

#endif
