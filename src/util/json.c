/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * json.c - the JSON writer behind json.h. It sits on the per-event path, so a
 * string is written with one capacity check for its worst case (6 output bytes per
 * input byte) and then copied in runs: bytes that need no escape and whole valid
 * UTF-8 sequences go out with memcpy, only the rest is handled byte by byte.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSON_INIT_CAP 256
#define JSON_ESC_MAX  6 /* "\uXXXX": the longest output of one input byte */

enum json_byte_class {
	JSON_PLAIN = 0, /* copied as is */
	JSON_ESCAPE,	/* ASCII that must be escaped */
	JSON_HIGH,	/* starts a multi-byte UTF-8 sequence, or is invalid */
};

/* clang-format off */
static const unsigned char json_class[256] = {
	[0x00 ... 0x1f] = JSON_ESCAPE,
	['"'] = JSON_ESCAPE,
	['\\'] = JSON_ESCAPE,
	[0x7f] = JSON_ESCAPE,
	[0x80 ... 0xff] = JSON_HIGH,
};
/* clang-format on */

static const char json_hex[] = "0123456789abcdef";

static bool json_grow(struct json_buf *j, size_t extra)
{
	size_t need, cap;
	char *p;

	if (j->err)
		return false;
	if (extra > SIZE_MAX - 1 - j->len)
		goto err_nomem;
	need = j->len + extra + 1;
	if (need <= j->cap)
		return true;
	cap = j->cap ? j->cap : JSON_INIT_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(j->buf, cap);
	if (!p)
		goto err_nomem;
	j->buf = p;
	j->cap = cap;
	return true;

err_nomem:
	j->err = -ENOMEM;
	return false;
}

/* Makes room for extra bytes plus the NUL; false once the buffer has failed. */
static inline bool json_reserve(struct json_buf *j, size_t extra)
{
	if (__builtin_expect(!j->err && j->cap > j->len && j->cap - j->len > extra, 1))
		return true;
	return json_grow(j, extra);
}

/* Room for a string of n bytes written escaped, plus slack for quotes and separators. */
static inline bool json_reserve_str(struct json_buf *j, size_t n, size_t slack)
{
	if (n > (SIZE_MAX - slack) / JSON_ESC_MAX) {
		if (!j->err)
			j->err = -ENOMEM;
		return false;
	}
	return json_reserve(j, n * JSON_ESC_MAX + slack);
}

/* The separator a value needs where it stands; room for one byte must be reserved. */
static inline void json_sep(struct json_buf *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0) {
		if (!j->first[j->depth - 1])
			j->buf[j->len++] = ',';
		j->first[j->depth - 1] = false;
	}
}

static inline void json_put(struct json_buf *j, const char *s, size_t n)
{
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

/* Length of the valid UTF-8 sequence starting at s, or 0 (Unicode table 3-7). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0; /* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90; /* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static char *json_escape_byte(char *out, unsigned char c)
{
	char short_esc = 0;

	switch (c) {
	case '"':
		short_esc = '"';
		break;
	case '\\':
		short_esc = '\\';
		break;
	case '\b':
		short_esc = 'b';
		break;
	case '\f':
		short_esc = 'f';
		break;
	case '\n':
		short_esc = 'n';
		break;
	case '\r':
		short_esc = 'r';
		break;
	case '\t':
		short_esc = 't';
		break;
	}
	*out++ = '\\';
	if (short_esc) {
		*out++ = short_esc;
		return out;
	}
	/* Control bytes are U+00XX; a byte of invalid UTF-8 is the lone surrogate U+DCXX. */
	*out++ = 'u';
	*out++ = c < 0x80 ? '0' : 'd';
	*out++ = c < 0x80 ? '0' : 'c';
	*out++ = json_hex[c >> 4];
	*out++ = json_hex[c & 0xf];
	return out;
}

#define JSON_ONES  0x0101010101010101ull
#define JSON_HIGHS 0x8080808080808080ull

