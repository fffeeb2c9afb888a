/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * util.c - the rule engine's plumbing: a bump arena that owns every load and
 * compile-time object, growable arrays and a string map on top of it, the
 * diagnostic list, and the mapping from an offset in a (possibly folded, possibly
 * appended) YAML scalar back to file:line:col.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"

struct arena_chunk {
	struct arena_chunk *next; /* older chunk */
	size_t used;		  /* bytes handed out */
	size_t cap;		  /* bytes in data */
	_Alignas(16) char data[]; /* storage */
};

#define ARENA_CHUNK (64 * 1024)

static void __attribute__((noreturn)) oom(void)
{
	fputs("vigil: out of memory while loading rules\n", stderr);
	abort();
}

void *x_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom();
	return q;
}

void *ar_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t need = (n + 15) & ~(size_t)15;

	if (!c || c->cap - c->used < need) {
		size_t cap = need > ARENA_CHUNK / 4 ? need : ARENA_CHUNK;

		c = calloc(1, sizeof(*c) + cap);
		if (!c)
			oom();
		c->cap = cap;
		if (need > ARENA_CHUNK / 4 && a->head) {
			/* big blocks go behind the current chunk so its free space stays usable */
			c->next = a->head->next;
			a->head->next = c;
			c->used = need;
			return c->data;
		}
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += need;
	memset(p, 0, n);
	return p;
}

char *ar_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = ar_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *ar_strdup(struct arena *a, const char *s)
{
	return ar_strndup(a, s, strlen(s));
}

char *ar_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	char buf[256];
	va_list cp;
	int n;
	char *p;

	va_copy(cp, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, cp);
	va_end(cp);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(buf))
		return ar_strndup(a, buf, (size_t)n);
	p = ar_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *ar_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = ar_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

void ar_release(struct arena *a)
{
	struct arena_chunk *c = a->head;

	while (c) {
		struct arena_chunk *next = c->next;

		free(c);
		c = next;
	}
	a->head = NULL;
}

void *vec_push(struct arena *a, struct vec *v, size_t esz)
{
	if (v->n == v->cap) {
		uint32_t cap = v->cap ? v->cap * 2 : 8;
		void *nv = ar_alloc(a, (size_t)cap * esz);

		if (v->n)
			memcpy(nv, v->v, (size_t)v->n * esz);
		v->v = nv;
		v->cap = cap;
	}
	void *p = (char *)v->v + (size_t)v->n * esz;
	v->n++;
	memset(p, 0, esz);
	return p;
}

/* Eight bytes per step (names and paths are short, this is on the event path). */
uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);

	while (n >= 8) {
		uint64_t w;

		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
		s += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;

		memcpy(&w, s, n);
		h = (h ^ w) * 0x94d049bb133111ebull;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h;
}

struct strmap_ent {
	const char *key; /* NULL when empty */
	size_t len;	 /* key bytes */
	uint64_t hash;	 /* hash of key */
	void *val;	 /* value */
};

static struct strmap_ent *strmap_find(const struct strmap *m, const char *k, size_t n, uint64_t h)
{
	uint32_t mask = m->cap - 1;

	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		struct strmap_ent *e = &m->ents[i];

		if (!e->key || (e->hash == h && e->len == n && !memcmp(e->key, k, n)))
			return e;
	}
}

void *strmap_get(const struct strmap *m, const char *k, size_t n)
{
	if (!m->cap)
		return NULL;
	struct strmap_ent *e = strmap_find(m, k, n, hash_bytes(k, n));
	return e->key ? e->val : NULL;
}

void strmap_put(struct arena *a, struct strmap *m, const char *k, size_t n, void *val)
{
	uint64_t h = hash_bytes(k, n);

	if ((m->n + 1) * 2 > m->cap) {
		struct strmap old = *m;

		m->cap = old.cap ? old.cap * 2 : 16;
		m->ents = ar_alloc(a, sizeof(*m->ents) * m->cap);
		for (uint32_t i = 0; i < old.cap; i++) {
			if (old.ents[i].key)
				*strmap_find(m, old.ents[i].key, old.ents[i].len,
					     old.ents[i].hash) = old.ents[i];
		}
	}
	struct strmap_ent *e = strmap_find(m, k, n, h);
	if (!e->key) {
		e->key = ar_strndup(a, k, n);
		e->len = n;
		e->hash = h;
		m->n++;
	}
	e->val = val;
}

/* ---- diagnostics ---- */

void rdiag(struct rule_engine *e, enum rule_diag_level lvl, const struct rpos *pos, const char *fmt,
	   ...)
{
	struct rule_diag d = {.level = lvl};
	va_list ap;

	va_start(ap, fmt);
	d.msg = ar_vprintf(&e->ar, fmt, ap);
	va_end(ap);
	if (pos) {
		d.file = pos->file;
		d.line = pos->line;
		d.col = pos->col;
	}
	/* a macro used by many rules must not repeat the same complaint */
	for (uint32_t i = 0; i < e->diags.n; i++) {
		const struct rule_diag *o = &VEC_AT(e->diags, struct rule_diag, i);

		if (o->level == d.level && o->line == d.line && o->col == d.col &&
		    !strcmp(o->msg, d.msg) &&
		    (o->file == d.file || (o->file && d.file && !strcmp(o->file, d.file))))
			return;
	}
	*(struct rule_diag *)vec_push(&e->ar, &e->diags, sizeof(d)) = d;
	if (lvl == RULE_DIAG_ERROR) {
		e->n_errors++;
		e->file_failed = true;
	}
}

