/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_json.c - unit tests for the JSON writer: escapes, UTF-8 pass-through and
 * surrogateescape of invalid bytes, separators, numbers, errors, buffer reuse, and a
 * round trip through a small independent parser that decodes strings back to bytes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

/* ---- a minimal JSON reader: validates syntax and decodes strings to bytes ---- */

struct rd {
	const char *p;	    /* next unread byte */
	unsigned char *str; /* decoded bytes of the last string */
	size_t str_len;	    /* bytes in str */
	size_t strings;	    /* strings decoded so far */
};

static void rd_ws(struct rd *r)
{
	while (*r->p == ' ' || *r->p == '\n' || *r->p == '\t' || *r->p == '\r')
		r->p++;
}

static int rd_hex4(const char *p)
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

/* Decodes a string; \uDCXX (XX >= 0x80) becomes byte XX, like surrogateescape. */
static bool rd_string(struct rd *r)
{
	size_t cap = strlen(r->p) + 1;

	free(r->str);
	r->str = malloc(cap);
	r->str_len = 0;
	if (*r->p++ != '"')
		return false;
	for (;;) {
		unsigned char c = (unsigned char)*r->p++;
		int v;

		if (c == '"')
			break;
		if (c < 0x20 || c == 0x7f)
			return false; /* raw control byte: writer must escape it */
		if (c != '\\') {
			r->str[r->str_len++] = c;
			continue;
		}
		c = (unsigned char)*r->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			r->str[r->str_len++] = c;
			break;
		case 'b':
			r->str[r->str_len++] = '\b';
			break;
		case 'f':
			r->str[r->str_len++] = '\f';
			break;
		case 'n':
			r->str[r->str_len++] = '\n';
			break;
		case 'r':
			r->str[r->str_len++] = '\r';
			break;
		case 't':
			r->str[r->str_len++] = '\t';
			break;
		case 'u':
			v = rd_hex4(r->p);
			r->p += 4;
			if (v >= 0xdc80 && v <= 0xdcff)
				r->str[r->str_len++] = (unsigned char)(v & 0xff);
			else if (v >= 0 && v < 0x80)
				r->str[r->str_len++] = (unsigned char)v;
			else
				return false; /* the writer never emits other escapes */
			break;
		default:
			return false;
		}
	}
	r->strings++;
	return true;
}

static bool rd_value(struct rd *r, int depth);

static bool rd_number(struct rd *r)
{
	char *end;

	if (!(*r->p == '-' || (*r->p >= '0' && *r->p <= '9')))
		return false;
	strtod(r->p, &end);
	if (end == r->p)
		return false;
	r->p = end;
	return true;
}

static bool rd_members(struct rd *r, int depth, char close, bool keyed)
{
	r->p++;
	rd_ws(r);
	if (*r->p == close) {
		r->p++;
		return true;
	}
	for (;;) {
		if (keyed) {
			if (!rd_string(r))
				return false;
			if (*r->p++ != ':')
				return false;
		}
		if (!rd_value(r, depth + 1))
			return false;
		if (*r->p == ',') {
			r->p++;
			continue;
		}
		if (*r->p++ != close)
			return false;
		return true;
	}
}

static bool rd_value(struct rd *r, int depth)
{
	if (depth > 64)
		return false;
	rd_ws(r);
	switch (*r->p) {
	case '{':
		return rd_members(r, depth, '}', true);
	case '[':
		return rd_members(r, depth, ']', false);
	case '"':
		return rd_string(r);
	case 't':
		return strncmp(r->p, "true", 4) == 0 && (r->p += 4);
	case 'f':
		return strncmp(r->p, "false", 5) == 0 && (r->p += 5);
	case 'n':
		return strncmp(r->p, "null", 4) == 0 && (r->p += 4);
	default:
		return rd_number(r);
	}
}

/* True when text is one JSON value and nothing else. */
static bool json_valid(const char *text, struct rd *r)
{
	memset(r, 0, sizeof(*r));
	r->p = text;
	if (!rd_value(r, 0))
		return false;
	return *r->p == '\0';
}

/* True when s is entirely valid UTF-8 (the writer's output always must be). */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned int cp;
		size_t len;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000))
			return false;
		if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += len;
	}
	return true;
}

/* ---- helpers ---- */

