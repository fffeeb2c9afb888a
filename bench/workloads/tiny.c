// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tiny.c - the binary the exec storm executes: built static so that an exec
 * costs the kernel's exec path and nothing else (no loader, no libraries).
 */
#include <unistd.h>

int main(void)
{
	_exit(0);
}
