/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * phcsyncctl's side: any bytes as the daemon's reply are refused or printed as the status
 * summary without undefined behaviour and without a control byte; the input split at NUL bytes is
 * also waitsync's arguments, accepted only inside their documented ranges.
 */
#include <errno.h>
#include <math.h>

#include "fuzz.h"
#include "phcsync/ctl_client.h"

static void check_args(const uint8_t *data, size_t size)
{
	char *copy = fuzz_strndup(data, size), *argv[3];
	int argc = 0;
	double timeout_s = -1;
	int64_t max_offset_ns = -1;
	char err[256] = "";

	for (char *p = copy; argc < 3 && p <= copy + size; p += strlen(p) + 1)
		argv[argc++] = p;
	if (ctl_client_waitsync_args(argc, argv, &timeout_s, &max_offset_ns, err, sizeof(err)) ==
	    0) {
		FUZZ_CHECK(argc <= 2, "%d arguments accepted", argc);
		FUZZ_CHECK(isfinite(timeout_s) && timeout_s >= 0 &&
				   timeout_s <= CTL_CLIENT_TIMEOUT_MAX_S,
			   "timeout %g", timeout_s);
		FUZZ_CHECK(argc < 2 || max_offset_ns >= 0, "max offset %lld",
			   (long long)max_offset_ns);
		/* What waitsync computes from it. */
		FUZZ_CHECK((int64_t)(timeout_s * 1e9) >= 0, "timeout in ns");
	} else {
		/* The arguments are echoed, escaped: a terminal gets no control byte. */
		FUZZ_CHECK(err[0], "no message");
		for (const char *c = err; *c; c++)
			FUZZ_CHECK(*c >= 0x20 && *c < 0x7f, "byte 0x%02x in \"%s\"",
				   (unsigned char)*c, err);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw = fuzz_strndup(data, size), err[256] = "";
	struct json_object *o = (struct json_object *)err;
	double offset_ns = 0;
	bool ok;

	if (ctl_client_parse(raw, &o, &ok, err, sizeof(err)) == 0) {
		FUZZ_CHECK(o && json_object_is_type(o, json_type_object), "not an object");
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		FUZZ_CHECK(f, "open_memstream");
		ctl_client_print_status(f, o);
		fclose(f);
		/* Lines of text: no control byte from the reply reaches the terminal. */
		for (size_t i = 0; i < len; i++)
			FUZZ_CHECK(text[i] == '\n' || ((unsigned char)text[i] >= 0x20 &&
						       (unsigned char)text[i] != 0x7f),
				   "byte 0x%02x at %zu of the summary", (unsigned char)text[i], i);
		free(text);
		(void)ctl_client_synced(o, ok, INT64_MAX, &offset_ns);
		(void)ctl_client_synced(o, ok, 0, &offset_ns);
		(void)ctl_client_str(o, "metrics");
		(void)ctl_client_str(o, "error");
		json_object_put(o);
	} else {
		FUZZ_CHECK(!o, "a refused reply left an object");
		FUZZ_CHECK(err[0] && !strchr(err, '\n'), "message \"%s\"", err);
	}
	free(raw);
	check_args(data, size);
	return 0;
}
