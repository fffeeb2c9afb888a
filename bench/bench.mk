# bench.mk - builds the benchmark programs into $(BUILD)/bench: the workloads and
# the floor (empty BPF programs and their loader). Called by bench/run.sh;
# vigil itself and build/vmlinux.h come from the top-level Makefile.

BUILD ?= build
CC ?= cc
CLANG ?= clang
OUT := $(BUILD)/bench
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

BENCH_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	-Wno-missing-field-initializers -Werror -D_GNU_SOURCE
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(BUILD)

# static: an exec or an idle process then costs the kernel's part alone
STATIC := tiny spawn_idle
DYNAMIC := exec_storm open_storm connect_storm udp_storm latency_trigger packet_storm
PROGS := $(STATIC:%=$(OUT)/%) $(DYNAMIC:%=$(OUT)/%) $(OUT)/floor $(OUT)/floor.bpf.o \
	$(OUT)/floor_xdp.bpf.o

all: $(PROGS)

$(STATIC:%=$(OUT)/%): $(OUT)/%: bench/workloads/%.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -static -o $@ $<

$(DYNAMIC:%=$(OUT)/%): $(OUT)/%: bench/workloads/%.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lpthread

$(OUT)/floor: bench/floor/floor.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $(shell pkg-config --cflags libbpf 2>/dev/null) -o $@ $< \
		$(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz

$(OUT)/floor.bpf.o $(OUT)/floor_xdp.bpf.o: $(OUT)/%.bpf.o: bench/floor/%.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

.PHONY: all
