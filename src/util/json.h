/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * json.h - a small JSON writer over a growable buffer, used for the event stream,
 * alerts and outputs. Strings may hold any bytes: valid UTF-8 passes through,
 * control characters, '"' and '\\' are escaped, and each byte of an invalid UTF-8
 * sequence 0xXX becomes the lone surrogate \uDCXX (Python's "surrogateescape"), so
 * a reader can recover the exact original bytes and the output is always one line.
 * And a small reader into a tree (control replies, container runtimes' JSON), which
 * maps \uDCXX back to the byte XX.
 */
#ifndef VIGIL_JSON_H
#define VIGIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 16

struct json_buf {
	char *buf;		    /* heap, NUL-terminated while err == 0 */
	size_t len;		    /* bytes used, without the NUL */
	size_t cap;		    /* bytes allocated */
	int err;		    /* first -errno seen; later calls are no-ops */
	int depth;		    /* open objects/arrays */
	bool first[JSON_MAX_DEPTH]; /* no member written yet at this depth */
	bool after_key;		    /* a key was written, its value is next */
};

void json_init(struct json_buf *j);
void json_reset(struct json_buf *j); /* empties, keeps the allocation */
void json_free(struct json_buf *j);

void json_obj_begin(struct json_buf *j);
void json_obj_end(struct json_buf *j);
void json_arr_begin(struct json_buf *j);
void json_arr_end(struct json_buf *j);
void json_key(struct json_buf *j, const char *key);

void json_str(struct json_buf *j, const char *s); /* NULL writes null */
void json_strn(struct json_buf *j, const char *s, size_t n);
void json_int(struct json_buf *j, int64_t v);
void json_uint(struct json_buf *j, uint64_t v);
void json_double(struct json_buf *j, double v); /* non-finite writes null */
void json_bool(struct json_buf *j, bool v);
void json_null(struct json_buf *j);
void json_raw(struct json_buf *j, const char *text); /* pre-rendered JSON value */

/* Appends only the escaped body of a string (no quotes), for templates. */
void json_escape_into(struct json_buf *j, const char *s, size_t n);

/* ---- reader ---- */

enum json_type { JSON_SCALAR, JSON_STR, JSON_ARR, JSON_OBJ };

struct json_value {
	enum json_type type;	 /* scalars keep their text: numbers, true, false, null */
	char *key;		 /* member name inside an object */
	char *s;		 /* string (decoded, NUL-terminated) or scalar text */
	size_t len;		 /* bytes in s */
	struct json_value *kids; /* elements or members */
	size_t n;		 /* entries in kids */
};

/* Parses the NUL-terminated text, which must be one object, into *v (zeroed first by
 * the caller). 0 or -errno (-EINVAL: not JSON or nested over 64 deep); free *v either way. */
int json_parse_object(const char *text, struct json_value *v);
void json_value_free(struct json_value *v);
/* v's member key (the first of that name), or NULL; v may be NULL or not an object. */
const struct json_value *json_member(const struct json_value *v, const char *key);
/* The string member key of v, or NULL when absent or not a string. */
const char *json_member_str(const struct json_value *v, const char *key);

#endif /* VIGIL_JSON_H */
