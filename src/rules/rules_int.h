/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rules_int.h - internals shared by the rule engine's files. Reading order:
 * the arena and small containers, positions and diagnostics, the definitions the
 * YAML loader collects (lists, macros, rules), the condition AST the parser builds,
 * the resolved tree (RT) the compiler derives from it (macros inlined, lists
 * expanded, fields typed, constants prepared), and the flat op array one switch
 * evaluates. Nothing here is visible outside src/rules/.
 */
#ifndef VIGIL_RULES_INT_H
#define VIGIL_RULES_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/engine.h"

/* ---- arena: every load/compile-time object lives here until rule_engine__free ---- */

struct arena_chunk;

struct arena {
	struct arena_chunk *head; /* newest chunk first */
};

void *ar_alloc(struct arena *a, size_t n); /* zeroed, 16-byte aligned; aborts on OOM */
char *ar_strndup(struct arena *a, const char *s, size_t n);
char *ar_strdup(struct arena *a, const char *s);
char *ar_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *ar_vprintf(struct arena *a, const char *fmt, va_list ap);
void ar_release(struct arena *a);
void *x_realloc(void *p, size_t n); /* realloc that aborts on OOM */

/* Growable array in the arena; old blocks stay in the arena until it is released. */
struct vec {
	void *v;      /* elements */
	uint32_t n;   /* used */
	uint32_t cap; /* allocated */
};

void *vec_push(struct arena *a, struct vec *v, size_t esz); /* zeroed new element */
#define VEC_AT(vec, type, i) (((type *)(vec).v)[i])

uint64_t hash_bytes(const void *p, size_t n);

/* Name -> pointer map (open addressing, arena-backed). */
struct strmap_ent;

struct strmap {
	struct strmap_ent *ents; /* cap entries */
	uint32_t n;		 /* used */
	uint32_t cap;		 /* power of two, 0 when empty */
};

void *strmap_get(const struct strmap *m, const char *k, size_t n);
void strmap_put(struct arena *a, struct strmap *m, const char *k, size_t n, void *val);

/* ---- positions and diagnostics ---- */

struct rpos {
	const char *file; /* interned file name */
	int line, col;	  /* 1-based; 0 when unknown */
};

/* A loaded file: kept whole so condition offsets can be mapped back to line:col. */
struct rsrc {
	const char *name; /* as given to load */
	const char *text; /* contents, NUL-terminated */
	size_t len;	  /* bytes */
	size_t *line_off; /* byte offset of each line start */
	uint32_t n_lines; /* entries in line_off */
};

enum seg_style {
	SEG_PLAIN = 0,	/* plain scalar */
	SEG_SQUOTE = 1, /* 'single quoted' */
	SEG_DQUOTE = 2, /* "double quoted" */
	SEG_BLOCK = 3,	/* | or > block scalar */
	SEG_NOSRC = 4,	/* synthesized text: every offset maps to pos */
};

/* One YAML scalar of condition or output text; appends add more segments. */
struct cseg {
	const char *text;	/* scalar value */
	size_t len;		/* bytes */
	const struct rsrc *src; /* file it came from */
	struct rpos pos;	/* where the scalar starts (its first char or indicator) */
	enum seg_style style;	/* how to walk the source */
};

/* Maps offsets in segments joined by single spaces back to file positions. */
struct posmap {
	const struct cseg *segs; /* segments */
	uint32_t n;		 /* entries in segs */
	size_t *starts;		 /* offset of each segment in the joined text */
	uint32_t c_seg;		 /* cursor: segment of the last lookup */
	size_t c_k;		 /* cursor: non-blank value chars passed */
	size_t c_src;		 /* cursor: byte in the source */
	int c_line, c_col;	 /* cursor: position of c_src */
	bool c_valid;		 /* cursor usable */
};

char *posmap_init(struct posmap *pm, struct arena *a, const struct cseg *segs, uint32_t n,
		  size_t *len);
void posmap_get(struct posmap *pm, size_t off, struct rpos *out);

struct rule_engine;

void rdiag(struct rule_engine *e, enum rule_diag_level lvl, const struct rpos *pos, const char *fmt,
	   ...) __attribute__((format(printf, 4, 5)));

/* ---- definitions collected by the loader ---- */

struct item_str {
	const char *s;	 /* text as written in YAML */
	size_t len;	 /* bytes */
	struct rpos pos; /* where */
};

