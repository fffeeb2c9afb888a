/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sets.c - the lookup structures behind set operators, built once at compile time
 * and probed without allocating: a string hash set (`in`, merged `=` chains), a
 * sorted prefix array (merged `startswith` chains), path-prefix sets with component
 * boundaries (`pmatch`), an fnmatch-compatible glob matcher over (ptr, len) strings,
 * and network containment for address fields.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"

int rstr_cmp(const struct rstr *a, const struct rstr *b)
{
	size_t n = a->n < b->n ? a->n : b->n;
	int c = memcmp(a->p, b->p, n);

	if (c)
		return c;
	return a->n < b->n ? -1 : a->n > b->n;
}

int num_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int num_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int rstr_qcmp(const void *a, const void *b)
{
	return rstr_cmp(a, b);
}

/* ---- string hash set ---- */

static uint64_t len_bit(size_t n)
{
	return 1ull << (n < 63 ? n : 63);
}

static bool strset_insert(struct strset *s, const char *p, size_t n, uint64_t h)
{
	uint32_t mask = s->cap - 1;

	s->lens |= len_bit(n);

	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		if (!s->slots[i].p) {
			s->slots[i].p = p;
			s->slots[i].n = n;
			s->hashes[i] = h;
			s->n++;
			return true;
		}
		if (s->hashes[i] == h && s->slots[i].n == n && !memcmp(s->slots[i].p, p, n))
			return false;
	}
}

void strset_build(struct arena *a, struct strset *s, const struct rstr *v, uint32_t n)
{
	uint32_t cap = 8;

	while (cap < 2 * n + 1)
		cap *= 2;
	s->cap = cap;
	s->n = 0;
	s->lens = 0;
	s->slots = ar_alloc(a, sizeof(*s->slots) * cap);
	s->hashes = ar_alloc(a, sizeof(*s->hashes) * cap);
	for (uint32_t i = 0; i < n; i++) {
		/* copy so every stored string is NUL-terminated and owned by the arena */
		const char *p = ar_strndup(a, v[i].p, v[i].n);

		strset_insert(s, p, v[i].n, hash_bytes(p, v[i].n));
	}
}

bool strset_has(const struct strset *s, const char *p, size_t n)
{
	uint64_t h;
	uint32_t mask;

	if (!(s->lens & len_bit(n)))
		return false; /* cheap rejection: nothing that long */
	h = hash_bytes(p, n);
	mask = s->cap - 1;
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		if (!s->slots[i].p)
			return false;
		if (s->hashes[i] == h && s->slots[i].n == n && !memcmp(s->slots[i].p, p, n))
			return true;
	}
}

/* ---- sorted prefixes ---- */

struct prefixes *prefixes_build(struct arena *a, const struct rstr *v, uint32_t n)
{
	struct prefixes *ps = ar_alloc(a, sizeof(*ps));
	uint32_t out = 0;

	ps->v = ar_alloc(a, sizeof(*ps->v) * (n ? n : 1));
	for (uint32_t i = 0; i < n; i++) {
		ps->v[i].p = ar_strndup(a, v[i].p, v[i].n);
		ps->v[i].n = v[i].n;
	}
	qsort(ps->v, n, sizeof(*ps->v), rstr_qcmp);
	for (uint32_t i = 0; i < n; i++) {
		if (!out || rstr_cmp(&ps->v[out - 1], &ps->v[i]))
			ps->v[out++] = ps->v[i];
	}
	ps->n = out;
	prefixes_index(a, ps);
	return ps;
}

/* The children of node (entries lo..hi of v share its depth bytes), depth first. */
static void trie_build(struct arena *a, struct prefixes *ps, struct vec *nodes, uint32_t node,
		       uint32_t lo, uint32_t hi, size_t depth)
{
	const struct rstr *v = ps->v;
	uint32_t first = nodes->n, k = 0;
	uint16_t n_kids = 0;

	if (lo < hi && v[lo].n == depth) /* sorted: the one that ends here comes first */
		VEC_AT(*nodes, struct pnode, node).term = 1 + lo++;
	for (uint32_t i = lo; i < hi; i++) {
		if (i == lo || v[i].p[depth] != v[i - 1].p[depth]) {
			struct pnode *c = vec_push(a, nodes, sizeof(*c));

			*c = (struct pnode){.byte = (uint8_t)v[i].p[depth]};
			n_kids++;
		}
	}
	VEC_AT(*nodes, struct pnode, node).kids = first;
	VEC_AT(*nodes, struct pnode, node).n_kids = n_kids;
	for (uint32_t i = lo; i < hi; k++) {
		uint32_t j = i + 1;

		while (j < hi && v[j].p[depth] == v[i].p[depth])
			j++;
		trie_build(a, ps, nodes, first + k, i, j, depth + 1);
		i = j;
	}
}

