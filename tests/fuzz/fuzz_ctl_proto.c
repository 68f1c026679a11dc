/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control protocol, both ways. The input's first line is a request: it parses to a
 * command whose name parses back to it, or is refused with a printable message. The input
 * is also a status snapshot and a message, field by field: every reply fits CTL_REPLY_MAX,
 * is one line of valid UTF-8 that json-c reads as the documented object, and the Prometheus
 * text is made of well-formed HELP, TYPE and sample lines only.
 */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>

#include "fuzz.h"
#include "phcsync/ctl_proto.h"

static char reply[CTL_REPLY_MAX];

/* A text field: a length byte, then that many bytes (255: fill it, no NUL). */
static void take_text(struct fuzz_in *in, char *field, size_t size)
{
	size_t k = fuzz_u8(in);

	if (k == 255 || k > size)
		k = size;
	memset(field, 0, size);
	fuzz_take(in, field, k);
}

static bool take_bool(struct fuzz_in *in)
{
	return fuzz_u8(in) & 1;
}

#define TAKE(in, field) fuzz_take((in), &(field), sizeof(field))

static void take_status(struct fuzz_in *in, struct status *st)
{
	memset(st, 0, sizeof(*st));
	st->version = 1;
	take_text(in, st->device, sizeof(st->device));
	take_text(in, st->clock_name, sizeof(st->clock_name));
	take_text(in, st->readout, sizeof(st->readout));
	st->state = (enum status_state)(fuzz_u8(in) % (STATUS_FAULT + 1));
	take_text(in, st->fault, sizeof(st->fault));
	take_text(in, st->servo_state, sizeof(st->servo_state));
	st->observe_only = take_bool(in);
	st->stable = take_bool(in);
	st->have_sample = take_bool(in);
	TAKE(in, st->last_offset_ns);
	TAKE(in, st->rms_offset_ns);
	TAKE(in, st->max_offset_ns);
	TAKE(in, st->window);
	TAKE(in, st->freq_ppb);
	TAKE(in, st->delay_ns);
	TAKE(in, st->error_bound_ns);
	TAKE(in, st->poll_interval_s);
	TAKE(in, st->counts);
	TAKE(in, st->last_step_ns);
	TAKE(in, st->last_step_age_s);
	TAKE(in, st->uptime_s);
	TAKE(in, st->rejected_bursts);
	TAKE(in, st->reopens);
	TAKE(in, st->tai_utc_s);
	TAKE(in, st->next_leap);
	TAKE(in, st->next_leap_utc_s);
	TAKE(in, st->leap_expiry_utc_s);
	st->leap_table_expired = take_bool(in);
	TAKE(in, st->leap_smear_ns);
	TAKE(in, st->max_error_ns);
	TAKE(in, st->slew_remaining_ns);
	TAKE(in, st->reference_rate_ppb);
	take_text(in, st->servo, sizeof(st->servo));
	TAKE(in, st->last_sample_age_s);
	TAKE(in, st->last_sample_utc_s);
	TAKE(in, st->freq_residual_ppb);
	TAKE(in, st->freq_skew_ppb);
	TAKE(in, st->freq_window);
	take_text(in, st->build_version, sizeof(st->build_version));
	take_text(in, st->build_features, sizeof(st->build_features));
}

/* RFC 3629 UTF-8, no NUL. */
FUZZ_NO_COVERAGE static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 4, cp = c & 0x07;
		else
			return false;
		if (i + k > n)
			return false;
		for (size_t j = 1; j < k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k;
	}
	return true;
}

