// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sinks.c - the table of sink kinds. A new sink is one file defining its
 * struct sink_desc (keys, checks, operations) and one row here; the configuration,
 * the metrics and the docs find it through this table.
 */
#include <string.h>
#include <strings.h>

#include "output/sink.h"

extern const struct sink_desc sink_stdout;
extern const struct sink_desc sink_file;
extern const struct sink_desc sink_syslog;
extern const struct sink_desc sink_webhook;
extern const struct sink_desc sink_alertmanager;
extern const struct sink_desc sink_exec;

const struct sink_desc *const sink_table[] = {
    &sink_stdout, &sink_file, &sink_syslog, &sink_webhook, &sink_alertmanager, &sink_exec, NULL,
};

const struct sink_desc *sink_desc__find(const char *name)
{
	for (size_t i = 0; sink_table[i]; i++)
		if (!strcasecmp(sink_table[i]->name, name))
			return sink_table[i];
	return NULL;
}