struct list_def {
	const char *name; /* list name */
	struct vec items; /* struct item_str */
	struct rpos pos;  /* last definition */
	uint8_t visiting; /* expansion in progress (cycle guard) */
};

struct macro_def {
	const char *name; /* macro name */
	struct vec segs;  /* struct cseg: condition, appends */
	struct rpos pos;  /* last definition */
	struct ast *ast;  /* parsed condition, NULL until parsed or on error */
	int8_t state;	  /* 0 unparsed, 1 parsed, -1 broken (reported) */
	uint8_t color;	  /* DFS color for recursion checks */
};

/* An exception entry: a scalar, or a list of entries (tuple, or value list). */
struct exc_entry {
	bool is_list;	      /* list rather than scalar */
	struct item_str item; /* scalar */
	struct vec items;     /* struct exc_entry, when is_list */
	struct rpos pos;      /* where */
};

struct exc_def {
	const char *name;	 /* exception name */
	struct rpos pos;	 /* where */
	bool has_fields;	 /* fields given */
	struct exc_entry fields; /* one field, or list of fields */
	bool has_comps;		 /* comps given */
	struct exc_entry comps;	 /* one operator, or list */
	struct vec values;	 /* struct exc_entry */
};

struct rule_def {
	const char *name;		 /* rule name */
	struct rpos pos;		 /* where (last) defined */
	const char *desc;		 /* description */
	struct vec cond;		 /* struct cseg */
	struct vec output;		 /* struct cseg */
	enum rule_priority prio;	 /* severity */
	struct vec tags;		 /* const char * */
	bool enabled;			 /* enabled key */
	struct vec excs;		 /* struct exc_def */
	bool skip_unknown;		 /* skip-if-unknown-filter */
	bool other_source;		 /* source is not syscall: kept for appends, not compiled */
	const struct rule_node *actions; /* raw actions */
	const struct rule_node *block_for; /* raw block_for (the block action's duration) */
	const struct rule_node *mode;	   /* raw mode (enforce or monitor) */
	const struct rule_node *threshold; /* raw threshold (state.c) */
	const struct rule_node *aggregate; /* raw aggregate (state.c) */
	const struct rule_node *sequence;  /* raw sequence (state.c) */
	struct vec step_conds;		   /* struct vec of struct cseg: each step's condition */
};

/* ---- condition language ---- */

enum cmp_op {
	CMP_NONE = 0,
	CMP_EQ,
	CMP_NE,
	CMP_LT,
	CMP_LE,
	CMP_GT,
	CMP_GE,
	CMP_CONTAINS,
	CMP_ICONTAINS,
	CMP_BCONTAINS,
	CMP_STARTSWITH,
	CMP_BSTARTSWITH,
	CMP_ENDSWITH,
	CMP_GLOB,
	CMP_IGLOB,
	CMP_REGEX,
	CMP_IN,
	CMP_INTERSECTS,
	CMP_PMATCH,
	CMP_EXISTS,
	CMP__COUNT,
};

const char *cmp_op_name(enum cmp_op op);
enum cmp_op cmp_op_lookup(const char *s, size_t n); /* CMP_NONE if unknown */
bool cmp_op_takes_list(enum cmp_op op);

/* Lexer: context-dependent, as Falco's grammar is (bare values may hold '[', ':', '!'). */
enum tok_kind {
	TK_EOF = 0,
	TK_LPAREN,
	TK_RPAREN,
	TK_COMMA,
	TK_AND,
	TK_OR,
	TK_NOT,
	TK_IDENT, /* macro or list name: no dot */
	TK_FIELD, /* dotted name, optional [arg] */
	TK_OP,	  /* comparison operator */
	TK_STR,	  /* quoted string, unescaped */
	TK_BARE,  /* bare word value */
	TK_ERR,	  /* lexical error: tok.err says why */
};

struct tok {
	enum tok_kind kind; /* what */
	size_t off;	    /* start offset in the input */
	size_t end;	    /* offset just past it */
	const char *text;   /* TK_IDENT/FIELD: name; STR/BARE: value (arena) */
	size_t len;	    /* bytes in text */
	const char *arg;    /* TK_FIELD: text inside [...], NULL if none */
	size_t arg_off;	    /* TK_FIELD: offset of the argument */
	enum cmp_op op;	    /* TK_OP */
	const char *err;    /* TK_ERR: message */
};

