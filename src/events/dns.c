// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dns.c - the DNS message parser (RFC 1035 section 4). The bytes come from any
 * process on the host or from any server it talks to, so nothing in them is
 * trusted: every read is checked against the end, a compression pointer must
 * point before the place it was read from (so no loop is possible) and at most
 * DNS_JUMPS are followed, a name stops at 255 wire bytes, and at most
 * DNS_RR_SCANNED records are looked at.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dns.h"

struct rd {
	const uint8_t *p; /* the message */
	size_t len;	  /* its bytes */
	size_t pos;	  /* the next byte to read */
};

static bool rd_u16(struct rd *r, uint16_t *v)
{
	if (r->len - r->pos < 2 || r->pos > r->len)
		return false;
	*v = (uint16_t)(r->p[r->pos] << 8 | r->p[r->pos + 1]);
	r->pos += 2;
	return true;
}

static bool rd_u32(struct rd *r, uint32_t *v)
{
	uint16_t hi, lo;

	if (!rd_u16(r, &hi) || !rd_u16(r, &lo))
		return false;
	*v = (uint32_t)hi << 16 | lo;
	return true;
}

/* Appends one label byte in presentation form; out holds DNS_NAME_TEXT. */
static void put_byte(char *out, size_t *n, uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		c = c - 'A' + 'a';
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
		out[(*n)++] = (char)c;
	} else if (c == '.' || c == '\\') {
		out[(*n)++] = '\\';
		out[(*n)++] = (char)c;
	} else {
		*n += (size_t)snprintf(out + *n, 5, "\\%03u", c);
	}
}

struct name_info {
	uint16_t wire;	   /* bytes of the name, uncompressed */
	uint8_t max_label; /* its longest label */
	uint8_t labels;	   /* labels */
	size_t max_at;	   /* offset of the longest label's first byte in the message */
};

/*
 * Reads the name at r->pos into out (presentation form, NUL-terminated) and moves
 * r->pos past it (past the first pointer when compressed).
 */
static enum dns_error rd_name(struct rd *r, char *out, struct name_info *ni)
{
	size_t pos = r->pos, n = 0, after = 0, limit = r->pos;
	unsigned jumps = 0;
	struct name_info info = {0};

	out[0] = 0;
	for (;;) {
		uint8_t l;

		if (pos >= r->len)
			return DNS_ERR_SHORT;
		l = r->p[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (pos + 1 >= r->len)
				return DNS_ERR_SHORT;
			to = (size_t)(l & 0x3f) << 8 | r->p[pos + 1];
			/* backwards only: from where this part of the name began */
			if (to >= limit || ++jumps > DNS_JUMPS)
				return DNS_ERR_LOOP;
			if (!after)
				after = pos + 2;
			limit = to;
			pos = to;
			continue;
		}
		if (l & 0xc0)
			return DNS_ERR_NAME; /* 01 and 10: extended and reserved label types */
		if (l == 0) {
			info.wire++;
			pos++;
			break;
		}
		if (pos + 1 + l > r->len)
			return DNS_ERR_SHORT;
		if (info.wire + 1 + l > 254)
			return DNS_ERR_NAME;
		if (n)
			out[n++] = '.';
		for (uint8_t i = 0; i < l; i++)
			put_byte(out, &n, r->p[pos + 1 + i]);
		out[n] = 0;
		if (l > info.max_label) {
			info.max_label = l;
			info.max_at = pos + 1;
		}
		info.labels++;
		info.wire += 1 + l;
		pos += 1 + l;
	}
	r->pos = after ? after : pos;
	if (ni)
		*ni = info;
	return DNS_OK;
}

unsigned dns_entropy_x100(const uint8_t *s, size_t n)
{
	unsigned counts[256] = {0};
	double h = 0;

	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		counts[c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c]++;
	}
	for (size_t c = 0; c < 256; c++) {
		double q;

		if (!counts[c])
			continue;
		q = (double)counts[c] / (double)n;
		h -= q * log2(q);
	}
	return (unsigned)(h * 100 + 0.5);
}

/* Reads one resource record; keeps it in rr when rr is not NULL. */
static enum dns_error rd_rr(struct rd *r, struct dns_rr *rr)
{
	char skip[DNS_NAME_TEXT];
	uint16_t type, class, rdlen;
	uint32_t ttl;
	enum dns_error e;
	size_t end;