static struct json_buf jb;

static void setup(void)
{
	json_init(&jb);
}

static void teardown(void)
{
	json_free(&jb);
}

/* Writes bytes as one string value and expects the exact text. */
static void expect_str(const char *in, size_t n, const char *want)
{
	json_reset(&jb);
	json_strn(&jb, in, n);
	cr_assert_eq(jb.err, 0);
	cr_assert_str_eq(jb.buf, want, "input of %zu bytes", n);
	cr_assert_eq(jb.len, strlen(want));
}

/* Writes bytes as one string, parses it back and expects the same bytes. */
static void expect_roundtrip(const unsigned char *in, size_t n)
{
	struct rd r;

	json_reset(&jb);
	json_strn(&jb, (const char *)in, n);
	cr_assert_eq(jb.err, 0);
	cr_assert(utf8_valid((const unsigned char *)jb.buf, jb.len), "output not UTF-8: %s",
		  jb.buf);
	cr_assert(json_valid(jb.buf, &r), "not JSON: %s", jb.buf);
	cr_assert_eq(r.str_len, n, "%s", jb.buf);
	cr_assert(memcmp(r.str, in, n) == 0, "%s", jb.buf);
	free(r.str);
}

#define S(lit) lit, sizeof(lit) - 1

TestSuite(json, .init = setup, .fini = teardown);

Test(json, init_is_empty_string)
{
	cr_assert_not_null(jb.buf);
	cr_assert_str_eq(jb.buf, "");
	cr_assert_eq(jb.len, 0);
	cr_assert_eq(jb.err, 0);
}

Test(json, plain_ascii)
{
	expect_str(S("hello world /usr/bin/x ~!@#$%^&*()"),
		   "\"hello world /usr/bin/x ~!@#$%^&*()\"");
	expect_str(S(""), "\"\"");
}

Test(json, short_escapes)
{
	expect_str(S("\"\\\b\f\n\r\t"), "\"\\\"\\\\\\b\\f\\n\\r\\t\"");
	expect_str(S("a\"b"), "\"a\\\"b\"");
}

Test(json, control_bytes_and_del)
{
	expect_str(S("\x01\x1f\x7f\x0b"), "\"\\u0001\\u001f\\u007f\\u000b\"");
}

Test(json, embedded_nul)
{
	expect_str("a\0b", 3, "\"a\\u0000b\"");
}

Test(json, str_stops_at_nul)
{
	json_str(&jb, "ab\0cd");
	cr_assert_str_eq(jb.buf, "\"ab\"");
}

Test(json, str_null_is_null)
{
	json_str(&jb, NULL);
	cr_assert_str_eq(jb.buf, "null");
}