struct lexer {
	const char *s;	 /* input */
	size_t len;	 /* bytes */
	size_t pos;	 /* next byte */
	struct arena *a; /* for unescaped strings */
};

void lex_init(struct lexer *lx, struct arena *a, const char *s, size_t len);
void lex_expr(struct lexer *lx, struct tok *t);	 /* '(' ')' and/or/not, names, EOF */
void lex_op(struct lexer *lx, struct tok *t);	 /* an operator */
void lex_value(struct lexer *lx, struct tok *t); /* '(' ')' ',' quoted or bare value */
/* Unescapes a quoted string s[0..n) including its quotes. NULL + *err on failure. */
char *lex_unquote(struct arena *a, const char *s, size_t n, size_t *out_len, const char **err,
		  size_t *err_off);
/* Parses "name" or "name[arg]" fully (exception fields). false if malformed. */
bool lex_field_text(struct arena *a, const char *s, size_t n, const char **name, const char **arg);

enum ast_kind {
	AST_AND = 1,
	AST_OR,
	AST_NOT,
	AST_CMP,
	AST_MACRO,
	AST_BOOL,
};

struct ast_field {
	const char *name; /* dotted name as written */
	const char *arg;  /* text inside [...], NULL if none */
	struct rpos pos;  /* where */
};

struct ast_val {
	const char *text; /* unescaped value */
	size_t len;	  /* bytes */
	bool quoted;	  /* quoted: never a list name */
	struct rpos pos;  /* where */
};

struct rnode;

struct ast {
	enum ast_kind kind; /* node type */
	struct rpos pos;    /* where the node starts */
	union {
		struct {
			struct ast **kids; /* operands */
			uint32_t n;	   /* entries in kids */
		} bin;			   /* AST_AND, AST_OR */
		struct ast *kid;	   /* AST_NOT */
		struct {
			struct ast_field field; /* left side */
			enum cmp_op op;		/* operator */
			bool list;		/* right side is a list (vals) */
			bool list_name;		/* `in name`: vals[0] must name a list */
			struct ast_val *vals;	/* values */
			uint32_t n_vals;	/* entries in vals */
			struct ast_field *rhs;	/* val(field) right side, or NULL */
			int8_t state;		/* compile cache: 0 todo, 1 ok, -1 failed */
			bool unknown_field;	/* failed because a field is unknown */
			bool reported;		/* that failure was reported as an error */
			const char *bad_field;	/* that field */
			struct rnode *rt;	/* compiled leaf, when state == 1 */
		} cmp;				/* AST_CMP */
		struct {
			const char *name; /* macro name */
		} macro;		  /* AST_MACRO */
		bool value;		  /* AST_BOOL */
	};
};

/* Parses a condition; NULL after reporting diagnostics. what: "rule 'x'", for messages. */
struct ast *cond_parse(struct rule_engine *e, const struct cseg *segs, uint32_t n,
		       const char *what);
/* Builds a comparison node (used for exceptions). */
struct ast *ast_new(struct arena *a, enum ast_kind kind, const struct rpos *pos);

/* ---- compiled form ---- */

enum const_kind {
	K_STR = 1,  /* string / bytes */
	K_I64,	    /* signed integer */
	K_U64,	    /* unsigned integer */
	K_BOOL,	    /* boolean */
	K_NET,	    /* address or network */
	K_STRSET,   /* hash set of strings */
	K_PREFIXES, /* sorted prefixes: startswith any */
	K_PMATCH,   /* path prefixes with component boundaries, maybe globs */
	K_NUMSET,   /* sorted integers */
	K_BOOLSET,  /* bit 0 false, bit 1 true */
	K_NETSET,   /* networks */
	K_REGEX,    /* compiled PCRE2 pattern */
	K_EVSET,    /* bitset of event codes */
};

struct rstr {
	const char *p; /* bytes, NUL-terminated too */
	size_t n;      /* length */
};

struct rnet {
	uint8_t family;	  /* 4 or 6 */
	uint8_t bits;	  /* prefix length */
	uint8_t addr[16]; /* network order */
};

