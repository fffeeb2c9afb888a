/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * output.c - rule output templates, as Falco writes them: text with %field,
 * %field[arg] and %evt.arg.name tokens ("%%" is a literal '%', "%20field" pads or
 * cuts to 20 characters, a leading '*' is accepted and ignored). Rendering gives
 * Falco's message, its text line ("<time>: <Priority> <message>") and the alert's
 * output_fields, typed as its JSON writes them (the outputs render that JSON).
 * Missing values print as <NA> in text and are null among the fields.
 * Alerts are rare next to events, so rendering may allocate; field values still
 * come from the cache the evaluation filled.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/json.h"
#include "rules/rules_int.h"

static bool is_field_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.';
}

static void lit(struct rule_engine *e, struct vec *toks, const char *p, size_t n)
{
	struct otok *t;

	if (!n)
		return;
	t = vec_push(&e->ar, toks, sizeof(*t));
	t->lit = p;
	t->len = n;
}

int output_compile(struct rule_engine *e, struct crule *cr, bool lenient, const char **unknown,
		   struct rpos *upos)
{
	struct rule_def *d = cr->def;
	struct posmap pm;
	struct vec toks = {0};
	size_t len, i = 0, start;
	const char *s = posmap_init(&pm, &e->ar, d->output.v, d->output.n, &len);