/* A reply: n bytes, one line, one JSON object with "ok" == ok and "version" 1. */
FUZZ_NO_COVERAGE static struct json_object *check_json(const char *buf, int n, bool ok)
{
	struct json_tokener *tok;
	struct json_object *o, *v;

	FUZZ_CHECK(n > 0 && (size_t)n < CTL_REPLY_MAX, "reply length %d", n);
	FUZZ_CHECK(strlen(buf) == (size_t)n, "a NUL inside the reply");
	FUZZ_CHECK(buf[n - 1] == '\n' && memchr(buf, '\n', (size_t)n) == buf + n - 1,
		   "not one line: %s", buf);
	FUZZ_CHECK(valid_utf8((const unsigned char *)buf, (size_t)n), "invalid UTF-8: %s", buf);
	tok = json_tokener_new();
	FUZZ_CHECK(tok, "json_tokener_new");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, n - 1);
	FUZZ_CHECK(o && json_tokener_get_error(tok) == json_tokener_success &&
			   json_tokener_get_parse_end(tok) == (size_t)n - 1,
		   "json-c: %s: %s", json_tokener_error_desc(json_tokener_get_error(tok)), buf);
	json_tokener_free(tok);
	FUZZ_CHECK(json_object_is_type(o, json_type_object), "not an object: %s", buf);
	FUZZ_CHECK(json_object_object_get_ex(o, "ok", &v) &&
			   json_object_is_type(v, json_type_boolean) &&
			   json_object_get_boolean(v) == ok,
		   "ok: %s", buf);
	FUZZ_CHECK(json_object_object_get_ex(o, "version", &v) &&
			   json_object_is_type(v, json_type_int) &&
			   json_object_get_int64(v) == CTL_PROTO_VERSION,
		   "version: %s", buf);
	return o;
}

FUZZ_NO_COVERAGE static bool metric_name(const char **p)
{
	const char *s = *p;

	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == ':'))
		return false;
	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
	       *s == '_' || *s == ':')
		s++;
	*p = s;
	return true;
}

/* A label value: a quoted string with only \\, \" and \n escaped, no raw newline. */
FUZZ_NO_COVERAGE static bool label_value(const char **p)
{
	const char *s = *p;

	if (*s++ != '"')
		return false;
	while (*s != '"') {
		if (*s == '\0' || *s == '\n')
			return false;
		if (*s == '\\') {
			s++;
			if (*s != '\\' && *s != '"' && *s != 'n')
				return false;
		}
		s++;
	}
	*p = s + 1;
	return true;
}

FUZZ_NO_COVERAGE static bool sample_value(const char *s, const char *eol)
{
	char *end;
	double v;

	if ((eol - s == 3 && !memcmp(s, "NaN", 3)) || (eol - s == 4 && !memcmp(s, "+Inf", 4)) ||
	    (eol - s == 4 && !memcmp(s, "-Inf", 4)))
		return true;
	if (s == eol || *s == ' ')
		return false;
	v = strtod(s, &end);
	return end == eol && isfinite(v);
}

/* Prometheus text format 0.0.4: HELP, TYPE and samples of a declared family, each a line. */
FUZZ_NO_COVERAGE static void check_prometheus(const char *text, size_t n)
{
	char family[128] = "";
	const char *line = text, *end = text + n;

	FUZZ_CHECK(n > 0 && text[n - 1] == '\n', "no final newline");
	FUZZ_CHECK(valid_utf8((const unsigned char *)text, n), "invalid UTF-8");
	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line)), *p = line, *name;

		FUZZ_CHECK(eol && eol > line, "empty or unterminated line at %zu",
			   (size_t)(line - text));
		if (!strncmp(p, "# HELP ", 7) || !strncmp(p, "# TYPE ", 7)) {
			bool type = p[2] == 'T';

			p += 7;
			name = p;
			FUZZ_CHECK(metric_name(&p) && *p == ' ', "bad # line: %.*s",
				   (int)(eol - line), line);
			if (type) {
				FUZZ_CHECK((size_t)(p - name) < sizeof(family), "long name");
				memcpy(family, name, (size_t)(p - name));
				family[p - name] = '\0';
				p++;
				FUZZ_CHECK((eol - p == 5 && !memcmp(p, "gauge", 5)) ||
						   (eol - p == 7 && !memcmp(p, "counter", 7)),
					   "bad type: %.*s", (int)(eol - line), line);
			}
		} else {
			name = p;
			FUZZ_CHECK(metric_name(&p), "bad sample: %.*s", (int)(eol - line), line);
			FUZZ_CHECK(family[0] && (size_t)(p - name) == strlen(family) &&
					   !memcmp(name, family, (size_t)(p - name)),
				   "sample of an undeclared family: %.*s", (int)(eol - line), line);
			if (*p == '{') {
				p++;
				while (*p != '}') {
					FUZZ_CHECK(metric_name(&p) && *p++ == '=' &&
							   label_value(&p),
						   "bad label: %.*s", (int)(eol - line), line);
					if (*p == ',')
						p++;
					else
						FUZZ_CHECK(*p == '}', "bad labels: %.*s",
							   (int)(eol - line), line);
				}
				p++;
			}
			FUZZ_CHECK(*p++ == ' ' && sample_value(p, eol), "bad value: %.*s",
				   (int)(eol - line), line);
		}
		line = eol + 1;
	}
}

