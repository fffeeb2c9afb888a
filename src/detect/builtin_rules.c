// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * builtin_rules.c - embeds the default ruleset (rules/vigil_rules.yaml) in the
 * binary, so `vigil run` needs no files beside it. The Makefile rebuilds this
 * object when the YAML changes.
 */
#include "detect.h"

__asm__(".section .rodata\n"
	".global vigil_builtin_rules\n"
	".type vigil_builtin_rules, @object\n"
	"vigil_builtin_rules:\n"
	".incbin \"rules/vigil_rules.yaml\"\n"
	"vigil_builtin_rules_end:\n"
	".byte 0\n"
	".global vigil_builtin_rules_len\n"
	".type vigil_builtin_rules_len, @object\n"
	".balign 4\n"
	"vigil_builtin_rules_len:\n"
	".int vigil_builtin_rules_end - vigil_builtin_rules\n"
	".previous\n");
