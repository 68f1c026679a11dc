/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * phcsyncctl's handling of what it receives and is given, pure (no I/O but the FILE it
 * prints to): the reply's checks, the status summary, the waitsync arguments and test.
 * Every value from the daemon is range-checked before use: a hostile or broken reply
 * prints as unknown, never as undefined behaviour.
 */
#ifndef PHCSYNC_CTL_CLIENT_H
#define PHCSYNC_CTL_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* waitsync's longest TIMEOUT_S (a year): its nanoseconds stay far inside int64. */
#define CTL_CLIENT_TIMEOUT_MAX_S 31536000.0

/*
 * Parse raw (NUL-terminated) as a reply: a JSON object with a boolean "ok" and "version"
 * CTL_PROTO_VERSION. Returns 0 with the object in *obj (json_object_put it) and "ok" in
 * *ok, or -EPROTO with *obj NULL and what is wrong in err.
 */
int ctl_client_parse(const char *raw, struct json_object **obj, bool *ok, char *err, size_t errlen);

/* The string field key, or NULL when missing or not a string. */
const char *ctl_client_str(struct json_object *o, const char *key);

/* Write s to out with control bytes (below 0x20, 0x7f) as \xNN: a reply's text reaches no
 * terminal as an escape sequence. */
void ctl_client_put_text(FILE *out, const char *s);

/* A status reply as the human summary of `phcsyncctl status`; its texts as
 * ctl_client_put_text writes them. */
void ctl_client_print_status(FILE *out, struct json_object *o);

/*
 * waitsync's arguments, [TIMEOUT_S [MAX_OFFSET_NS]] (argc of them): TIMEOUT_S a number of
 * seconds from 0 to CTL_CLIENT_TIMEOUT_MAX_S, MAX_OFFSET_NS an integer from 0 to INT64_MAX.
 * Returns 0 with the values set (unchanged when absent), or -EINVAL with what is wrong in
 * err.
 */
int ctl_client_waitsync_args(int argc, char *const argv[], double *timeout_s,
			     int64_t *max_offset_ns, char *err, size_t errlen);

/* Whether a status reply says locked within max_offset_ns; the offset in *offset_ns when
 * the reply has one (else *offset_ns is untouched). */
bool ctl_client_synced(struct json_object *o, bool ok, int64_t max_offset_ns, double *offset_ns);

/* ns for people: the unit that keeps three decimals meaningful, with a sign if sign. */
const char *ctl_client_human_ns(char *buf, size_t len, double ns, bool sign);

/* The reply's number key (an int or a double); false when missing, null or another type. */
bool ctl_client_num(struct json_object *o, const char *key, double *out);

#endif
