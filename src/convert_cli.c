/* SPDX-License-Identifier: BSD-2-Clause */
/* phcsyncd --convert: read the file, convert it (convert.c), print the result. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phcsync/convert.h"
#include "phcsync/convert_cli.h"

/* A chrony.conf or a command line is a few kilobytes; anything this big is neither. */
#define INPUT_MAX (1024 * 1024)

/* All of fd into a malloc'ed buffer: 0 or -errno. */
static int read_all(int fd, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *bigger = cap < INPUT_MAX ? realloc(buf, cap * 2) : NULL;

			if (!bigger) {
				free(buf);
				return cap < INPUT_MAX ? -ENOMEM : -EFBIG;
			}
			buf = bigger;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;

			free(buf);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

int convert_cli(const char *path, FILE *out, FILE *err)
{
	bool in_stdin = strcmp(path, "-") == 0;
	const char *name = in_stdin ? "<stdin>" : path;
	struct convert_result r;
	char *text = NULL;
	size_t len = 0;
	int fd = in_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	int ret = fd < 0 ? -errno : read_all(fd, &text, &len);

	if (fd >= 0 && !in_stdin)
		close(fd);
	if (ret < 0) {
		fprintf(err, "%s: cannot read: %s\n", name, strerror(-ret));
		return 2;
	}
	ret = convert_text(name, text, len, CONVERT_AUTO, &r);
	free(text);
	if (r.messages)
		fputs(r.messages, err);
	if (ret == -ENOMEM) {
		fprintf(err, "%s: out of memory\n", name);
		convert_result_free(&r);
		return 1;
	}
	if (ret < 0) {
		fprintf(err, "%s: not converted: %d error%s\n", name, r.errors,
			r.errors == 1 ? "" : "s");
		convert_result_free(&r);
		return 2;
	}
	fwrite(r.text, 1, r.len, out);
	ret = fflush(out) == 0 && !ferror(out) ? 0 : 1;
	if (ret)
		fprintf(err, "%s: cannot write the result: %s\n", name, strerror(errno));
	convert_result_free(&r);
	return ret;
}