static inline uint64_t json_has_zero(uint64_t v)
{
	return (v - JSON_ONES) & ~v & JSON_HIGHS;
}

/* Nonzero when any of 8 bytes is not JSON_PLAIN: the common case is skipped a word at a time. */
static inline uint64_t json_word_special(uint64_t v)
{
	return (v & JSON_HIGHS) | ((v - JSON_ONES * 0x20) & ~v & JSON_HIGHS) |
	       json_has_zero(v ^ (JSON_ONES * '"')) | json_has_zero(v ^ (JSON_ONES * '\\')) |
	       json_has_zero(v ^ (JSON_ONES * 0x7f));
}

/* Writes s escaped; the caller has reserved JSON_ESC_MAX bytes per input byte. */
static void json_put_escaped(struct json_buf *j, const unsigned char *s, size_t n)
{
	char *out = j->buf + j->len;
	size_t i = 0, run, k;
	uint64_t w;

	while (i < n) {
		run = i;
		while (i < n) {
			if (n - i >= 8) {
				memcpy(&w, s + i, 8);
				if (!json_word_special(w)) {
					i += 8;
					continue;
				}
			}
			if (json_class[s[i]] == JSON_PLAIN) {
				i++;
				continue;
			}
			if (json_class[s[i]] == JSON_HIGH) {
				k = utf8_seq_len(s + i, n - i);
				if (k) {
					i += k;
					continue;
				}
			}
			break;
		}
		memcpy(out, s + run, i - run);
		out += i - run;
		if (i < n)
			out = json_escape_byte(out, s[i++]);
	}
	*out = '\0';
	j->len = out - j->buf;
}

void json_init(struct json_buf *j)
{
	memset(j, 0, sizeof(*j));
	json_grow(j, 0);
	if (j->buf)
		j->buf[0] = '\0';
}

void json_reset(struct json_buf *j)
{
	j->len = 0;
	j->err = 0;
	j->depth = 0;
	j->after_key = false;
	memset(j->first, 0, sizeof(j->first));
	if (json_reserve(j, 0))
		j->buf[0] = '\0';
}