Test(json, valid_utf8_passes)
{
	expect_str(S("\xc3\xa9"), "\"\xc3\xa9\"");		       /* é, 2 bytes */
	expect_str(S("\xe2\x82\xac"), "\"\xe2\x82\xac\"");	       /* €, 3 bytes */
	expect_str(S("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");     /* U+1F600, 4 bytes */
	expect_str(S("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"");     /* U+10FFFF */
	expect_str(S("\xed\x9f\xbf"), "\"\xed\x9f\xbf\"");	       /* U+D7FF */
	expect_str(S("\xee\x80\x80"), "\"\xee\x80\x80\"");	       /* U+E000 */
	expect_str(S("a\xc2\x80z\xdf\xbf"), "\"a\xc2\x80z\xdf\xbf\""); /* U+80, U+7FF */
	expect_str(S("\xe0\xa0\x80\xf0\x90\x80\x80"), "\"\xe0\xa0\x80\xf0\x90\x80\x80\"");
}

Test(json, stray_continuation)
{
	expect_str(S("a\x80"
		     "b"),
		   "\"a\\udc80b\"");
	expect_str(S("\xbf\xbf"), "\"\\udcbf\\udcbf\"");
}

Test(json, truncated_at_end)
{
	expect_str(S("x\xe2\x82"), "\"x\\udce2\\udc82\"");
	expect_str(S("\xf0\x9f\x98"), "\"\\udcf0\\udc9f\\udc98\"");
	expect_str(S("\xc3"), "\"\\udcc3\"");
}

Test(json, truncated_mid_string)
{
	/* A lead byte followed by ASCII: only the lead is escaped. */
	expect_str(S("\xe2\x82"
		     "A\xe2\x82\xac"),
		   "\"\\udce2\\udc82A\xe2\x82\xac\"");
}

Test(json, overlong)
{
	expect_str(S("\xc0\x80"), "\"\\udcc0\\udc80\"");
	expect_str(S("\xc1\xbf"), "\"\\udcc1\\udcbf\"");
	expect_str(S("\xe0\x80\xaf"), "\"\\udce0\\udc80\\udcaf\"");
	expect_str(S("\xf0\x8f\xbf\xbf"), "\"\\udcf0\\udc8f\\udcbf\\udcbf\"");
}

Test(json, utf8_encoded_surrogate)
{
	expect_str(S("\xed\xa0\x80"), "\"\\udced\\udca0\\udc80\"");
	expect_str(S("\xed\xbf\xbf"), "\"\\udced\\udcbf\\udcbf\"");
}

Test(json, above_max_code_point)
{
	expect_str(S("\xf4\x90\x80\x80"), "\"\\udcf4\\udc90\\udc80\\udc80\"");
	expect_str(S("\xf5\x80\x80\x80"), "\"\\udcf5\\udc80\\udc80\\udc80\"");
	expect_str(S("\xff\xfe"), "\"\\udcff\\udcfe\"");
}

Test(json, roundtrip_classes)
{
	expect_roundtrip((const unsigned char *)S("plain"));
	expect_roundtrip((const unsigned char *)S("\"\\\b\f\n\r\t\x01\x7f"));
	expect_roundtrip((const unsigned char *)S("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
	expect_roundtrip((const unsigned char *)S("\x80\xc0\x80\xed\xa0\x80\xf5\xff\xe2\x82"));
	expect_roundtrip((const unsigned char *)"a\0b\0", 4);
}

Test(json, special_byte_at_every_position)
{
	/* the writer skips plain text a word at a time: each special must still be seen */
	const unsigned char specials[] = {0x00, 0x1f, '"', '\\', 0x7f, 0x80, 0xff, 0x0a};
	unsigned char buf[40];

	for (size_t k = 0; k < sizeof(specials); k++) {
		for (size_t pos = 0; pos < sizeof(buf); pos++) {
			memset(buf, 'a', sizeof(buf));
			buf[pos] = specials[k];
			json_reset(&jb);
			json_strn(&jb, (const char *)buf, sizeof(buf));
			cr_assert_gt(jb.len, sizeof(buf) + 2, "byte %02x at %zu", specials[k], pos);
			expect_roundtrip(buf, sizeof(buf));
		}
	}
}

Test(json, roundtrip_every_byte)
{
	unsigned char all[256];

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	expect_roundtrip(all, sizeof(all));
}

Test(json, roundtrip_random)
{
	unsigned char buf[200];
	uint32_t x = 12345;

	for (int iter = 0; iter < 2000; iter++) {
		size_t n = (size_t)(iter % 200);

		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			/* bias to the interesting bytes: ASCII, continuations and leads */
			buf[i] =
			    (unsigned char)((x >> 16) % 4 == 0 ? 'a' + (x >> 8) % 26 : x >> 24);
		}
		expect_roundtrip(buf, n);
	}
}

Test(json, object_and_commas)
{
	json_obj_begin(&jb);
	json_key(&jb, "a");
	json_int(&jb, 1);
	json_key(&jb, "b");
	json_str(&jb, "x");
	json_key(&jb, "c");
	json_arr_begin(&jb);
	json_arr_end(&jb);
	json_key(&jb, "d");
	json_obj_begin(&jb);
	json_obj_end(&jb);
	json_obj_end(&jb);
	cr_assert_eq(jb.err, 0);
	cr_assert_str_eq(jb.buf, "{\"a\":1,\"b\":\"x\",\"c\":[],\"d\":{}}");
	cr_assert_eq(jb.depth, 0);
}

Test(json, nesting)
{
	struct rd r;

	json_arr_begin(&jb);
	json_int(&jb, 1);
	json_arr_begin(&jb);
	json_int(&jb, 2);
	json_obj_begin(&jb);
	json_key(&jb, "k\"ey");
	json_arr_begin(&jb);
	json_bool(&jb, true);
	json_bool(&jb, false);
	json_null(&jb);
	json_arr_end(&jb);
	json_obj_end(&jb);
	json_arr_end(&jb);
	json_int(&jb, 3);
	json_arr_end(&jb);
	cr_assert_eq(jb.err, 0);
	cr_assert_str_eq(jb.buf, "[1,[2,{\"k\\\"ey\":[true,false,null]}],3]");
	cr_assert(json_valid(jb.buf, &r));
	free(r.str);
}

Test(json, max_depth)
{
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_arr_begin(&jb);
	cr_assert_eq(jb.err, 0);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_arr_end(&jb);
	cr_assert_eq(jb.err, 0);
	cr_assert_eq(jb.len, 2 * JSON_MAX_DEPTH);

	json_reset(&jb);
	for (int i = 0; i <= JSON_MAX_DEPTH; i++)
		json_obj_begin(&jb);
	cr_assert_eq(jb.err, -E2BIG);
}

Test(json, unbalanced_close_is_error)
{
	json_obj_end(&jb);
	cr_assert_eq(jb.err, -EINVAL);
	json_int(&jb, 5); /* later calls do nothing */
	cr_assert_eq(jb.len, 0);
}

Test(json, key_without_value_is_error)
{
	json_obj_begin(&jb);
	json_key(&jb, "a");
	json_obj_end(&jb);
	cr_assert_eq(jb.err, -EINVAL);
}

Test(json, integers)
{
	json_arr_begin(&jb);
	json_int(&jb, 0);
	json_int(&jb, -1);
	json_int(&jb, INT64_MIN);
	json_int(&jb, INT64_MAX);
	json_uint(&jb, 0);
	json_uint(&jb, UINT64_MAX);
	json_uint(&jb, 1000000007u);
	json_arr_end(&jb);
	cr_assert_str_eq(jb.buf, "[0,-1,-9223372036854775808,9223372036854775807,0,"
				 "18446744073709551615,1000000007]");
}

Test(json, doubles)
{
	const double vals[] = {0.1, 1.5, -2.25, 1e300, 5e-324, 1.0 / 3.0, 123456789.0};

	json_arr_begin(&jb);
	json_double(&jb, 0.5);
	json_double(&jb, NAN);
	json_double(&jb, INFINITY);
	json_double(&jb, -INFINITY);
	json_double(&jb, 0.1);
	json_arr_end(&jb);
	cr_assert_str_eq(jb.buf, "[0.5,null,null,null,0.1]");

	/* every finite double reads back exactly */
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		json_reset(&jb);
		json_double(&jb, vals[i]);
		cr_assert_eq(strtod(jb.buf, NULL), vals[i], "%s", jb.buf);
	}
}

Test(json, raw_value)
{
	json_arr_begin(&jb);
	json_raw(&jb, "1");
	json_raw(&jb, "\"s\"");
	json_arr_end(&jb);
	cr_assert_str_eq(jb.buf, "[1,\"s\"]");
}

Test(json, raw_in_object)
{
	json_obj_begin(&jb);
	json_key(&jb, "pre");
	json_raw(&jb, "{\"x\":[1,2]}");
	json_key(&jb, "n");
	json_raw(&jb, NULL);
	json_obj_end(&jb);
	cr_assert_str_eq(jb.buf, "{\"pre\":{\"x\":[1,2]},\"n\":null}");
}

Test(json, escape_into_body_only)
{
	json_escape_into(&jb, "a\"\n\xff", 4);
	cr_assert_str_eq(jb.buf, "a\\\"\\n\\udcff");
	json_escape_into(&jb, "!", 1);
	cr_assert_str_eq(jb.buf, "a\\\"\\n\\udcff!");
}

Test(json, reset_reuses_buffer)
{
	char big[1000];
	char *before;
	size_t cap;

	memset(big, 'x', sizeof(big));
	json_strn(&jb, big, sizeof(big));
	cr_assert_eq(jb.len, sizeof(big) + 2);
	before = jb.buf;
	cap = jb.cap;
	json_reset(&jb);
	cr_assert_eq(jb.len, 0);
	cr_assert_str_eq(jb.buf, "");
	cr_assert_eq(jb.buf, before);
	cr_assert_eq(jb.cap, cap);
	json_obj_begin(&jb);
	json_key(&jb, "k");
	json_int(&jb, 7);
	json_obj_end(&jb);
	cr_assert_str_eq(jb.buf, "{\"k\":7}");
}

Test(json, reset_clears_state)
{
	json_obj_begin(&jb);
	json_key(&jb, "k");
	json_reset(&jb);
	cr_assert_eq(jb.depth, 0);
	cr_assert_not(jb.after_key);
	json_arr_begin(&jb);
	json_int(&jb, 1);
	json_arr_end(&jb);
	cr_assert_str_eq(jb.buf, "[1]");
}

Test(json, growth_keeps_content)
{
	struct rd r;

	json_arr_begin(&jb);
	for (int i = 0; i < 5000; i++) {
		json_str(&jb, "\xe2\x82\xac\x01");
		json_int(&jb, i);
	}
	json_arr_end(&jb);
	cr_assert_eq(jb.err, 0);
	cr_assert_eq(strlen(jb.buf), jb.len);
	cr_assert(json_valid(jb.buf, &r));
	cr_assert_eq(r.strings, 5000);
	free(r.str);
}

Test(json, size_overflow_sets_enomem)
{
	/* n*6 overflows: the writer must fail before it reads the input */
	json_arr_begin(&jb);
	json_strn(&jb, "", SIZE_MAX / 2);
	cr_assert_eq(jb.err, -ENOMEM);
	size_t len = jb.len;
	json_int(&jb, 1);
	json_str(&jb, "x");
	json_arr_end(&jb);
	cr_assert_eq(jb.len, len);
	cr_assert_eq(jb.err, -ENOMEM);
	json_reset(&jb);
	cr_assert_eq(jb.err, 0);
	json_int(&jb, 2);
	cr_assert_str_eq(jb.buf, "2");
}

Test(json, free_then_init_again)
{
	json_free(&jb);
	cr_assert_null(jb.buf);
	json_init(&jb);
	json_bool(&jb, true);
	cr_assert_str_eq(jb.buf, "true");
}

/* ---- the reader ---- */

Test(json, reader_round_trips_the_writer)
{
	static const char bytes[] = "a\"b\\c\n\x01\xff\xc3\xa9";
	struct json_value v = {0};
	const struct json_value *arr;

	json_obj_begin(&jb);
	json_key(&jb, "s");
	json_strn(&jb, bytes, sizeof(bytes) - 1);
	json_key(&jb, "n");
	json_int(&jb, -42);
	json_key(&jb, "a");
	json_arr_begin(&jb);
	for (int i = 0; i < 100; i++)
		json_uint(&jb, i);
	json_arr_end(&jb);
	json_obj_end(&jb);
	cr_assert_eq(json_parse_object(jb.buf, &v), 0);
	cr_assert_eq(json_member(&v, "s")->len, sizeof(bytes) - 1);
	cr_assert_eq(memcmp(json_member_str(&v, "s"), bytes, sizeof(bytes) - 1), 0);
	cr_assert_str_eq(json_member(&v, "n")->s, "-42");
	cr_assert_null(json_member_str(&v, "n"), "a number is not a string");
	arr = json_member(&v, "a");
	cr_assert_eq(arr->type, JSON_ARR);
	cr_assert_eq(arr->n, 100);
	cr_assert_str_eq(arr->kids[99].s, "99");
	cr_assert_null(json_member(&v, "missing"));
	cr_assert_null(json_member(arr, "s"), "an array has no members");
	json_value_free(&v);
}

Test(json, reader_rejects_bad_text)
{
	static const char *bad[] = {
	    "",		  "[]",		 "{",		"{\"a\"}",	    "{\"a\":}",
	    "{\"a\":1,}", "{\"a\":\"x}", "{\"a\":1} x", "{\"a\":\"\\u12\"}"};
	char deep[200] = "{\"a\":";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct json_value v = {0};

		cr_assert_neq(json_parse_object(bad[i], &v), 0, "accepted '%s'", bad[i]);
		json_value_free(&v);
	}
	for (int i = 0; i < 70; i++)
		strcat(deep, "[");
	{
		struct json_value v = {0};

		cr_assert_eq(json_parse_object(deep, &v), -EINVAL, "nesting is bounded");
		json_value_free(&v);
	}
}