/*
 * Indexes ps (sorted, no duplicates) with a byte trie: a lookup then costs one step per
 * byte of the key it shares with some prefix, and a key no prefix starts like is
 * turned away at its first bytes. A byte value has at most 256 children: n_kids fits.
 */
void prefixes_index(struct arena *a, struct prefixes *ps)
{
	struct vec nodes = {0};

	*(struct pnode *)vec_push(a, &nodes, sizeof(struct pnode)) = (struct pnode){0};
	trie_build(a, ps, &nodes, 0, 0, ps->n, 0);
	ps->trie = nodes.v;
}

/*
 * The elements of ps that are prefixes of (p, n), shortest first: each one's index goes
 * to fn, or, without fn, the walk stops at the first. Returns how many were found.
 * Without a trie, the greatest element <= key is taken: if it is not a prefix, any
 * element that is must also be a prefix of their common part, so the search goes on
 * with the key cut there; if it is, the next one is a prefix of the key cut one byte
 * short of it (longest first, then).
 */
uint32_t prefixes_each(const struct prefixes *ps, const char *p, size_t n,
		       void (*fn)(void *arg, uint32_t i), void *arg)
{
	struct rstr key = {.p = p, .n = n};
	uint32_t found = 0;

	if (ps->trie) {
		const struct pnode *t = ps->trie, *node = t;

		for (size_t i = 0;; i++) {
			const struct pnode *kid = t + node->kids, *end = kid + node->n_kids;

			if (node->term) {
				found++;
				if (!fn)
					return found;
				fn(arg, node->term - 1);
			}
			if (i == n)
				return found;
			while (kid < end && kid->byte != (uint8_t)p[i])
				kid++;
			if (kid == end)
				return found;
			node = kid;
		}
	}
	for (;;) {
		uint32_t lo = 0, hi = ps->n;

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (rstr_cmp(&ps->v[mid], &key) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (!lo)
			return found;

		const struct rstr *cand = &ps->v[lo - 1];
		size_t common = 0;

		while (common < cand->n && common < key.n && cand->p[common] == key.p[common])
			common++;
		if (common == cand->n) {
			found++;
			if (!fn)
				return found;
			fn(arg, lo - 1);
			if (!common)
				return found;
			common--;
		} else if (common >= key.n) {
			return found;
		}
		key.n = common;
	}
}

bool prefixes_match(const struct prefixes *ps, const char *p, size_t n)
{
	return prefixes_each(ps, p, n, NULL, NULL) != 0;
}

/* ---- path prefixes (pmatch) ---- */

static bool has_glob_meta(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '*' || p[i] == '?' || p[i] == '[' || p[i] == '\\')
			return true;
	}
	return false;
}

struct pmatch *pmatch_build(struct arena *a, const struct rstr *v, uint32_t n)
{
	struct pmatch *pm = ar_alloc(a, sizeof(*pm));
	struct rstr *lit = ar_alloc(a, sizeof(*lit) * (n ? n : 1));
	uint32_t nl = 0;

	pm->globs = ar_alloc(a, sizeof(*pm->globs) * (n ? n : 1));
	for (uint32_t i = 0; i < n; i++) {
		size_t len = v[i].n;

		/* "/etc/" and "/etc" are the same directory prefix; "/" stays */
		while (len > 1 && v[i].p[len - 1] == '/')
			len--;
		if (has_glob_meta(v[i].p, len)) {
			struct pmatch_glob *g = &pm->globs[pm->n_globs++];
			bool meta;

			g->pat.p = ar_strndup(a, v[i].p, len);
			g->pat.n = len;
			g->lit = glob_literal_prefix(g->pat.p, len, &meta);
			for (size_t k = 0; k < len; k++)
				g->slashes += v[i].p[k] == '/';
		} else {
			lit[nl].p = v[i].p;
			lit[nl++].n = len;
		}
	}
	strset_build(a, &pm->exact, lit, nl);
	return pm;
}

