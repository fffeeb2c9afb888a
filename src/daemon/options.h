/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * options.h - option tables: each setting is declared once, as a row saying its
 * YAML key, its command-line flag, its type and range, its default (as written in
 * the file), its help line and where it is stored. One engine reads the rows for
 * the configuration file, the command line, --help and the docs, so the four can
 * not drift apart. Errors name the place (file:line:col or the flag), the key and
 * what would be accepted.
 */
#ifndef VIGIL_OPTIONS_H
#define VIGIL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct opt_ctx;

enum opt_type {
	OPT_END = 0,  /* ends a table */
	OPT_STR,      /* char *, owned */
	OPT_BOOL,     /* bool */
	OPT_FLAG,     /* command line only, no argument: sets a bool */
	OPT_UINT,     /* unsigned integer of .size bytes, from .min to .max */
	OPT_DOUBLE,   /* double, at least .min */
	OPT_DURATION, /* uint64_t ns: "500ms", "5s", "2m", "1h" */
	OPT_BYTES,    /* unsigned integer of .size bytes: "4096", "512K" (.max: 0 none) */
	OPT_PRIORITY, /* int, enum rule_priority */
	OPT_ENUM,     /* int: .min + index of the word in .words (case-insensitive) */
	OPT_LIST,     /* struct opt_list; a scalar is a list of one; a repeatable flag */
	OPT_KV,	      /* struct opt_kv_list: a mapping of strings (headers, labels) */
	OPT_TABLE,    /* a nested mapping whose keys are .sub, stored from .off */
	OPT_INLINE,   /* .sub's rows as if written here (keys shared by several tables) */
	OPT_CUSTOM,   /* .parse (a scalar) or .node (any YAML) does the work */
};

enum opt_flags {
	OPT_HIDDEN = 1 << 0, /* an alias: accepted, not listed */
	OPT_LATE = 1 << 1,   /* read after the other keys of its mapping */
	OPT_OPTARG = 1 << 2, /* the flag's argument is optional (--events[=FMT]) */
};

struct opt_list {
	char **items; /* owned strings */
	size_t n;     /* entries */
};

struct opt_kv {
	char *key;   /* header or label name */
	char *value; /* its value */
};

struct opt_kv_list {
	struct opt_kv *items; /* owned pairs */
	size_t n;	      /* entries */
};

struct opt {
	const char *key;	  /* YAML key; NULL: command line only */
	const char *flag;	  /* long flag without "--"; NULL: file only */
	char short_flag;	  /* one-letter flag, 0 for none */
	enum opt_type type;	  /* how the value is read and stored */
	unsigned base;		  /* which base pointer the offset applies to (0 or 1) */
	size_t off;		  /* where it is stored, from the base */
	size_t size;		  /* bytes of the stored integer (OPT_UINT, OPT_BYTES) */
	const char *def;	  /* default as written in the file; NULL: zero */
	const char *arg;	  /* argument name in --help ("BYTES"); NULL: from the type */
	const char *help;	  /* what it does, for --help and the docs */
	uint64_t min, max;	  /* range (OPT_UINT, OPT_BYTES); OPT_DOUBLE: min; ENUM: base */
	const char *const *words; /* OPT_ENUM: the values, NULL-terminated */
	const char *expected;	  /* OPT_ENUM, OPT_CUSTOM: "udp, tcp or unix", for messages */
	const struct opt *sub;	  /* OPT_TABLE, OPT_INLINE: the rows */
	/* OPT_CUSTOM scalar (also the command line): 0 or -EINVAL after opt_error */
	int (*parse)(struct opt_ctx *x, const struct opt *o, const char *s, void *base);
	/* OPT_CUSTOM with YAML that is not a scalar (v is a yaml_node_t *) */
	void (*node)(struct opt_ctx *x, const struct opt *o, void *v, void *base);
	/* OPT_CUSTOM: frees what parse or node stored (options__free calls it) */
	void (*release)(void *base);
	/* OPT_KV: rejects a bad name or value with opt_error; 0 or -EINVAL */
	int (*check_pair)(struct opt_ctx *x, const char *key, const char *value);
	/* OPT_TABLE: checks across its keys, once they are read */
	void (*validate)(struct opt_ctx *x, void *base);
	unsigned flags; /* enum opt_flags */
};

/* Where an error goes: file:line:col, or the command line. */
struct opt_ctx {
	const char *name;   /* file name; NULL: the command line */
	void *doc;	    /* yaml_document_t being read */
	void *map;	    /* yaml_node_t: mapping being read, for opt_error_key */
	const void *at;	    /* yaml_node_t: value being read */
	const char *label;  /* the key or "--flag" being read, for messages */
	bool cli;	    /* reading the command line */
	char *err;	    /* messages, one per line */
	size_t errlen;	    /* its size */
	size_t used;	    /* bytes written into err */
	int errors;	    /* problems found */
	void *const *bases; /* base pointers of the table being read */
};

/* A problem with the value being read (x->at / the flag): counted and written. */
void opt_error(struct opt_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A problem about key of the mapping being read (its value's place, else the mapping). */
void opt_error_key(struct opt_ctx *x, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets every row's default (rows of base `base` only; -1: all). 0 or -ENOMEM. */
int options__defaults(const struct opt *t, void *const *bases, int base);
/* Frees what the rows own (strings, lists, pairs) and zeroes them. */
void options__free(const struct opt *t, void *const *bases, int base);

/*
 * Reads YAML mapping node (yaml_node_t *) into the rows: unknown keys, duplicate
 * keys and bad values are errors in x; `what` names the mapping in messages ("an
 * output"), `where` in the unknown-key message ("a file output"). Rows with
 * OPT_LATE are read last. Then the table's validate (may be NULL) runs.
 */
void options__read_map(struct opt_ctx *x, const struct opt *t, void *node, const char *what,
		       const char *where, void (*validate)(struct opt_ctx *x, void *base));
/* Reads a YAML value for one row (used by custom nodes holding tables). */
void options__read_value(struct opt_ctx *x, const struct opt *o, void *node);
/* The node of key in mapping node, NULL if absent. */
void *options__map_get(struct opt_ctx *x, void *node, const char *key);

/* The row with this key (top level and inlined rows), NULL if none. */
const struct opt *options__find_key(const struct opt *t, const char *key);

/*
 * The command line: getopt_long over every flag in t (nested tables included).
 * With only (non-NULL) set, nothing else is applied: a first pass that fetches
 * that one flag's argument into *only_arg. Otherwise every flag but `skip` is
 * applied over what is stored: a list flag replaces the stored list at its first
 * use and appends after. Returns 0, 1 after --help (help printed to out), or
 * -EINVAL with the problems in x.
 */
int options__parse_argv(struct opt_ctx *x, const struct opt *t, int argc, char **argv,
			const char *only, const char **only_arg, const char *skip);

/* "  -e, --events[=FMT]  help" lines for every flag of t, wrapped at 80 columns. */
void options__print_help(const struct opt *t, FILE *out);
/* A Markdown table of t's YAML keys (key, type, default, meaning), prefix for nested. */
void options__print_markdown(const struct opt *t, const char *prefix, FILE *out);

/* Parsers shared with other callers. Each returns 0 or -EINVAL. */
int options__parse_duration(const char *s, uint64_t *ns); /* "1.5s", "250ms", "2m", "30" (s) */
int options__parse_size(const char *s, uint64_t *bytes);  /* "4096", "512K", "100M", "1G" */

#endif /* VIGIL_OPTIONS_H */
