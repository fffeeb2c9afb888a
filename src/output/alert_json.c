// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * alert_json.c - reads back the scalar members of an alert's output_fields, for
 * sinks that present fields individually (syslog structured data). A small strict
 * reader: it skips what it does not need, decodes strings to bytes (a lone
 * \udcXX, json.c's escape of an invalid byte, becomes that byte again) and gives
 * up on anything malformed rather than guess.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "output/sink.h"

#define JR_MAX_DEPTH 32

struct jr {
	const char *p;	 /* next byte */
	const char *end; /* end of input */
	char *out;	 /* decoded bytes go here */
	size_t depth;	 /* nesting, bounded */
};

static void jr_ws(struct jr *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool jr_lit(struct jr *r, char c)
{
	jr_ws(r);
	if (r->p >= r->end || *r->p != c)
		return false;
	r->p++;
	return true;
}

static int jr_hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static char *put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		*o++ = cp;
	} else if (cp < 0x800) {
		*o++ = 0xc0 | cp >> 6;
		*o++ = 0x80 | (cp & 0x3f);
	} else if (cp < 0x10000) {
		*o++ = 0xe0 | cp >> 12;
		*o++ = 0x80 | ((cp >> 6) & 0x3f);
		*o++ = 0x80 | (cp & 0x3f);
	} else {
		*o++ = 0xf0 | cp >> 18;
		*o++ = 0x80 | ((cp >> 12) & 0x3f);
		*o++ = 0x80 | ((cp >> 6) & 0x3f);
		*o++ = 0x80 | (cp & 0x3f);
	}
	return o;
}

/*
 * A string at r->p; when keep, its decoded bytes are appended at r->out (plus a
 * NUL) and *s points at them. Decoding never grows the text, so out needs no more
 * room than the input.
 */
static bool jr_string(struct jr *r, bool keep, const char **s)
{
	char *o = r->out;

	if (!jr_lit(r, '"'))
		return false;
	while (r->p < r->end && *r->p != '"') {
		unsigned char c = *r->p++;
		int cp, lo;

		if (c < 0x20)
			return false;
		if (c != '\\') {
			*o++ = c;
			continue;
		}
		if (r->p >= r->end)
			return false;
		c = *r->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			*o++ = c;
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u':
			if (r->end - r->p < 4 || (cp = jr_hex4(r->p)) < 0)
				return false;
			r->p += 4;
			if (cp >= 0xdc80 && cp <= 0xdcff) {
				*o++ = (char)(cp - 0xdc00); /* surrogateescape */
			} else if (cp >= 0xd800 && cp <= 0xdbff && r->end - r->p >= 6 &&
				   r->p[0] == '\\' && r->p[1] == 'u' &&
				   (lo = jr_hex4(r->p + 2)) >= 0xdc00 && lo <= 0xdfff) {
				r->p += 6;
				o = put_utf8(o, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				o = put_utf8(o, 0xfffd);
			} else {
				o = put_utf8(o, cp);
			}
			break;
		default:
			return false;
		}
	}
	if (r->p >= r->end)
		return false;
	r->p++;
	if (keep) {
		*o++ = '\0';
		*s = r->out;
		r->out = o;
	}
	return true;
}

/* A number, true, false or null; its text is kept like a string's. */
static bool jr_atom(struct jr *r, bool keep, const char **s, bool *null)
{
	const char *start;

	jr_ws(r);
	start = r->p;
	while (r->p < r->end && (strchr("+-.eE", *r->p) || (*r->p >= '0' && *r->p <= '9') ||
				 (*r->p >= 'a' && *r->p <= 'z')))
		r->p++;
	if (r->p == start)
		return false;
	*null = r->p - start == 4 && !memcmp(start, "null", 4);
	if (keep && !*null) {
		memcpy(r->out, start, r->p - start);
		r->out[r->p - start] = '\0';
		*s = r->out;
		r->out += r->p - start + 1;
	}
	return true;
}

static bool jr_skip(struct jr *r);

static bool jr_skip_container(struct jr *r, char open, char close)
{
	const char *dummy;
	bool first = true;

	if (++r->depth > JR_MAX_DEPTH || !jr_lit(r, open))
		return false;
	while (!jr_lit(r, close)) {
		if (!first && !jr_lit(r, ','))
			return false;
		first = false;
		if (open == '{' && (!jr_string(r, false, &dummy) || !jr_lit(r, ':')))
			return false;
		if (!jr_skip(r))
			return false;
	}
	r->depth--;
	return true;
}

static bool jr_skip(struct jr *r)
{
	const char *dummy;
	bool null;

	jr_ws(r);
	if (r->p >= r->end)
		return false;
	if (*r->p == '{')
		return jr_skip_container(r, '{', '}');
	if (*r->p == '[')
		return jr_skip_container(r, '[', ']');
	if (*r->p == '"')
		return jr_string(r, false, &dummy);
	return jr_atom(r, false, &dummy, &null);
}

/* The members of the output_fields object at r->p. */
static bool jr_fields(struct jr *r, struct alert_field *fields, size_t *n)
{
	bool first = true;

	if (!jr_lit(r, '{'))
		return false;
	while (!jr_lit(r, '}')) {
		const char *name, *value = NULL;
		char *mark = r->out;
		bool null = true, str = false;

		if (!first && !jr_lit(r, ','))
			return false;
		first = false;
		if (!jr_string(r, true, &name) || !jr_lit(r, ':'))
			return false;
		jr_ws(r);
		if (r->p < r->end && *r->p == '"') {
			null = false;
			str = true;
			if (!jr_string(r, true, &value))
				return false;
		} else if (r->p < r->end && (*r->p == '{' || *r->p == '[')) {
			if (!jr_skip(r))
				return false;
		} else if (!jr_atom(r, true, &value, &null)) {
			return false;
		}
		if (null || !value) {
			r->out = mark; /* nothing kept for this member */
			continue;
		}
		fields[*n].raw = !str;
		fields[*n].name = name;
		fields[(*n)++].value = value;
	}
	return true;
}

struct alert_field *alert_json_fields(const char *json, size_t len, size_t *n)
{
	size_t max = len / 4 + 1; /* a member takes at least "":0 plus a comma */
	struct alert_field *fields;
	struct jr r = {.p = json, .end = json + len};
	bool first = true, found = false;

	*n = 0;
	fields = malloc(max * sizeof(*fields) + len + max * 2 + 1);
	if (!fields)
		return NULL;
	r.out = (char *)(fields + max);
	if (!jr_lit(&r, '{'))
		goto err_free;
	while (!jr_lit(&r, '}')) {
		const char *key;
		char *mark = r.out;

		if (!first && !jr_lit(&r, ','))
			goto err_free;
		first = false;
		if (!jr_string(&r, true, &key) || !jr_lit(&r, ':'))
			goto err_free;
		r.out = mark;
		if (!found && !strcmp(key, "output_fields")) {
			found = true;
			if (!jr_fields(&r, fields, n))
				goto err_free;
		} else if (!jr_skip(&r)) {
			goto err_free;
		}
	}
	if (!*n)
		goto err_free;
	return fields;

err_free:
	free(fields);
	*n = 0;
	return NULL;
}