/* Does a directory prefix of the path (cut at a '/' or the end) satisfy the set? */
bool pmatch_match(const struct pmatch *pm, const char *p, size_t n)
{
	uint32_t slashes = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		if (strset_has(&pm->exact, p, i))
			return true;
		if (i == 0 && n && strset_has(&pm->exact, "/", 1))
			return true;
		for (uint32_t k = 0; k < pm->n_globs; k++) {
			const struct pmatch_glob *g = &pm->globs[k];
			char buf[4096];

			if (g->slashes != slashes || i < g->lit || memcmp(p, g->pat.p, g->lit) ||
			    i >= sizeof(buf))
				continue;
			memcpy(buf, p, i);
			buf[i] = '\0';
			if (!fnmatch(g->pat.p, buf, FNM_PATHNAME))
				return true;
		}
		slashes++;
	}
	return false;
}

/* ---- glob, as fnmatch(pattern, string, 0) over byte ranges ---- */

static unsigned char fold(unsigned char c, bool icase)
{
	return icase && c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/*
 * A bracket expression at pat[i] ('['). Returns 1 if c matches, 0 if not, and -1 if
 * the bracket is not closed (then '[' is an ordinary character). *len gets its size.
 */
static int bracket(const char *pat, size_t pn, size_t i, unsigned char c, bool icase, size_t *len)
{
	size_t j = i + 1;
	bool neg = false, match = false;

	if (j < pn && (pat[j] == '!' || pat[j] == '^')) {
		neg = true;
		j++;
	}
	size_t first = j;
	while (j < pn && (pat[j] != ']' || j == first)) {
		unsigned char lo = (unsigned char)pat[j], hi;

		if (lo == '\\' && j + 1 < pn)
			lo = (unsigned char)pat[++j];
		hi = lo;
		if (j + 2 < pn && pat[j + 1] == '-' && pat[j + 2] != ']') {
			hi = (unsigned char)pat[j + 2];
			if (hi == '\\' && j + 3 < pn) {
				hi = (unsigned char)pat[j + 3];
				j++;
			}
			j += 2;
		}
		if (fold(c, icase) >= fold(lo, icase) && fold(c, icase) <= fold(hi, icase))
			match = true;
		if (c >= lo && c <= hi)
			match = true;
		j++;
	}
	if (j >= pn)
		return -1;
	*len = j + 1 - i;
	return match != neg;
}

bool glob_match(const char *pat, size_t pn, const char *s, size_t sn, bool icase)
{
	size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;

	while (si < sn) {
		if (pi < pn) {
			char c = pat[pi];
			size_t len = 1;

			if (c == '*') {
				star_p = ++pi;
				star_s = si;
				continue;
			}
			if (c == '?') {
				pi++;
				si++;
				continue;
			}
			if (c == '[') {
				int r = bracket(pat, pn, pi, (unsigned char)s[si], icase, &len);

				if (r == 1) {
					pi += len;
					si++;
					continue;
				}
				if (r == -1 && s[si] == '[') {
					pi++;
					si++;
					continue;
				}
			} else {
				if (c == '\\' && pi + 1 < pn) {
					c = pat[pi + 1];
					len = 2;
				}
				if (fold((unsigned char)c, icase) ==
				    fold((unsigned char)s[si], icase)) {
					pi += len;
					si++;
					continue;
				}
			}
		}
		if (star_p == (size_t)-1)
			return false;
		pi = star_p;
		si = ++star_s;
	}
	while (pi < pn && pat[pi] == '*')
		pi++;
	return pi == pn;
}

size_t glob_literal_prefix(const char *pat, size_t pn, bool *has_meta)
{
	for (size_t i = 0; i < pn; i++) {
		if (pat[i] == '*' || pat[i] == '?' || pat[i] == '[' || pat[i] == '\\') {
			*has_meta = true;
			return i;
		}
	}
	*has_meta = false;
	return pn;
}

/* ---- networks ---- */

bool net_contains(const struct rnet *net, const struct rule_ip *ip)
{
	unsigned bits = net->bits, full = bits / 8, rest = bits % 8;

	if (net->family != ip->family)
		return false;
	if (memcmp(net->addr, ip->addr, full))
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		return (net->addr[full] & mask) == (ip->addr[full] & mask);
	}
	return true;
}
