#!/usr/bin/env bash
# mix.sh - benchmark workload: a developer's minute in miniature. Each iteration
# unpacks a source tree (a generated C project and a copy of the kernel's uapi
# headers), builds the project with make -j, greps and reads the whole tree, and
# deletes it: many execs (make, gcc, cc1, as, ld), many opens outside watched
# directories, writes in a scratch directory. No network.
# Prints {"workload":"mix","ops":FILES,"seconds":S,"ops_per_sec":R}, ops being the
# files unpacked, summed over the iterations.
# usage: mix.sh SCRATCH_DIR ITERATIONS [C_FILES]
set -euo pipefail

dir=${1:?usage: mix.sh SCRATCH_DIR ITERATIONS [C_FILES]}
iters=${2:?usage: mix.sh SCRATCH_DIR ITERATIONS [C_FILES]}
nfiles=${3:-32}
tarball="$dir/mix-src-$nfiles.tar"

# the tree is made once per size, untimed
make_tree() {
	local src="$dir/mix-src.$$" i
	rm -rf "$src"
	mkdir -p "$src/proj" "$src/include"
	cp -r /usr/include/linux "$src/include/linux"
	for ((i = 0; i < nfiles; i++)); do
		cat >"$src/proj/unit$i.c" <<C
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"

struct item$i { int key; char name[32]; };

static int cmp$i(const void *a, const void *b)
{
	return ((const struct item$i *)a)->key - ((const struct item$i *)b)->key;
}

int unit$i(int n)
{
	struct item$i *v = calloc(n, sizeof(*v));
	int i, sum = 0;

	for (i = 0; i < n; i++) {
		v[i].key = (i * 2654435761u) % 1000;
		snprintf(v[i].name, sizeof(v[i].name), "item-%d-%d", $i, i);
	}
	qsort(v, n, sizeof(*v), cmp$i);
	for (i = 0; i < n; i++)
		sum += v[i].key + (int)strlen(v[i].name);
	free(v);
	return sum;
}
C
		echo "int unit$i(int n);" >>"$src/proj/common.h"
	done
	{
		echo '#include <stdio.h>'
		echo '#include "common.h"'
		echo 'int main(void) { long s = 0;'
		for ((i = 0; i < nfiles; i++)); do echo "s += unit$i(100);"; done
		echo 'printf("%ld\n", s); return 0; }'
	} >"$src/proj/main.c"
	printf 'SRCS := $(wildcard *.c)\nprog: $(SRCS:.c=.o)\n\t$(CC) -o $@ $^\n%%.o: %%.c common.h\n\t$(CC) -O1 -c -o $@ $<\n' \
		>"$src/proj/Makefile"
	tar -C "$src" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
	rm -rf "$src"
}

[ -s "$tarball" ] || make_tree
files=$(tar -tf "$tarball" | grep -vc '/$')
jobs=$(nproc)
work="$dir/mix-work.$$"

start=$(date +%s%N)
for ((it = 0; it < iters; it++)); do
	mkdir -p "$work"
	tar -C "$work" -xf "$tarball"
	make -s -C "$work/proj" -j"$jobs" prog >/dev/null
	"$work/proj/prog" >/dev/null
	grep -r -c define "$work/include" >/dev/null || true
	find "$work" -type f -print0 | xargs -0 cat >/dev/null
	rm -rf "$work"
done
end=$(date +%s%N)

ops=$((files * iters))
awk -v ops="$ops" -v ns="$((end - start))" 'BEGIN {
	s = ns / 1e9
	printf "{\"workload\":\"mix\",\"ops\":%d,\"seconds\":%.6f,\"ops_per_sec\":%.1f}\n", ops, s, ops / s
}'
