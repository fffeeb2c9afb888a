/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * alloc_inject.h - allocation failures on demand, from the malloc interposer in
 * test_rules_alloc.c (all unit tests link into one binary). Set
 * alloc_fail_countdown to N and the Nth malloc or realloc from then on returns
 * NULL with errno ENOMEM. calloc never fails: the rule engine's arena takes its
 * chunks with calloc and aborts when one fails, by design.
 */
#ifndef VIGIL_TEST_ALLOC_INJECT_H
#define VIGIL_TEST_ALLOC_INJECT_H

extern volatile long alloc_fail_countdown; /* 0: off; N: the Nth malloc/realloc fails */
extern volatile long alloc_failed;	   /* failures injected so far */

#endif /* VIGIL_TEST_ALLOC_INJECT_H */