static void check_request(const uint8_t *data, size_t size)
{
	const uint8_t *eol = memchr(data, '\n', size);
	size_t len = eol ? (size_t)(eol - data) : size;
	enum ctl_command cmd, again;
	char err[256] = "";
	int ret = ctl_proto_parse((const char *)data, len, &cmd, err, sizeof(err));

	if (ret == 0) {
		const char *name = ctl_command_name(cmd);

		FUZZ_CHECK(strcmp(name, "unknown"), "command %d", (int)cmd);
		FUZZ_CHECK(ctl_proto_parse(name, strlen(name), &again, err, sizeof(err)) == 0 &&
				   again == cmd,
			   "%s does not parse back", name);
		return;
	}
	FUZZ_CHECK(ret == -EINVAL || ret == -EMSGSIZE || ret == -EOPNOTSUPP, "returned %d", ret);
	FUZZ_CHECK(err[0], "no message");
	for (const char *c = err; *c; c++)
		FUZZ_CHECK(*c >= 0x20 && *c < 0x7f, "byte 0x%02x in the message",
			   (unsigned char)*c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	static struct status st;
	struct json_object *o, *v;
	char message[256];
	char *prom;
	int n, np;

	check_request(data, size);

	take_text(&in, message, sizeof(message) - 1);
	message[sizeof(message) - 1] = '\0';
	take_status(&in, &st);

	n = ctl_proto_reply_status(&st, reply, sizeof(reply));
	o = check_json(reply, n, true);
	FUZZ_CHECK(json_object_object_get_ex(o, "state", &v) &&
			   !strcmp(json_object_get_string(v), status_state_name(st.state)),
		   "state");
	json_object_put(o);
	/* A buffer too small is refused whole, never cut. */
	FUZZ_CHECK(ctl_proto_reply_status(&st, reply, (size_t)n) == -ENOSPC && !reply[0],
		   "a reply one byte short");

	prom = malloc(CTL_REPLY_MAX);
	FUZZ_CHECK(prom, "malloc");
	np = ctl_proto_prometheus(&st, prom, CTL_REPLY_MAX);
	FUZZ_CHECK(np > 0, "prometheus %d", np);
	check_prometheus(prom, (size_t)np);
	n = ctl_proto_reply_metrics(&st, reply, sizeof(reply));
	o = check_json(reply, n, true);
	FUZZ_CHECK(json_object_object_get_ex(o, "metrics", &v) &&
			   json_object_is_type(v, json_type_string) &&
			   json_object_get_string_len(v) == np &&
			   !memcmp(json_object_get_string(v), prom, (size_t)np),
		   "metrics field is not the Prometheus text");
	json_object_put(o);
	free(prom);

	n = ctl_proto_reply_ok(message, reply, sizeof(reply));
	o = check_json(reply, n, true);
	FUZZ_CHECK(json_object_object_get_ex(o, "message", &v) == (message[0] != '\0'), "message");
	json_object_put(o);
	n = ctl_proto_reply_error(message, reply, sizeof(reply));
	o = check_json(reply, n, false);
	FUZZ_CHECK(json_object_object_get_ex(o, "error", &v) &&
			   json_object_is_type(v, json_type_string),
		   "error");
	json_object_put(o);
	return 0;
}