void json_free(struct json_buf *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

static void json_open(struct json_buf *j, char c)
{
	if (!json_reserve(j, 2))
		return;
	if (j->depth >= JSON_MAX_DEPTH) {
		j->err = -E2BIG;
		return;
	}
	json_sep(j);
	json_put(j, &c, 1);
	j->first[j->depth++] = true;
}

static void json_close(struct json_buf *j, char c)
{
	if (!json_reserve(j, 1))
		return;
	if (j->depth == 0 || j->after_key) {
		j->err = -EINVAL; /* unbalanced, or a key without its value */
		return;
	}
	j->depth--;
	json_put(j, &c, 1);
}

void json_obj_begin(struct json_buf *j)
{
	json_open(j, '{');
}

void json_obj_end(struct json_buf *j)
{
	json_close(j, '}');
}

void json_arr_begin(struct json_buf *j)
{
	json_open(j, '[');
}

void json_arr_end(struct json_buf *j)
{
	json_close(j, ']');
}

void json_key(struct json_buf *j, const char *key)
{
	size_t n = strlen(key);

	if (!json_reserve_str(j, n, 4))
		return;
	json_sep(j);
	j->buf[j->len++] = '"';
	json_put_escaped(j, (const unsigned char *)key, n);
	json_put(j, "\":", 2);
	j->after_key = true;
}

void json_strn(struct json_buf *j, const char *s, size_t n)
{
	if (!json_reserve_str(j, n, 3))
		return;
	json_sep(j);
	j->buf[j->len++] = '"';
	json_put_escaped(j, (const unsigned char *)s, n);
	json_put(j, "\"", 1);
}

void json_str(struct json_buf *j, const char *s)
{
	if (!s)
		json_null(j);
	else
		json_strn(j, s, strlen(s));
}

void json_escape_into(struct json_buf *j, const char *s, size_t n)
{
	if (json_reserve_str(j, n, 0))
		json_put_escaped(j, (const unsigned char *)s, n);
}

/* A value that is already JSON text. */
static void json_put_value(struct json_buf *j, const char *text, size_t n)
{
	if (!json_reserve(j, n + 1))
		return;
	json_sep(j);
	json_put(j, text, n);
}

/* Decimal digits of v, written backwards ending at end; returns the first digit. */
static char *json_fmt_u64(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void json_uint(struct json_buf *j, uint64_t v)
{
	char tmp[24], *p = json_fmt_u64(tmp + sizeof(tmp), v);

	json_put_value(j, p, tmp + sizeof(tmp) - p);
}

void json_int(struct json_buf *j, int64_t v)
{
	char tmp[24], *p;

	/* Negating in unsigned arithmetic keeps INT64_MIN exact. */
	p = json_fmt_u64(tmp + sizeof(tmp), v < 0 ? -(uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	json_put_value(j, p, tmp + sizeof(tmp) - p);
}

void json_double(struct json_buf *j, double v)
{
	char tmp[32];
	int prec, n = 0;

	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	/* The shortest of %.15g..%.17g that reads back as the same double. */
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	json_put_value(j, tmp, (size_t)n);
}

void json_bool(struct json_buf *j, bool v)
{
	if (v)
		json_put_value(j, "true", 4);
	else
		json_put_value(j, "false", 5);
}

void json_null(struct json_buf *j)
{
	json_put_value(j, "null", 4);
}

void json_raw(struct json_buf *j, const char *text)
{
	if (!text)
		json_null(j);
	else
		json_put_value(j, text, strlen(text));
}

/* ---- reader ---- */

struct jreader {
	const char *p; /* next byte */
	int depth;     /* nesting, bounded */
};

void json_value_free(struct json_value *v)
{
	for (size_t i = 0; i < v->n; i++)
		json_value_free(&v->kids[i]);
	free(v->kids);
	free(v->key);
	free(v->s);
}

static void skip_ws(struct jreader *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

static void put_utf8(char *o, size_t *n, unsigned cp)
{
	if (cp < 0x80) {
		o[(*n)++] = cp;
	} else if (cp < 0x800) {
		o[(*n)++] = 0xc0 | cp >> 6;
		o[(*n)++] = 0x80 | (cp & 0x3f);
	} else if (cp < 0x10000) {
		o[(*n)++] = 0xe0 | cp >> 12;
		o[(*n)++] = 0x80 | (cp >> 6 & 0x3f);
		o[(*n)++] = 0x80 | (cp & 0x3f);
	} else {
		o[(*n)++] = 0xf0 | cp >> 18;
		o[(*n)++] = 0x80 | (cp >> 12 & 0x3f);
		o[(*n)++] = 0x80 | (cp >> 6 & 0x3f);
		o[(*n)++] = 0x80 | (cp & 0x3f);
	}
}

static int hex4(const char *p, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return -EINVAL;
		*out = *out << 4 |
		       (isdigit((unsigned char)p[i]) ? p[i] - '0' : (tolower(p[i]) - 'a' + 10));
	}
	return 0;
}

/* A string at r->p (on its quote): decoded, \uDCXX back to the byte XX. */
static int read_str(struct jreader *r, char **out, size_t *len)
{
	const char *end = r->p + 1;
	char *o;
	size_t n = 0;

	while (*end && *end != '"')
		end += *end == '\\' && end[1] ? 2 : 1;
	if (*end != '"')
		return -EINVAL;
	o = malloc(end - r->p + 1); /* decoding never grows a string */
	if (!o)
		return -ENOMEM;
	for (r->p++; r->p < end; r->p++) {
		unsigned cp, lo;

		if (*r->p != '\\') {
			o[n++] = *r->p;
			continue;
		}
		switch (*++r->p) {
		case 'b':
			o[n++] = '\b';
			break;
		case 'f':
			o[n++] = '\f';
			break;
		case 'n':
			o[n++] = '\n';
			break;
		case 'r':
			o[n++] = '\r';
			break;
		case 't':
			o[n++] = '\t';
			break;
		case 'u':
			if (r->p + 4 >= end || hex4(r->p + 1, &cp))
				goto bad;
			r->p += 4;
			if (cp >= 0xdc80 && cp <= 0xdcff) {
				o[n++] = cp & 0xff;
			} else if (cp >= 0xd800 && cp < 0xdc00 && r->p + 6 < end &&
				   r->p[1] == '\\' && r->p[2] == 'u' && !hex4(r->p + 3, &lo) &&
				   lo >= 0xdc00 && lo < 0xe000) {
				put_utf8(o, &n, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
				r->p += 6;
			} else {
				put_utf8(o, &n, cp >= 0xd800 && cp < 0xe000 ? 0xfffd : cp);
			}
			break;
		default:
			o[n++] = *r->p;
		}
	}
	r->p = end + 1;
	o[n] = '\0';
	*out = o;
	*len = n;
	return 0;
bad:
	free(o);
	return -EINVAL;
}

static int read_value(struct jreader *r, struct json_value *v);

/* kids grows to the next power of two when n reaches one: big arrays stay linear */
static int add_kid(struct json_value *v, struct json_value *kid)
{
	struct json_value *k = v->kids;

	if (!(v->n & (v->n - 1))) {
		k = realloc(v->kids, (v->n ? 2 * v->n : 1) * sizeof(*k));
		if (!k)
			return -ENOMEM;
		v->kids = k;
	}
	k[v->n++] = *kid;
	return 0;
}

static int read_container(struct jreader *r, struct json_value *v, char close)
{
	int ret;

	if (++r->depth > 64)
		return -EINVAL;
	r->p++;
	skip_ws(r);
	if (*r->p == close) {
		r->p++;
		r->depth--;
		return 0;
	}
	for (;;) {
		struct json_value kid = {0};
		size_t klen;

		skip_ws(r);
		if (close == '}') {
			if (*r->p != '"' || (ret = read_str(r, &kid.key, &klen)))
				return kid.key ? ret : -EINVAL;
			skip_ws(r);
			if (*r->p++ != ':') {
				free(kid.key);
				return -EINVAL;
			}
		}
		ret = read_value(r, &kid);
		if (!ret)
			ret = add_kid(v, &kid);
		if (ret) {
			json_value_free(&kid);
			return ret;
		}
		skip_ws(r);
		if (*r->p == ',') {
			r->p++;
			continue;
		}
		if (*r->p != close)
			return -EINVAL;
		r->p++;
		r->depth--;
		return 0;
	}
}

static int read_value(struct jreader *r, struct json_value *v)
{
	const char *start;

	skip_ws(r);
	switch (*r->p) {
	case '{':
		v->type = JSON_OBJ;
		return read_container(r, v, '}');
	case '[':
		v->type = JSON_ARR;
		return read_container(r, v, ']');
	case '"':
		v->type = JSON_STR;
		return read_str(r, &v->s, &v->len);
	default:
		start = r->p;
		while (*r->p && (isalnum((unsigned char)*r->p) || strchr("+-.", *r->p)))
			r->p++;
		if (r->p == start)
			return -EINVAL;
		v->type = JSON_SCALAR;
		v->len = r->p - start;
		v->s = strndup(start, v->len);
		return v->s ? 0 : -ENOMEM;
	}
}

int json_parse_object(const char *json, struct json_value *v)
{
	struct jreader r = {.p = json};
	int ret = read_value(&r, v);

	skip_ws(&r);
	if (!ret && *r.p)
		ret = -EINVAL;
	if (!ret && v->type != JSON_OBJ)
		ret = -EINVAL;
	return ret;
}

const struct json_value *json_member(const struct json_value *v, const char *key)
{
	if (!v || v->type != JSON_OBJ)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->kids[i].key, key))
			return &v->kids[i];
	return NULL;
}

const char *json_member_str(const struct json_value *v, const char *key)
{
	const struct json_value *m = json_member(v, key);

	return m && m->type == JSON_STR ? m->s : NULL;
}
