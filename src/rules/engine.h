/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * engine.h - vigil's rule engine: Falco's rule language (lists, macros, rules,
 * exceptions, append/override) loaded from YAML, compiled to one flat op array per
 * rule, indexed by event type and evaluated without allocating.
 *
 * The engine is generic over events. It knows nothing of vigil's kernel records; the
 * host binds it to its events in three steps:
 *
 *  1. A field registry (struct rule_field_def[]): every field name rules may use,
 *     its type, which argument it takes and a host id. Examples:
 *        { "proc.name",  RULE_FT_STRING, RULE_FARG_NONE,  RULE_FF_COMM,    F_PROC_NAME }
 *        { "proc.pid",   RULE_FT_INT64,  RULE_FARG_NONE,  0,               F_PROC_PID }
 *        { "proc.aname", RULE_FT_STRING, RULE_FARG_INDEX, RULE_FF_MULTI | RULE_FF_COMM,
 *                                                                          F_PROC_ANAME }
 *        { "evt.arg",    RULE_FT_STRING, RULE_FARG_KEY,   RULE_FF_ARG_REQUIRED, F_EVT_ARG }
 *        { "fd.sip",     RULE_FT_IPADDR, RULE_FARG_NONE,  0,               F_FD_SIP }
 *     proc.aname[2] is an INDEX argument; evt.arg.flags and evt.arg[flags] are KEY
 *     arguments. A RULE_FF_MULTI field used without argument yields several values
 *     (proc.aname: every ancestor) and a comparison holds if it holds for any value.
 *     "evt.type" is built in: never list it. Rules compare it to the names of step 2.
 *
 *  2. The event types (struct rule_evtype_def[]): Falco syscall names the host can
 *     produce, each mapped to a host code (several names may share a code). Rules
 *     are indexed by these codes; a name the host lacks makes a comparison that
 *     never matches (reported as a warning, as the rule cannot fire for it).
 *
 *  3. A getter, called lazily during evaluation and rendering:
 *        int get(void *event, const struct rule_field_ref *ref,
 *                struct rule_value *out, int max);
 *     It fills up to max values (max is 1 unless the ref is multi-valued) and returns
 *     how many it wrote: 0 means "no value" (comparisons on it are false, `exists`
 *     is false, output shows <NA>); a negative return is treated as 0. Strings are
 *     (ptr, len), not copied: they must stay valid until the engine call that
 *     triggered the get returns. Each distinct ref is fetched at most once per event
 *     (ref->slot indexes the engine's per-event cache).
 *     An optional bind callback sees each distinct ref once at compile time to
 *     validate its argument (e.g. reject evt.arg.nosuch) and stash a pre-resolved
 *     handle in ref->host_data for the getter.
 *
 * Life cycle: rule_engine__new(opts), rule_engine__load_file() for each file in
 * order (later files append to / override earlier ones, as in Falco), then
 * rule_engine__compile(). Load and compile collect every diagnostic as
 * "file:line:col: error|warning: message". After a successful compile, evaluate
 * with rule_engine__eval(). A reload builds a new engine and swaps it in only if it
 * compiled, so a running agent keeps its old rules on error.
 *
 * Semantics follow Falco's, with these differences: a multi-valued field matches if
 * any value does, for every operator (Falco's `in` on list fields is containment);
 * macros and lists may be used before they are defined (recursion is an error);
 * `regex` is PCRE2, anchored at both ends (Falco: RE2, POSIX syntax); field
 * transformers (tolower(), val() on the left, ...) are not supported, val() on the
 * right is; unknown event type names warn instead of failing.
 *
 * Memory: load and compile allocate from an arena freed by rule_engine__free(); an
 * allocation failure while loading aborts the process with a message (rule loading
 * happens at start-up or reload, never on the event path). Evaluation and prefilter
 * matching never allocate. An engine is owned by one thread (the event loop).
 */
#ifndef VIGIL_RULES_ENGINE_H
#define VIGIL_RULES_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- binding: fields, event types, values ---- */

enum rule_ftype {
	RULE_FT_STRING = 1, /* bytes, compared bytewise */
	RULE_FT_INT64 = 2,  /* signed integer */
	RULE_FT_UINT64 = 3, /* unsigned integer */
	RULE_FT_BOOL = 4,   /* true / false */
	RULE_FT_IPADDR = 5, /* IPv4 or IPv6 address; constants may be CIDR networks */
	RULE_FT_IPNET = 6,  /* an address compared against networks ("10.0.0.0/8") */
};

enum rule_farg {
	RULE_FARG_NONE = 0,  /* no argument */
	RULE_FARG_INDEX = 1, /* proc.aname[2]: a non-negative integer */
	RULE_FARG_KEY = 2,   /* evt.arg.flags or evt.arg[flags]: a word */
};

#define RULE_FF_MULTI	     (1u << 0) /* without argument: several values, any may match */
#define RULE_FF_ARG_REQUIRED (1u << 1) /* using the field without its argument is an error */
#define RULE_FF_COMM	     (1u << 2) /* a task comm: at most RULE_COMM_MAX bytes */

/* The kernel's comm is TASK_COMM_LEN (16) bytes with its NUL: a literal longer than this
 * compared with a RULE_FF_COMM field cannot match as written (a warning, not an error). */
#define RULE_COMM_MAX 15

struct rule_field_def {
	const char *name;     /* "proc.name", lower-case dotted, at least one dot */
	enum rule_ftype type; /* value type */
	enum rule_farg arg;   /* argument kind */
	uint32_t flags;	      /* RULE_FF_* */
	uint32_t id;	      /* host id, echoed in each rule_field_ref */
};

struct rule_evtype_def {
	const char *name; /* Falco event name: "execve", "openat", "connect" */
	uint32_t code;	  /* host event code; keep codes small and dense */
};

/* One distinct use of a field by the loaded rules, handed to the getter. */
struct rule_field_ref {
	const struct rule_field_def *def; /* registry entry */
	uint32_t id;			  /* def->id */
	int32_t index;			  /* [N] argument, -1 if none */
	const char *key;		  /* key argument, NULL if none */
	bool multi;			  /* may yield several values (multi field, no arg) */
	uint32_t slot;			  /* dense index among refs, < rule_engine__ref_count() */
	const char *text;		  /* canonical spelling: "proc.aname[2]", "evt.arg.flags" */
	uint64_t host_data;		  /* free for the bind callback */
};

struct rule_ip {
	uint8_t family;	  /* 4 or 6 */
	uint8_t addr[16]; /* network order; IPv4 uses the first 4 bytes */
};

struct rule_value {
	union {
		struct {
			const char *ptr; /* not NUL-terminated necessarily */
			size_t len;	 /* bytes */
		} str;			 /* RULE_FT_STRING */
		int64_t i64;		 /* RULE_FT_INT64 */
		uint64_t u64;		 /* RULE_FT_UINT64 */
		bool b;			 /* RULE_FT_BOOL */
		struct rule_ip ip;	 /* RULE_FT_IPADDR, RULE_FT_IPNET */
	};
};

#define RULE_MAX_VALUES 32 /* values a multi-valued field may yield per event */

typedef int (*rule_get_fn)(void *event, const struct rule_field_ref *ref, struct rule_value *out,
			   int max);
/* Returns 0, or -errno after writing a reason into err (e.g. "unknown argument"). */
typedef int (*rule_bind_fn)(void *host, struct rule_field_ref *ref, char *err, size_t errlen);

/* ---- priorities ---- */

enum rule_priority {
	RULE_PRIO_ANY = 0, /* as a minimum: no filtering */
	RULE_PRIO_EMERGENCY = 1,
	RULE_PRIO_ALERT = 2,
	RULE_PRIO_CRITICAL = 3,
	RULE_PRIO_ERROR = 4,
	RULE_PRIO_WARNING = 5,
	RULE_PRIO_NOTICE = 6,
	RULE_PRIO_INFORMATIONAL = 7,
	RULE_PRIO_DEBUG = 8,
};

/* Falco's display name: "Emergency" ... "Informational", "Debug". */
const char *rule_priority__name(enum rule_priority p);
/* Case-insensitive; accepts "info" for informational. Returns 0 or -EINVAL. */
int rule_priority__parse(const char *s, enum rule_priority *out);

/* ---- engine ---- */

struct rule_engine_opts {
	const struct rule_field_def *fields;   /* registry; must outlive the engine */
	size_t n_fields;		       /* entries in fields */
	const struct rule_evtype_def *evtypes; /* event types; must outlive the engine */
	size_t n_evtypes;		       /* entries in evtypes */
	rule_get_fn get;		       /* value getter (required) */
	rule_bind_fn bind;		       /* optional compile-time ref validation */
	void *host;			       /* passed to bind */
	enum rule_priority min_priority;       /* skip rules less severe; ANY keeps all */
	bool unknown_field_warn; /* unknown field: warn and disable that rule, not an error */
	bool time_iso8601;	 /* output prefix uses RFC 3339 UTC, not local HH:MM:SS */
	bool no_guards;		 /* evaluate every rule of a type (no value index): for tests */
};

struct rule_engine;

struct rule_engine *rule_engine__new(const struct rule_engine_opts *opts);
void rule_engine__free(struct rule_engine *e);

/* Each returns 0, or -EINVAL when the file had errors (see diagnostics), -errno on I/O. */
int rule_engine__load_file(struct rule_engine *e, const char *path);
int rule_engine__load_buf(struct rule_engine *e, const char *name, const char *buf, size_t len);
/* Resolves macros, lists, fields, exceptions; builds the index. 0 or -EINVAL. */
int rule_engine__compile(struct rule_engine *e);

/* ---- diagnostics ---- */

enum rule_diag_level {
	RULE_DIAG_ERROR = 0,
	RULE_DIAG_WARNING = 1,
};

struct rule_diag {
	enum rule_diag_level level; /* error or warning */
	const char *file;	    /* file name as given to load */
	int line, col;		    /* 1-based; 0 when not tied to a place */
	const char *msg;	    /* what is wrong and, where useful, what to do */
};

size_t rule_engine__diag_count(const struct rule_engine *e);
const struct rule_diag *rule_engine__diag(const struct rule_engine *e, size_t i);
size_t rule_engine__error_count(const struct rule_engine *e);
/* "file:line:col: error: msg" into buf (snprintf semantics). */
int rule_diag__format(const struct rule_diag *d, char *buf, size_t len);
void rule_engine__print_diags(const struct rule_engine *e, FILE *out);

/*
 * Check mode: loads paths in order, compiles, prints every diagnostic to out (if
 * not NULL). Returns the number of errors (0: the files are good), or -errno.
 */
int rule_engine__check(const struct rule_engine_opts *opts, const char *const *paths, size_t n,
		       FILE *out);

/* ---- rules ---- */

/*
 * A YAML value kept as written, for vigil's extension keys (`actions`, `block_for`):
 * the loader stores it, the compiler hands it to respond/ (respond/action.h), which
 * types it. Scalars keep their text; a YAML null is an empty scalar.
 */
enum rule_node_kind {
	RULE_NODE_SCALAR = 0,
	RULE_NODE_SEQ = 1,
	RULE_NODE_MAP = 2,
};

struct rule_node {
	enum rule_node_kind kind; /* scalar, sequence or mapping */
	const char *scalar;	  /* SCALAR: the text */
	struct rule_node **items; /* SEQ: elements; MAP: key, value, key, value, ... */
	size_t n_items;		  /* entries in items */
	const char *file;	  /* where it was written */
	int line, col;		  /* 1-based */
};

struct action; /* respond/action.h */

/* A rule's `mode:` (vigil's extension): whether its actions are carried out. */
/* ---- stateful rules (vigil's extension: `threshold`, `aggregate`, `sequence`) ---- */

enum rule_state_kind {
	RULE_STATE_NONE = 0,	  /* a plain rule: each match is an alert */
	RULE_STATE_THRESHOLD = 1, /* `count` matches (or distinct values) within a window */
	RULE_STATE_AGGREGATE = 2, /* repeated matches merged into one alert per window */
	RULE_STATE_SEQUENCE = 3,  /* ordered steps by one process, process tree or container */
};

/* Who the steps of a sequence must come from. */
enum rule_seq_scope {
	RULE_SEQ_PROCESS = 0,	/* the same process (pid) */
	RULE_SEQ_TREE = 1,	/* the earlier step's process or one of its descendants */
	RULE_SEQ_CONTAINER = 2, /* the same container (the host counts as one) */
};

/* A step's `same:` entry: the previous step's field equals this step's. */
struct rule_same {
	const struct rule_field_ref *prev; /* field of the previous step's event */
	const struct rule_field_ref *cur;  /* field of this step's event */
};

struct rule_step {
	const char *condition;	      /* as written */
	const struct rule_same *same; /* correlations with the previous step */
	size_t n_same;		      /* entries in same */
};

/* A stateful rule's compiled keys (rule_info.state; NULL for plain rules). */
struct rule_stateful {
	enum rule_state_kind kind;		    /* which key */
	uint64_t within_ns;			    /* the window, in event time */
	uint64_t count;				    /* threshold: matches (or distinct values) */
	const struct rule_field_ref *const *by;	    /* threshold, aggregate: the group's fields */
	size_t n_by;				    /* entries in by */
	const struct rule_field_ref *distinct;	    /* threshold: count its distinct values */
	enum rule_seq_scope scope;		    /* sequence: whose steps join */
	const struct rule_step *steps;		    /* sequence: in order */
	size_t n_steps;				    /* entries in steps (2 or more) */
	const struct rule_field_ref *const *record; /* sequence: fields kept per step */
	size_t n_record;			    /* entries in record */
	uint64_t
	    fingerprint; /* of the compiled rule and keys: equal across engines iff unchanged */
};

/* The fields a sequence keeps of each step's event (those the registry has). */
#define RULE_STEP_FIELDS                                                                           \
	{                                                                                          \
		"evt.type", "proc.pid", "proc.name", "proc.exepath", "proc.cmdline", "fd.name"     \
	}

enum rule_mode {
	RULE_MODE_DEFAULT = 0, /* no key: the agent's --mode */
	RULE_MODE_ENFORCE = 1, /* act */
	RULE_MODE_MONITOR = 2, /* never act; alerts say what would have been done */
};

struct rule_info {
	const char *name;	      /* rule name */
	const char *desc;	      /* description ("" if none) */
	const char *condition;	      /* condition text, appends joined by spaces */
	const char *output;	      /* output template */
	enum rule_priority priority;  /* severity */
	const char *const *tags;      /* sorted, unique */
	size_t n_tags;		      /* entries in tags */
	bool enabled;		      /* `enabled` as finally written */
	bool active;		      /* compiled, enabled, at or above min priority: evaluated */
	const char *file;	      /* where the rule was (last) defined */
	int line, col;		      /* 1-based */
	bool all_evtypes;	      /* condition does not restrict evt.type */
	const uint32_t *evtypes;      /* sorted host codes, when !all_evtypes */
	size_t n_evtypes;	      /* entries in evtypes */
	const struct action *actions; /* typed `actions`, in the order written */
	size_t n_actions;	      /* entries in actions; 0 when none */
	enum rule_mode mode;	      /* the rule's `mode:` key */
	const struct rule_stateful *state; /* threshold, aggregate or sequence; NULL: none */
};

size_t rule_engine__rule_count(const struct rule_engine *e);
const struct rule_info *rule_engine__rule(const struct rule_engine *e, size_t i);
/* Index of the rule with that name, or -ENOENT. */
int rule_engine__rule_index(const struct rule_engine *e, const char *name);

/*
 * Distinct field refs used by conditions, exceptions and outputs (after compile):
 * what the host must be able to fetch. The built-in evt.type appears here (id
 * UINT32_MAX) when used, but is never passed to the getter.
 */
size_t rule_engine__ref_count(const struct rule_engine *e);
const struct rule_field_ref *rule_engine__ref(const struct rule_engine *e, size_t i);

/* ---- evaluation ---- */

/* Called for each matching rule, in load order. */
typedef void (*rule_match_fn)(void *arg, size_t rule_idx, const struct rule_info *rule);

/*
 * Runs the active rules indexed for evtype (a host code) against event, calling
 * on_match for each rule that matches. Returns the number of matches, or -EINVAL
 * before a compile. Never allocates; not re-entrant (do not call it from on_match).
 * Field values fetched here are reused by format calls made from the callback;
 * codes outside the event table run only the rules that do not test evt.type.
 */
int rule_engine__eval(struct rule_engine *e, uint32_t evtype, void *event, rule_match_fn on_match,
		      void *arg);

struct rule_text;

/*
 * Only from an on_match callback of rule_engine__eval (the event's values are
 * current): whether step `step` of the sequence rule rule_idx holds for the event.
 */
bool rule_engine__step_match(struct rule_engine *e, size_t rule_idx, size_t step, void *event);

/*
 * The text of ref's value(s) for the event (several joined by ',', none as "<NA>"),
 * appended to out. From an on_match callback the cached values are used. Returns the
 * number of values, or -ENOMEM.
 */
int rule_engine__ref_text(struct rule_engine *e, const struct rule_field_ref *ref, void *event,
			  struct rule_text *out);

/* ---- output ---- */

struct rule_text {
	char *buf;  /* heap, NUL-terminated */
	size_t len; /* bytes, without the NUL */
	size_t cap; /* bytes allocated */
};

void rule_text__free(struct rule_text *t);
/* Appends n bytes (kept NUL-terminated). 0 or -ENOMEM. */
int rule_text__append(struct rule_text *t, const char *p, size_t n);

/*
 * The rendered template alone (Falco's "message"): %field tokens replaced, missing
 * values as <NA>. evtype is the event's host code (for %evt.type). 0 or -ENOMEM.
 */
int rule_engine__format_message(struct rule_engine *e, size_t rule_idx, uint32_t evtype,
				void *event, struct rule_text *out);
/* Falco's text line: "<time>: <Priority> <message>"; ts_ns is the event's wall time. */
int rule_engine__format_output(struct rule_engine *e, size_t rule_idx, uint32_t evtype, void *event,
			       uint64_t ts_ns, struct rule_text *out);
/* How an output field's value is written in the alert's JSON. */
enum rule_out_type {
	RULE_OUT_STRING, /* value is the text itself, quoted */
	RULE_OUT_RAW,	 /* value is a JSON number or boolean, written as is */
	RULE_OUT_NULL,	 /* the event has no value: null; value is NULL */
	RULE_OUT_LIST,	 /* a multi-valued field: value is its JSON array, written as is */
};

/* One of an alert's output fields, rendered. */
struct rule_out_field {
	const char *name;	 /* canonical spelling: "proc.name", "proc.aname[2]" */
	const char *value;	 /* see type; NUL-terminated */
	size_t len;		 /* bytes in value; 0: strlen(value) */
	enum rule_out_type type; /* how value is written */
};

/* An alert's parts, rendered once from one match; reused across matches. */
struct rule_alert {
	struct rule_text output;       /* Falco's text line: "<time>: <Priority> <message>" */
	struct rule_out_field *fields; /* output_fields sorted by name, evt.time (ns) included */
	size_t n_fields;	       /* entries in fields */
	size_t cap;		       /* entries allocated */
	struct rule_text values;       /* the fields' values, end to end */
};

void rule_alert__free(struct rule_alert *a);

/*
 * One alert's parts (Falco's shape; the outputs render its JSON from them): the
 * text line, and every field named by the template, the condition and the
 * exceptions, typed, missing values null, multi-valued ones as arrays, plus
 * evt.time in ns, in name order. The pointers in out stay valid until the next
 * call with out. Returns 0, -EINVAL or -ENOMEM.
 */
int rule_engine__format_alert(struct rule_engine *e, size_t rule_idx, uint32_t evtype, void *event,
			      uint64_t ts_ns, struct rule_alert *out);

/* ---- kernel prefilter derivation ---- */

struct rule_pf_str {
	const char *ptr; /* NUL-terminated as well */
	size_t len;	 /* bytes */
};

/*
 * For one event type and one field: an over-approximation of the field values for
 * which any active rule indexed for that type could match. Events whose value is
 * outside it can be dropped in the kernel without changing any alert.
 */
struct rule_prefilter {
	enum rule_ftype type;		  /* the field's type */
	bool all;			  /* every value may match: no reduction */
	bool absent;			  /* a rule may match when the field has no value */
	size_t n_exact;			  /* strings: exact values */
	const struct rule_pf_str *exact;  /* sorted, none covered by a prefix */
	size_t n_prefix;		  /* strings: prefixes */
	const struct rule_pf_str *prefix; /* sorted, none covered by a shorter one */
	size_t n_num;			  /* integers: exact values */
	const uint64_t *num; /* sorted; INT64 fields store the value cast to uint64_t */
};

/*
 * field names a registry field without argument (e.g. "fd.name", "proc.name",
 * "fd.sport"), or two of the same type as "a|b" when both hold the same value for
 * evtype (a rule may test either: "fd.sport|fd.rport" on a connect). Only string and
 * integer fields reduce; other types give all. Returns
 * NULL with errno ENOENT (unknown field) or ENOMEM. Free with rule_prefilter__free.
 */
struct rule_prefilter *rule_engine__prefilter(const struct rule_engine *e, uint32_t evtype,
					      const char *field);

/*
 * The same with more known about the events. leaf_of: field is the last component
 * of this path field (fd.filename of fd.name), so the path field's comparisons
 * restrict it too; dir_of: likewise for the field of its directory. assume: boolean fields whose
 * value every event considered has (evt.is_open_write false for the opens of O_RDONLY); NULL fields
 * are unused.
 */
#define RULE_PF_ASSUME_MAX 2
struct rule_pf_opts {
	const char *leaf_of;
	const char *dir_of; /* a field holding the directory of field's path (fd.directory) */
	struct {
		const char *field;
		bool value;
	} assume[RULE_PF_ASSUME_MAX];
};
struct rule_prefilter *rule_engine__prefilter_with(const struct rule_engine *e, uint32_t evtype,
						   const char *field, const struct rule_pf_opts *o);
void rule_prefilter__free(struct rule_prefilter *pf);
/* Whether a value (NULL: field absent) passes the filter. */
bool rule_prefilter__match(const struct rule_prefilter *pf, const struct rule_value *v);

/* ---- conjunctions: rules a kernel can decide on its own ---- */

struct rule_net {
	uint8_t family;	  /* 4 or 6 */
	uint8_t bits;	  /* prefix length */
	uint8_t addr[16]; /* network order; IPv4 uses the first 4 bytes */
};

/*
 * One test of a conjunction: the field's value is in the union of the sets (or,
 * negated, outside it). A value that is absent satisfies the test exactly when
 * absent_ok says so (`not f in (...)` holds for a missing value, `f in (...)` and
 * `f != x` do not).
 */
struct rule_atom {
	const struct rule_field_ref *ref; /* the field (no argument, not multi-valued) */
	bool negated;			  /* the value must be outside the sets */
	bool absent_ok;			  /* an absent value satisfies the test */
	size_t n_exact;			  /* strings equal to one of */
	const struct rule_pf_str *exact;
	size_t n_prefix; /* strings that start with one of */
	const struct rule_pf_str *prefix;
	size_t n_num; /* integers equal to one of (INT64 values cast) */
	const uint64_t *num;
	size_t n_net; /* addresses inside one of */
	const struct rule_net *net;
	uint8_t bools; /* booleans: bit 0 false is in the set, bit 1 true is */
};

/*
 * A rule's resolved condition (macros, lists and exceptions in) as an `and` of
 * tests, each on one field, when it is one: evt.type tests become the event set,
 * `or` of tests on the same field and `not` of such a test are one test. why is
 * NULL then; otherwise it says what is not a conjunction ("'or' across fields
 * proc.name and fd.name", "'contains' on proc.cmdline") and n_atoms is 0.
 */
struct rule_conj {
	const char *why;	       /* NULL: a conjunction */
	bool all_evtypes;	       /* no evt.type test */
	size_t n_evtypes;	       /* event codes allowed, when !all_evtypes */
	const uint32_t *evtypes;       /* sorted */
	size_t n_atoms;		       /* tests */
	const struct rule_atom *atoms; /* in the order written */
};

/* NULL with errno (ENOENT: no such rule; EINVAL: not compiled; ENOMEM). */
struct rule_conj *rule_engine__conjunction(const struct rule_engine *e, size_t rule_idx);
void rule_conj__free(struct rule_conj *c);

#endif /* VIGIL_RULES_ENGINE_H */