	if (len && s[0] == '*')
		i = 1;
	start = i;
	while (i < len) {
		if (s[i] != '%') {
			i++;
			continue;
		}
		size_t pct = i, j = i + 1, width = 0;

		if (j < len && s[j] == '%') {
			lit(e, &toks, s + start, j - start);
			i = start = j + 1;
			continue;
		}
		while (j < len && s[j] >= '0' && s[j] <= '9' && width < 100000)
			width = width * 10 + (size_t)(s[j++] - '0');
		if (j >= len || !((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z'))) {
			i = j > pct + 1 ? j : pct + 1;
			continue; /* not a token: the '%' stays literal */
		}
		size_t ns = j;
		while (j < len && is_field_char(s[j]))
			j++;
		while (j > ns && s[j - 1] == '.')
			j--;

		char *name = ar_strndup(&e->ar, s + ns, j - ns);
		char *arg = NULL;
		if (j < len && s[j] == '[') {
			size_t k = j + 1;

			while (k < len && s[k] != ']' && s[k] != '[' && s[k] != ' ')
				k++;
			if (k < len && s[k] == ']' && k > j + 1) {
				arg = ar_strndup(&e->ar, s + j + 1, k - j - 1);
				j = k + 1;
			}
		}

		bool unk;
		const char *err = NULL;
		struct slot *sl = slot_resolve(e, name, arg, &unk, &err);
		if (!sl || !sl->type) {
			struct rpos pos;

			posmap_get(&pm, pct, &pos);
			if (unk && lenient) {
				*unknown = name;
				*upos = pos;
				return -ENOENT;
			}
			rdiag(e, RULE_DIAG_ERROR, &pos, "%s in the output of rule '%s'",
			      err ? err : "invalid field", d->name);
			return -EINVAL;
		}
		lit(e, &toks, s + start, pct - start);

		struct otok *t = vec_push(&e->ar, &toks, sizeof(*t));
		t->slot = sl->ref.slot;
		t->width = (uint32_t)width;
		i = start = j;
	}
	lit(e, &toks, s + start, len - start);
	cr->otoks = toks.v;
	cr->n_otoks = toks.n;
	return 0;
}

/* ---- text ---- */

void rule_text__free(struct rule_text *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

static int text_put(struct rule_text *t, const char *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		char *nb;

		while (cap < t->len + n + 1)
			cap *= 2;
		nb = realloc(t->buf, cap);
		if (!nb)
			return -ENOMEM;
		t->buf = nb;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return 0;
}

/* What scalar_format made of a value. */
enum scalar_form {
	SCALAR_NONE,   /* a type with no text form */
	SCALAR_NA,     /* an address that cannot be printed */
	SCALAR_STRING, /* text: a string or an address */
	SCALAR_RAW,    /* a number or boolean, as JSON writes it */
};

/*
 * The text of one value: *p and *n point into v (strings) or into buf (numbers,
 * booleans, addresses), which holds INET6_ADDRSTRLEN + 8 bytes. One formatting
 * for the text line and for the typed output fields.
 */
static enum scalar_form scalar_format(const struct slot *s, const struct rule_value *v, char *buf,
				      size_t len, const char **p, size_t *n)
{
	*p = buf;
	switch (s->type) {
	case RULE_FT_STRING:
		*p = v->str.ptr;
		*n = v->str.len;
		return SCALAR_STRING;
	case RULE_FT_INT64:
		snprintf(buf, len, "%" PRId64, v->i64);
		break;
	case RULE_FT_UINT64:
		snprintf(buf, len, "%" PRIu64, v->u64);
		break;
	case RULE_FT_BOOL:
		snprintf(buf, len, "%s", v->b ? "true" : "false");
		break;
	case RULE_FT_IPADDR:
	case RULE_FT_IPNET:
		if (!inet_ntop(v->ip.family == 6 ? AF_INET6 : AF_INET, v->ip.addr, buf, len))
			return SCALAR_NA;
		*n = strlen(buf);
		return SCALAR_STRING;
	default:
		return SCALAR_NONE;
	}
	*n = strlen(buf);
	return SCALAR_RAW;
}

static int value_text(const struct slot *s, const struct rule_value *v, struct rule_text *t)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *p;
	size_t n;

	switch (scalar_format(s, v, buf, sizeof(buf), &p, &n)) {
	case SCALAR_NONE:
		return 0;
	case SCALAR_NA:
		return text_put(t, "<NA>", 4);
	default:
		return text_put(t, p, n);
	}
}

static int slot_text(struct rule_engine *e, struct slot *s, void *event, struct rule_text *t)
{
	int n = slot_fetch(e, s, event);
	int ret = 0;

	if (!n)
		return text_put(t, "<NA>", 4);
	for (int i = 0; i < n && !ret; i++) {
		if (i)
			ret = text_put(t, ",", 1);
		if (!ret)
			ret = value_text(s, &s->vals[i], t);
	}
	return ret;
}

int rule_text__append(struct rule_text *t, const char *p, size_t n)
{
	return text_put(t, p, n);
}

int rule_engine__ref_text(struct rule_engine *e, const struct rule_field_ref *ref, void *event,
			  struct rule_text *out)
{
	struct slot *s = VEC_AT(e->slots, struct slot *, ref->slot);
	int n;

	if (!e->in_eval)
		e->gen++;
	n = slot_fetch(e, s, event);
	if (slot_text(e, s, event, out))
		return -ENOMEM;
	return n;
}

/* Outside eval, values must be fetched afresh for this event. */
static void begin_format(struct rule_engine *e, uint32_t evtype)
{
	if (!e->in_eval) {
		e->gen++;
		e->cur_code = evtype;
	}
}

static int message_into(struct rule_engine *e, const struct crule *cr, void *event,
			struct rule_text *out)
{
	int ret = 0;

	for (uint32_t i = 0; i < cr->n_otoks && !ret; i++) {
		const struct otok *t = &cr->otoks[i];
		size_t before = out->len;

		if (t->lit) {
			ret = text_put(out, t->lit, t->len);
			continue;
		}
		ret = slot_text(e, VEC_AT(e->slots, struct slot *, t->slot), event, out);
		if (!ret && t->width) {
			size_t got = out->len - before;

			if (got > t->width) {
				out->len = before + t->width;
				out->buf[out->len] = '\0';
			}
			while (!ret && out->len - before < t->width)
				ret = text_put(out, " ", 1);
		}
	}
	if (!ret && !out->buf)
		ret = text_put(out, "", 0);
	return ret;
}

int rule_engine__format_message(struct rule_engine *e, size_t rule_idx, uint32_t evtype,
				void *event, struct rule_text *out)
{
	if (!e->compiled || rule_idx >= e->n_crules || !e->crules[rule_idx].ops)
		return -EINVAL;
	begin_format(e, evtype);
	out->len = 0;
	return message_into(e, &e->crules[rule_idx], event, out);
}

static void time_text(uint64_t ts_ns, bool iso, char *buf, size_t len)
{
	time_t sec = (time_t)(ts_ns / 1000000000ull);
	unsigned long ns = (unsigned long)(ts_ns % 1000000000ull);
	struct tm tm;
	char b[32];

	if (iso) {
		gmtime_r(&sec, &tm);
		strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf, len, "%s.%09luZ", b, ns);
	} else {
		localtime_r(&sec, &tm);
		strftime(b, sizeof(b), "%H:%M:%S", &tm);
		snprintf(buf, len, "%s.%09lu", b, ns);
	}
}

static int output_into(struct rule_engine *e, const struct crule *cr, void *event, uint64_t ts_ns,
		       struct rule_text *out)
{
	char tbuf[64];
	const char *prio = rule_priority__name(cr->info.priority);
	int ret;

