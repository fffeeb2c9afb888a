// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sink_stdout.c - alerts on standard output: Falco's text line on a terminal, the
 * JSON object per line otherwise (or as configured). Each line goes out in one
 * locked stdio call, so it never interleaves with the agent's own event stream.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "output/sink.h"

static int stdout_init(struct sink *s, char *err, size_t errlen)
{
	const struct stdout_settings *c = s->cfg->settings;
	enum sink_format f = c->format;

	if (f == SINK_FMT_AUTO)
		f = isatty(STDOUT_FILENO) ? SINK_FMT_TEXT : SINK_FMT_JSON;
	s->priv = (void *)(uintptr_t)f;
	return 0;
}

static size_t stdout_deliver(struct sink *s, struct alert *const *recs, size_t n)
{
	bool text = (enum sink_format)(uintptr_t)s->priv == SINK_FMT_TEXT;
	size_t done = 0;
	int err = 0;

	flockfile(stdout);
	for (size_t i = 0; i < n; i++) {
		const char *line = text ? recs[i]->output : recs[i]->json;
		size_t len = text ? strlen(line) : recs[i]->json_len;

		if (fwrite_unlocked(line, 1, len, stdout) != len ||
		    putc_unlocked('\n', stdout) == EOF) {
			err = errno;
			break;
		}
		done++;
	}
	if (fflush_unlocked(stdout) && !err) {
		err = errno;
		done = 0; /* unknown how much reached the reader */
	}
	clearerr_unlocked(stdout);
	funlockfile(stdout);
	if (done < n)
		sink__failed(s, n - done, "io", "cannot write to standard output: %s",
			     strerror(err ? err : EIO));
	else
		sink__ok(s);
	return done;
}

static const char *const formats[] = {"auto", "json", "text", NULL};

static const struct opt stdout_keys[] = {
    {.key = "format",
     .type = OPT_ENUM,
     .off = offsetof(struct stdout_settings, format),
     .words = formats,
     .expected = "auto, json or text",
     .def = "auto",
     .help = "`text` (Falco's text line) or `json` (one object per line); `auto`: text on a "
	     "terminal"},
    {0},
};

static const char *const reasons[] = {"io", NULL};

const struct sink_desc sink_stdout = {
    .name = "stdout",
    .help = "alerts on standard output, one locked write per line (never interleaves with "
	    "the event stream)",
    .keys = stdout_keys,
    .settings_size = sizeof(struct stdout_settings),
    .reasons = reasons,
    .init = stdout_init,
    .deliver = stdout_deliver,
};