	e = rd_name(r, rr ? rr->name : skip, NULL);
	if (e)
		return e;
	if (!rd_u16(r, &type) || !rd_u16(r, &class) || !rd_u32(r, &ttl) || !rd_u16(r, &rdlen))
		return DNS_ERR_SHORT;
	if (rdlen > r->len - r->pos)
		return DNS_ERR_SHORT;
	end = r->pos + rdlen;
	if (rr) {
		rr->type = type;
		rr->ttl = ttl;
		rr->family = 0;
		rr->target[0] = 0;
		memset(rr->addr, 0, sizeof(rr->addr));
		if (type == 1 && rdlen == 4) {
			rr->family = 4;
			memcpy(rr->addr, r->p + r->pos, 4);
		} else if (type == 28 && rdlen == 16) {
			rr->family = 6;
			memcpy(rr->addr, r->p + r->pos, 16);
		} else if (type == 5) {
			struct rd sub = {r->p, end, r->pos};

			e = rd_name(&sub, rr->target, NULL);
			if (e)
				return e;
		}
	}
	r->pos = end;
	return DNS_OK;
}

enum dns_error dns_parse(const uint8_t *msg, size_t len, struct dns_msg *out)
{
	struct rd r = {msg, len, 0};
	uint16_t id, fl, qd, an, ns, ar, qclass;
	struct name_info ni;
	enum dns_error e;

	out->n_an = 0;
	out->cut = false;
	out->err = DNS_OK;
	out->qname[0] = 0;
	if (!rd_u16(&r, &id) || !rd_u16(&r, &fl) || !rd_u16(&r, &qd) || !rd_u16(&r, &an) ||
	    !rd_u16(&r, &ns) || !rd_u16(&r, &ar))
		return out->err = DNS_ERR_SHORT;
	out->id = id;
	out->response = fl & 0x8000;
	out->opcode = (fl >> 11) & 0xf;
	out->tc = fl & 0x0200;
	out->rcode = fl & 0xf;
	out->ancount = an;
	if (!qd)
		return out->err = DNS_ERR_NOQUEST;
	e = rd_name(&r, out->qname, &ni);
	if (e)
		return out->err = e;
	if (!rd_u16(&r, &out->qtype) || !rd_u16(&r, &qclass))
		return out->err = DNS_ERR_SHORT;
	out->qname_wire = ni.wire;
	out->max_label = ni.max_label;
	out->labels = ni.labels;
	out->entropy = (uint16_t)dns_entropy_x100(msg + ni.max_at, ni.max_label);
	/* further questions (no server sends them) are skipped over */
	for (unsigned i = 1; i < qd && i < DNS_RR_SCANNED; i++) {
		char skip[DNS_NAME_TEXT];

		e = rd_name(&r, skip, NULL);
		if (!e && (!rd_u16(&r, &qclass) || !rd_u16(&r, &qclass)))
			e = DNS_ERR_SHORT;
		if (e) {
			out->cut = true;
			out->err = e;
			return DNS_OK;
		}
	}
	for (unsigned i = 0; i < an && i < DNS_RR_SCANNED; i++) {
		struct dns_rr *rr = out->n_an < DNS_ANSWERS ? &out->an[out->n_an] : NULL;

		e = rd_rr(&r, rr);
		if (e) {
			out->cut = true;
			out->err = e;
			return DNS_OK;
		}
		if (rr)
			out->n_an++;
	}
	if (an > out->n_an)
		out->cut = true;
	return DNS_OK;
}

const char *dns_type_name(uint16_t type)
{
	switch (type) {
	case 1:
		return "A";
	case 2:
		return "NS";
	case 5:
		return "CNAME";
	case 6:
		return "SOA";
	case 12:
		return "PTR";
	case 13:
		return "HINFO";
	case 15:
		return "MX";
	case 16:
		return "TXT";
	case 28:
		return "AAAA";
	case 33:
		return "SRV";
	case 35:
		return "NAPTR";
	case 43:
		return "DS";
	case 46:
		return "RRSIG";
	case 48:
		return "DNSKEY";
	case 64:
		return "SVCB";
	case 65:
		return "HTTPS";
	case 99:
		return "SPF";
	case 252:
		return "AXFR";
	case 255:
		return "ANY";
	case 257:
		return "CAA";
	case 10:
		return "NULL";
	}
	return NULL;
}

const char *dns_rcode_name(uint8_t rcode)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					    "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
					    "NXRRSET", "NOTAUTH", "NOTZONE"};

	return rcode < sizeof(names) / sizeof(names[0]) ? names[rcode] : NULL;
}

const char *dns_error_name(enum dns_error e)
{
	switch (e) {
	case DNS_OK:
		return "ok";
	case DNS_ERR_SHORT:
		return "short";
	case DNS_ERR_LOOP:
		return "loop";
	case DNS_ERR_NAME:
		return "name";
	case DNS_ERR_NOQUEST:
		return "noquestion";
	}
	return "?";
}