/* ---- offsets in scalar values -> file positions ---- */

char *posmap_init(struct posmap *pm, struct arena *a, const struct cseg *segs, uint32_t n,
		  size_t *len)
{
	size_t total = 0;
	char *s;

	memset(pm, 0, sizeof(*pm));
	pm->segs = segs;
	pm->n = n;
	pm->starts = ar_alloc(a, sizeof(size_t) * (n ? n : 1));
	for (uint32_t i = 0; i < n; i++)
		total += segs[i].len + (i ? 1 : 0);
	s = ar_alloc(a, total + 1);
	total = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			s[total++] = ' ';
		pm->starts[i] = total;
		memcpy(s + total, segs[i].text, segs[i].len);
		total += segs[i].len;
	}
	s[total] = '\0';
	*len = total;
	return s;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Where the scalar's content starts in its source, and that position. */
static void seg_start(const struct cseg *sg, size_t *src, int *line, int *col)
{
	const struct rsrc *r = sg->src;

	src_pos_of(r, sg->pos.line, sg->pos.col, src);
	*line = sg->pos.line;
	*col = sg->pos.col;
	if (sg->style == SEG_SQUOTE || sg->style == SEG_DQUOTE) {
		(*src)++;
		(*col)++;
	} else if (sg->style == SEG_BLOCK) {
		while (*src < r->len && r->text[*src] != '\n')
			(*src)++;
		if (*src < r->len)
			(*src)++;
		(*line)++;
		*col = 1;
	}
}

/*
 * Walks the source counting non-blank value characters: folding only changes
 * blanks, so the k-th non-blank character of the value is the k-th non-blank
 * character of the source (quote escapes count as one).
 */
static void seg_walk(struct posmap *pm, const struct cseg *sg, size_t k, struct rpos *out)
{
	const struct rsrc *r = sg->src;
	size_t src, seen;
	int line, col;

	if (pm->c_valid && pm->c_seg == (uint32_t)(sg - pm->segs) && pm->c_k <= k) {
		src = pm->c_src;
		seen = pm->c_k;
		line = pm->c_line;
		col = pm->c_col;
	} else {
		seg_start(sg, &src, &line, &col);
		seen = 0;
	}
	while (src < r->len) {
		char c = r->text[src];

		if (c == '\n') {
			line++;
			col = 1;
			src++;
			continue;
		}
		if (is_blank(c)) {
			col++;
			src++;
			continue;
		}
		if (seen == k)
			break;
		size_t step = 1;
		if (sg->style == SEG_SQUOTE && c == '\'' && src + 1 < r->len &&
		    r->text[src + 1] == '\'')
			step = 2;
		else if (sg->style == SEG_DQUOTE && c == '\\' && src + 1 < r->len) {
			char d = r->text[src + 1];
			step = d == 'x' ? 4 : d == 'u' ? 6 : d == 'U' ? 10 : 2;
		}
		for (size_t i = 0; i < step && src < r->len; i++) {
			/* UTF-8 continuation bytes do not move the column */
			if (((unsigned char)r->text[src] & 0xc0) != 0x80)
				col++;
			src++;
		}
		seen++;
	}
	pm->c_valid = true;
	pm->c_seg = (uint32_t)(sg - pm->segs);
	pm->c_k = seen;
	pm->c_src = src;
	pm->c_line = line;
	pm->c_col = col;
	out->file = r->name;
	out->line = line;
	out->col = col;
}

void posmap_get(struct posmap *pm, size_t off, struct rpos *out)
{
	uint32_t i = 0;

	memset(out, 0, sizeof(*out));
	if (!pm->n)
		return;
	while (i + 1 < pm->n && off >= pm->starts[i + 1])
		i++;
	const struct cseg *sg = &pm->segs[i];
	size_t lo = off - pm->starts[i];

	if (sg->style == SEG_NOSRC || !sg->src) {
		*out = sg->pos;
		return;
	}
	if (lo > sg->len)
		lo = sg->len;

	size_t k = 0, total = 0;
	for (size_t j = 0; j < sg->len; j++) {
		if (!is_blank(sg->text[j])) {
			total++;
			if (j < lo)
				k++;
		}
	}
	if (total == 0) {
		seg_walk(pm, sg, 0, out);
		return;
	}
	if (k >= total) {
		/* past the last token: one column after the last non-blank character */
		size_t last = sg->len;
		while (last > 0 && is_blank(sg->text[last - 1]))
			last--;
		seg_walk(pm, sg, total - 1, out);
		if (lo >= sg->len || lo >= last)
			out->col += 1;
		return;
	}
	seg_walk(pm, sg, k, out);
}