struct strset {
	struct rstr *slots; /* cap slots, p NULL when empty */
	uint64_t *hashes;   /* hash per slot */
	uint32_t cap;	    /* power of two */
	uint32_t n;	    /* stored strings */
	uint64_t lens;	    /* bit l: some member is l bytes long (bit 63: 63 or more) */
};

/* A node of a prefix set's byte trie: its children are contiguous, sorted by byte. */
struct pnode {
	uint32_t kids;	 /* index of the first child */
	uint32_t term;	 /* index + 1 in v of the prefix that ends here, 0 for none */
	uint16_t n_kids; /* children */
	uint8_t byte;	 /* the byte that leads here from the parent */
};

struct prefixes {
	struct rstr *v;	    /* sorted bytewise, no duplicates */
	uint32_t n;	    /* entries */
	struct pnode *trie; /* prefixes_index(): node 0 is the root; NULL: search v */
};

struct pmatch_glob {
	struct rstr pat;  /* pattern, trailing '/' removed */
	size_t lit;	  /* bytes before the first wildcard */
	uint32_t slashes; /* '/' in pat: a match has as many (FNM_PATHNAME) */
};

struct pmatch {
	struct strset exact;	   /* literal prefixes, trailing '/' removed */
	struct pmatch_glob *globs; /* prefixes with wildcards */
	uint32_t n_globs;	   /* entries in globs */
};

struct rconst {
	enum const_kind kind; /* which member */
	union {
		struct rstr s;	      /* K_STR (lower-cased for icontains, bytes for b*) */
		int64_t i64;	      /* K_I64 */
		uint64_t u64;	      /* K_U64 */
		bool b;		      /* K_BOOL */
		struct rnet net;      /* K_NET */
		struct strset *set;   /* K_STRSET */
		struct prefixes *pfx; /* K_PREFIXES */
		struct pmatch *pm;    /* K_PMATCH */
		struct {
			uint64_t *v; /* sorted (as int64 for signed fields) */
			uint32_t n;  /* entries */
		} nums;		     /* K_NUMSET */
		uint8_t bools;	     /* K_BOOLSET */
		struct {
			struct rnet *v; /* networks */
			uint32_t n;	/* entries */
		} nets;			/* K_NETSET */
		struct {
			pcre2_code *code;     /* compiled, anchored both ends */
			pcre2_match_data *md; /* preallocated */
		} re;			      /* K_REGEX */
		const uint64_t *ev;	      /* K_EVSET: bitset words */
	};
	const char *text; /* source text, for the prefilter and messages */
};

enum rnode_kind {
	RN_AND = 1,
	RN_OR,
	RN_NOT,
	RN_CMP,	 /* field op constant */
	RN_CMPF, /* field op val(field) */
	RN_EVT,	 /* event code in set */
	RN_TRUE,
	RN_FALSE,
};

/* Resolved tree: what the op array is generated from and what analyses read. */
struct rnode {
	enum rnode_kind kind; /* node type */
	enum cmp_op op;	      /* RN_CMP, RN_CMPF */
	uint32_t slot;	      /* field slot */
	uint32_t arg;	      /* const index (CMP, EVT) or right slot (CMPF) */
	uint32_t memo;	      /* RN_CMP: its cell in the engine's memo, 0 for none */
	struct rnode **kids;  /* AND/OR operands, NOT operand */
	uint32_t n;	      /* entries in kids */
};

enum opcode {
	OPC_END = 0, /* return acc */
	OPC_CMP,     /* acc = slot op const */
	OPC_CMPF,    /* acc = slot op slot */
	OPC_EXISTS,  /* acc = slot has a value */
	OPC_EVT,     /* acc = event code in set */
	OPC_NOT,     /* acc = !acc */
	OPC_JF,	     /* if !acc goto a */
	OPC_JT,	     /* if acc goto a */
	OPC_TRUE,    /* acc = true */
	OPC_FALSE,   /* acc = false */
};

struct op {
	uint8_t code;  /* enum opcode */
	uint8_t cmp;   /* enum cmp_op */
	uint16_t pad;  /* keeps a and b aligned */
	uint32_t a;    /* slot or jump target */
	uint32_t b;    /* const index or second slot */
	uint32_t memo; /* OPC_CMP: the memo cell its answer is kept in, 0 for none */
};

/* One comparison's answer for the event of generation gen (rule_run()). */
struct memo_cell {
	uint64_t gen; /* event generation the answer is for */
	bool val;     /* the answer */
};

