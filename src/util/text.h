/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * text.h - bytes made safe for a line of text read by people and line-based tools:
 * C0 control characters (newline, carriage return, ESC...), DEL and '\\' are
 * written as \xNN, everything else as it is. One line stays one line, a terminal
 * never sees an escape sequence, and the original bytes can be recovered. The
 * event text stream and every text form of an alert use it.
 */
#ifndef VIGIL_TEXT_H
#define VIGIL_TEXT_H

#include <stddef.h>
#include <stdio.h>

#define TEXT_ESC_MAX 4 /* bytes written for one escaped input byte: \xNN */

/*
 * Writes the n bytes of s, escaped, to dst (room for n * TEXT_ESC_MAX bytes; no NUL
 * is added) and returns the bytes written. dst NULL: only counts them.
 */
size_t text_escape(char *dst, const char *s, size_t n);

/* s escaped, NUL-terminated, on the heap; NULL with errno set. */
char *text_escape_dup(const char *s);

/* Writes the n bytes of s, escaped, to out. */
void text_escape_write(FILE *out, const char *s, size_t n);

#endif
