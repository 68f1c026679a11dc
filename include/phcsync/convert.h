/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * phcsyncd --convert: a chrony.conf or a phc2sys command line into an equivalent
 * phcsyncd.conf, with a comment for every line that has no equivalent and every trap.
 * Pure: text in, text and diagnostics out, no I/O.
 */
#ifndef PHCSYNC_CONVERT_H
#define PHCSYNC_CONVERT_H

#include <stddef.h>

enum convert_format { CONVERT_AUTO, CONVERT_CHRONY, CONVERT_PHC2SYS };

struct convert_result {
	char *text;		    /* the phcsyncd.conf, NUL-terminated; NULL when errors > 0 */
	size_t len;		    /* of text */
	char *messages;		    /* "NAME:LINE: error: ..." and "...: warning: ..." lines */
	int errors;		    /* input that could not be converted: nothing is printed */
	int warnings;		    /* traps the output's comments explain */
	enum convert_format format; /* the format converted from */
};

/*
 * What text (len bytes) holds: CONVERT_PHC2SYS when its first word that is not a comment
 * is a program named phc2sys, an option (-...), or ExecStart=/OPTIONS= with one of those;
 * CONVERT_CHRONY otherwise.
 */
enum convert_format convert_detect(const char *text, size_t len);

/* "chrony.conf" or "phc2sys command line". */
const char *convert_format_name(enum convert_format format);

/*
 * Convert text (len bytes, need not be NUL-terminated) read from name (used in messages
 * and the output's header). format CONVERT_AUTO asks convert_detect. Fills *r, which the
 * caller frees with convert_result_free, and returns 0 when r->text holds the conversion,
 * -EINVAL when r->errors > 0 (r->messages says why), -ENOMEM.
 */
int convert_text(const char *name, const char *text, size_t len, enum convert_format format,
		 struct convert_result *r);

void convert_result_free(struct convert_result *r);

#endif