/* A distinct field use, with the per-event value cache. */
struct slot {
	struct rule_field_ref ref; /* what the getter sees */
	enum rule_ftype type;	   /* value type */
	bool evtype;		   /* the built-in evt.type */
	uint64_t gen;		   /* event generation the cache holds */
	int n;			   /* cached values */
	struct rule_value *vals;   /* 1 or RULE_MAX_VALUES entries */
};

/* Output template piece: literal text or a field. */
struct otok {
	const char *lit; /* literal text, or NULL for a field */
	size_t len;	 /* literal bytes */
	uint32_t slot;	 /* field slot */
	uint32_t width;	 /* %20field: pad/truncate to width, 0 for none */
};

struct crule {
	struct rule_info info;	     /* public view */
	struct rule_def *def;	     /* definition */
	struct rnode *rt;	     /* resolved condition with exceptions */
	struct op *ops;		     /* program */
	uint32_t n_ops;		     /* entries in ops */
	struct otok *otoks;	     /* output template */
	uint32_t n_otoks;	     /* entries in otoks */
	uint32_t *ofields;	     /* output_fields slots, sorted by their text */
	uint32_t n_ofields;	     /* entries in ofields */
	struct rule_stateful *state; /* threshold, aggregate, sequence; NULL: a plain rule */
	struct op **step_ops;	     /* sequence: each step's program */
	struct ast **step_ast;	     /* sequence: each step's parsed condition (compile time) */
};

struct rule_engine {
	struct rule_engine_opts opts; /* as given */
	struct arena ar;	      /* everything below lives here */

	struct vec diags; /* struct rule_diag */
	size_t n_errors;  /* error diagnostics */
	bool file_failed; /* the file being loaded had an error */

	struct strmap fieldmap;	 /* name -> const struct rule_field_def * */
	struct strmap evmap;	 /* event name -> (uintptr_t)code + 1 */
	uint32_t n_codes;	 /* max code + 1 */
	uint32_t ev_words;	 /* uint64 words in an event bitset */
	const char **code_names; /* first name per code, for %evt.type */
	size_t *code_name_lens;	 /* their lengths */

	struct vec rules;	 /* struct rule_def *, in first-definition order */
	struct vec macros;	 /* struct macro_def * */
	struct vec lists;	 /* struct list_def * */
	struct strmap rule_map;	 /* name -> struct rule_def * */
	struct strmap macro_map; /* name -> struct macro_def * */
	struct strmap list_map;	 /* name -> struct list_def * */

	bool compiled;		/* compile ran */
	struct crule *crules;	/* compiled rules (syscall source), in order */
	uint32_t n_crules;	/* entries in crules */
	struct vec slots;	/* struct slot * */
	struct strmap slot_map; /* canonical ref text -> struct slot * */
	struct vec consts;	/* struct rconst */
	struct vec regexes;	/* struct rconst * holding PCRE2 objects to free */
	struct strmap cmp_map;	/* comparison as written -> (uintptr_t)memo cell */
	struct vec cmp_consts;	/* per memo cell: its const index; cell 0 unused */
	struct memo_cell *memo; /* cmp_consts.n cells, once compiled */
	struct vec mstack;	/* struct macro_def *: expansion stack */
	uint32_t *idx_off;	/* per code: start in idx_rules; n_codes + 1 entries */
	uint32_t *idx_rules;	/* rule indexes grouped by code */
	uint32_t *idx_any;	/* rules for codes outside the table */
	uint32_t n_idx_any;	/* entries in idx_any */

	struct code_guards *guards; /* per code (n_codes): rules run only if their field allows */
	uint8_t *idx_guarded;	    /* parallel to idx_rules: the rule has a guard */
	uint64_t *mark;		    /* per crule: the gen in which its guard let it run */

	uint64_t gen;	   /* bumps per evaluated event: invalidates slot caches */
	bool in_eval;	   /* inside rule_engine__eval: caches are current */
	uint32_t cur_code; /* event code being evaluated */
};

/*
 * Guards (prefilter.c): a rule of a code whose condition can only hold when one string
 * field's value is one of some exact strings or starts with one of some prefixes (the
 * prefilter's analysis of that rule alone) is evaluated only for events whose value is
 * there. One group per field; an event looks its values up once per group, so rules
 * that cannot match an event cost it nothing.
 */
