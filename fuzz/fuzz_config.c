// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_config.c - configuration files through the reader `vigil run --config`
 * uses: the option tables, every sink's keys and checks, the outputs list.
 */
#include <stdint.h>
#include <stdlib.h>

#include "daemon/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_config *c = config__new();
	char err[4096];

	if (!c)
		abort();
	config__load_file(c, fuzz_file("config", data, size), err, sizeof(err));
	config__free(c);
	return 0;
}