	time_text(ts_ns, e->opts.time_iso8601, tbuf, sizeof(tbuf));
	ret = text_put(out, tbuf, strlen(tbuf));
	if (!ret)
		ret = text_put(out, ": ", 2);
	if (!ret)
		ret = text_put(out, prio, strlen(prio));
	if (!ret)
		ret = text_put(out, " ", 1);
	if (!ret)
		ret = message_into(e, cr, event, out);
	return ret;
}

int rule_engine__format_output(struct rule_engine *e, size_t rule_idx, uint32_t evtype, void *event,
			       uint64_t ts_ns, struct rule_text *out)
{
	if (!e->compiled || rule_idx >= e->n_crules || !e->crules[rule_idx].ops)
		return -EINVAL;
	begin_format(e, evtype);
	out->len = 0;
	return output_into(e, &e->crules[rule_idx], event, ts_ns, out);
}

/* ---- alert fields ---- */

void rule_alert__free(struct rule_alert *a)
{
	rule_text__free(&a->output);
	rule_text__free(&a->values);
	free(a->fields);
	memset(a, 0, sizeof(*a));
}

/* A list value as its JSON array; its elements typed as Falco writes them. */
static void value_json(const struct slot *s, const struct rule_value *v, struct json_buf *j)
{
	char buf[INET6_ADDRSTRLEN];

	switch (s->type) {
	case RULE_FT_STRING:
		json_strn(j, v->str.ptr, v->str.len);
		break;
	case RULE_FT_INT64:
		json_int(j, v->i64);
		break;
	case RULE_FT_UINT64:
		json_uint(j, v->u64);
		break;
	case RULE_FT_BOOL:
		json_bool(j, v->b);
		break;
	case RULE_FT_IPADDR:
	case RULE_FT_IPNET:
		if (inet_ntop(v->ip.family == 6 ? AF_INET6 : AF_INET, v->ip.addr, buf, sizeof(buf)))
			json_str(j, buf);
		else
			json_null(j);
		break;
	default:
		json_null(j);
	}
}

/*
 * Appends one field to out; its value goes to out->values at an offset kept in
 * the value pointer until every field is in (the buffer may move meanwhile).
 */
static int field_put(struct rule_alert *out, const char *name, enum rule_out_type type,
		     const char *v, size_t len)
{
	struct rule_out_field *f;

	if (out->n_fields == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 16;

		f = realloc(out->fields, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		out->fields = f;
		out->cap = cap;
	}
	f = &out->fields[out->n_fields++];
	f->name = name;
	f->type = type;
	f->value = (const char *)(uintptr_t)out->values.len;
	f->len = len;
	if (type == RULE_OUT_NULL)
		return 0;
	if (text_put(&out->values, v, len))
		return -ENOMEM;
	return text_put(&out->values, "", 1); /* each value NUL-terminated */
}

/* A value typed for JSON: strings and addresses quoted, numbers and booleans not. */
static int scalar_put(struct rule_alert *out, const char *name, const struct slot *s,
		      const struct rule_value *v)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *p;
	size_t n;

	switch (scalar_format(s, v, buf, sizeof(buf), &p, &n)) {
	case SCALAR_STRING:
		return field_put(out, name, RULE_OUT_STRING, p, n);
	case SCALAR_RAW:
		return field_put(out, name, RULE_OUT_RAW, p, n);
	default:
		return field_put(out, name, RULE_OUT_NULL, NULL, 0);
	}
}

static int slot_field(struct rule_engine *e, struct slot *s, void *event, struct rule_alert *out)
{
	int n = slot_fetch(e, s, event);
	struct json_buf j;
	int ret;

	if (!n)
		return field_put(out, s->ref.text, RULE_OUT_NULL, NULL, 0);
	if (!s->ref.multi)
		return scalar_put(out, s->ref.text, s, &s->vals[0]);
	json_init(&j);
	json_arr_begin(&j);
	for (int i = 0; i < n; i++)
		value_json(s, &s->vals[i], &j);
	json_arr_end(&j);
	ret = j.err ? -ENOMEM : field_put(out, s->ref.text, RULE_OUT_LIST, j.buf, j.len);
	json_free(&j);
	return ret;
}

static int time_field(struct rule_alert *out, uint64_t ts_ns)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, ts_ns);
	return field_put(out, "evt.time", RULE_OUT_RAW, buf, strlen(buf));
}

int rule_engine__format_alert(struct rule_engine *e, size_t rule_idx, uint32_t evtype, void *event,
			      uint64_t ts_ns, struct rule_alert *out)
{
	const struct crule *cr;
	bool time_done = false;
	int ret;

	if (!e->compiled || rule_idx >= e->n_crules || !e->crules[rule_idx].ops)
		return -EINVAL;
	cr = &e->crules[rule_idx];
	begin_format(e, evtype);
	out->output.len = 0;
	out->values.len = 0;
	out->n_fields = 0;
	ret = output_into(e, cr, event, ts_ns, &out->output);
	for (uint32_t i = 0; i < cr->n_ofields && !ret; i++) {
		struct slot *s = VEC_AT(e->slots, struct slot *, cr->ofields[i]);
		int c = strcmp(s->ref.text, "evt.time");

		if (!time_done && c >= 0) {
			time_done = true;
			if (c > 0)
				ret = time_field(out, ts_ns);
		}
		if (!ret)
			ret = slot_field(e, s, event, out);
	}
	if (!ret && !time_done)
		ret = time_field(out, ts_ns);
	if (!ret && !out->values.buf)
		ret = text_put(&out->values, "", 0);
	if (ret)
		return ret;
	for (size_t i = 0; i < out->n_fields; i++) {
		struct rule_out_field *f = &out->fields[i];

		f->value = f->type == RULE_OUT_NULL ? NULL : out->values.buf + (uintptr_t)f->value;
	}
	return 0;
}