struct guard_pfx {
	struct rstr p;	   /* a prefix */
	struct vec *rules; /* crule indexes */
};

struct guard_group {
	uint32_t slot;		 /* the field's slot */
	struct strmap exact;	 /* value -> struct vec * of crule indexes */
	struct strmap prefix;	 /* prefix -> struct vec *, while the group is built */
	struct vec pfx;		 /* struct guard_pfx, while the group is built */
	struct prefixes pfx_set; /* the prefixes, sorted bytewise */
	struct vec **pfx_rules;	 /* parallel to pfx_set.v: their crule indexes */
};

#define GUARD_GROUPS_MAX 4

struct code_guards {
	struct guard_group groups[GUARD_GROUPS_MAX];
	uint32_t n_groups;
};

void guards_build(struct rule_engine *e);
void guards_mark(struct rule_engine *e, uint32_t code, void *event);

/* loader.c */
int loader_load(struct rule_engine *e, const char *name, const char *buf, size_t len);
void src_pos_of(const struct rsrc *src, int line, int col, size_t *off);

/* compile.c */
int compile_all(struct rule_engine *e);

static inline struct rconst *const_at(struct rule_engine *e, uint32_t i)
{
	return &((struct rconst *)e->consts.v)[i];
}

/* Resolves "name"/"name[arg]"/"name.key" to a slot; NULL with *err set if unknown. */
struct slot *slot_resolve(struct rule_engine *e, const char *name, const char *arg, bool *unknown,
			  const char **err);

/* sets.c */
void strset_build(struct arena *a, struct strset *s, const struct rstr *v, uint32_t n);
bool strset_has(const struct strset *s, const char *p, size_t n);
struct prefixes *prefixes_build(struct arena *a, const struct rstr *v, uint32_t n);
void prefixes_index(struct arena *a, struct prefixes *ps);
bool prefixes_match(const struct prefixes *ps, const char *p, size_t n);
uint32_t prefixes_each(const struct prefixes *ps, const char *p, size_t n,
		       void (*fn)(void *arg, uint32_t i), void *arg);
struct pmatch *pmatch_build(struct arena *a, const struct rstr *v, uint32_t n);
bool pmatch_match(const struct pmatch *pm, const char *p, size_t n);
bool glob_match(const char *pat, size_t pn, const char *s, size_t sn, bool icase);
size_t glob_literal_prefix(const char *pat, size_t pn, bool *has_meta);
bool net_contains(const struct rnet *net, const struct rule_ip *ip);
int rstr_cmp(const struct rstr *a, const struct rstr *b);
int num_cmp_u64(const void *a, const void *b); /* qsort comparators */
int num_cmp_i64(const void *a, const void *b);

/* Active rules indexed for an event code, in load order. */
static inline const uint32_t *rules_for(const struct rule_engine *e, uint32_t evtype, uint32_t *n)
{
	if (evtype >= e->n_codes) {
		*n = e->n_idx_any;
		return e->idx_any;
	}
	*n = e->idx_off[evtype + 1] - e->idx_off[evtype];
	return e->idx_rules + e->idx_off[evtype];
}

/* eval.c */
int slot_fetch_slow(struct rule_engine *e, struct slot *s, void *event);

/* Values of a slot for the current event: from the cache, or from the getter once. */
static inline int slot_fetch(struct rule_engine *e, struct slot *s, void *event)
{
	return s->gen == e->gen ? s->n : slot_fetch_slow(e, s, event);
}

/* state.c: the stateful keys. state_parse types them (and parses the steps' conditions)
 * before the rule's condition is resolved; *cond (NULL: none written) becomes the rule's
 * whole condition for a sequence (its own `condition` and any step). state_fingerprint
 * hashes the compiled rule, its steps' trees and its keys. */
int state_parse(struct rule_engine *e, struct crule *cr, struct ast **cond);
void state_fingerprint(struct rule_engine *e, struct crule *cr, struct rnode *const *step_rt);

/* output.c */
/* Parses the rule's output template. An unknown field fails it: as an error, or
 * (lenient) silently with *unknown and *pos set for the caller's warning. */
int output_compile(struct rule_engine *e, struct crule *cr, bool lenient, const char **unknown,
		   struct rpos *pos);

#endif /* VIGIL_RULES_INT_H */
