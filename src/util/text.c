// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * text.c - escaping bytes for a line of text (see text.h).
 */
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

static const char hex[] = "0123456789abcdef";

static int needs_escape(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '\\';
}

size_t text_escape(char *dst, const char *s, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; s && i < n; i++) {
		unsigned char c = s[i];

		if (!needs_escape(c)) {
			if (dst)
				dst[out] = (char)c;
			out++;
			continue;
		}
		if (dst) {
			dst[out] = '\\';
			dst[out + 1] = 'x';
			dst[out + 2] = hex[c >> 4];
			dst[out + 3] = hex[c & 0xf];
		}
		out += TEXT_ESC_MAX;
	}
	return out;
}

char *text_escape_dup(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *r = malloc(text_escape(NULL, s, n) + 1);

	if (!r)
		return NULL;
	r[text_escape(r, s, n)] = '\0';
	return r;
}

void text_escape_write(FILE *out, const char *s, size_t n)
{
	char buf[64 * TEXT_ESC_MAX];

	for (size_t i = 0; s && i < n; i += 64) {
		size_t k = n - i < 64 ? n - i : 64;

		fwrite(buf, 1, text_escape(buf, s + i, k), out);
	}
}
