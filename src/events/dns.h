/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dns.h - a DNS message as vigil reads it: the question, the header's flags and
 * the answers (addresses, CNAME targets), parsed from untrusted bytes with every
 * step bounded (names, compression pointers, records). Names come out lower-case
 * in presentation form; bytes other than letters, digits, '-' and '_' are written
 * \DDD, a '.' inside a label "\.".
 */
#ifndef VIGIL_DNS_H
#define VIGIL_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_TEXT                                                                              \
	1024		  /* a name in presentation form, NUL included (255 wire                   \
			     bytes, each at most 4 characters) */
#define DNS_ANSWERS    16 /* answer records kept; more are counted, not kept */
#define DNS_JUMPS      32 /* compression pointers followed in one name */
#define DNS_RR_SCANNED 64 /* records looked at, in all sections, at most */

enum dns_error {
	DNS_OK = 0,
	DNS_ERR_SHORT = 1,   /* the message ends inside the header, a name or a record */
	DNS_ERR_LOOP = 2,    /* a compression pointer that does not point backwards, or
				too many of them */
	DNS_ERR_NAME = 3,    /* a name longer than 255 bytes, or a reserved label type */
	DNS_ERR_NOQUEST = 4, /* no question */
};

struct dns_rr {
	uint16_t type;		    /* RR type: 1 A, 28 AAAA, 5 CNAME, ... */
	uint32_t ttl;		    /* seconds */
	uint8_t family;		    /* 4 or 6 for A/AAAA, else 0 */
	uint8_t addr[16];	    /* A/AAAA: the address (IPv4 in the first 4 bytes) */
	char name[DNS_NAME_TEXT];   /* the owner name */
	char target[DNS_NAME_TEXT]; /* CNAME: the name it points to; else "" */
};

struct dns_msg {
	uint16_t id;		   /* transaction id */
	bool response;		   /* QR bit */
	uint8_t opcode;		   /* 0 QUERY */
	uint8_t rcode;		   /* 0 NOERROR, 3 NXDOMAIN, ... */
	bool tc;		   /* the server cut its answer (TC bit) */
	uint16_t qtype;		   /* the question's type */
	char qname[DNS_NAME_TEXT]; /* the question's name, "" for the root */
	uint16_t qname_wire;	   /* its length on the wire */
	uint8_t max_label;	   /* longest label of qname, in bytes */
	uint8_t labels;		   /* labels in qname */
	uint16_t entropy;	   /* dns_entropy_x100 of the longest label of qname */
	uint16_t ancount;	   /* answer records the header announces */
	size_t n_an;		   /* answer records parsed into an */
	struct dns_rr an[DNS_ANSWERS];
	bool cut;	    /* the answers stop early (short message, or more than
			       DNS_ANSWERS): what was parsed is kept */
	enum dns_error err; /* why the answers stopped early, DNS_OK when they did not */
};

/*
 * Parses len bytes of a DNS message (for TCP, after its 2-byte length). The header
 * and the question are required: without them, returns the error (and out->err).
 * A fault in the answer section keeps the records before it (out->cut, out->err)
 * and returns DNS_OK.
 */
enum dns_error dns_parse(const uint8_t *msg, size_t len, struct dns_msg *out);

/* "A", "AAAA", "TXT", ... or NULL for a type without a name here. */
const char *dns_type_name(uint16_t type);

/* "NOERROR", "NXDOMAIN", ... or NULL. */
const char *dns_rcode_name(uint8_t rcode);

/* "short", "loop", "name", "noquestion" */
const char *dns_error_name(enum dns_error e);

/*
 * The Shannon entropy of n bytes, in hundredths of a bit per byte: 40 random
 * base32 characters score about 450, an English word of 10 letters about 300.
 */
unsigned dns_entropy_x100(const uint8_t *s, size_t n);

#endif /* VIGIL_DNS_H */
