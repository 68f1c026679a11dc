/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the fuzz harnesses share: the libFuzzer entry point and a check that stops the run
 * with a message when an invariant fails (libFuzzer then keeps the input as a crash). The
 * same harnesses, linked with replay.c instead of libFuzzer, replay the committed corpora in
 * the normal test suite.
 */
#ifndef PHCSYNC_FUZZ_H
#define PHCSYNC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* For the harness's own checks, which walk whole replies byte by byte: coverage of them
 * guides nothing and costs most of the time. */
#ifdef __clang__
#define FUZZ_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#endif
#ifndef FUZZ_NO_COVERAGE
#define FUZZ_NO_COVERAGE
#endif

#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__,       \
				#cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A cursor over the input for harnesses that draw several values from it. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

/* The next n bytes into out, zeros once the input is used up. */
static inline void fuzz_take(struct fuzz_in *in, void *out, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memcpy(out, in->p, k);
	memset((uint8_t *)out + k, 0, n - k);
	in->p += k;
	in->left -= k;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	fuzz_take(in, &v, 1);
	return v;
}

/* A NUL-terminated copy of the n bytes at data (malloc'd; the caller frees it). */
static inline char *fuzz_strndup(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

#endif
