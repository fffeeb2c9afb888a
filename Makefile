# vigil - one entry point: make, make test, make run, make bench.
#
# Generated files (vmlinux.h, skeletons, objects, test binaries) go to $(BUILD).

BUILD ?= build
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
PYTHON ?= /usr/bin/python3
CC ?= cc

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

CFLAGS ?= -O2 -g
CFLAGS += -MMD -MP -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror \
	  -D_GNU_SOURCE -Iinclude -Isrc -I$(BUILD) -DVIGIL_VERSION='"$(VERSION)"' \
	  $(shell pkg-config --cflags libbpf 2>/dev/null)
LDLIBS += $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz -lyaml -lpcre2-8 -lmicrohttpd -lpthread -lm

BPF_CFLAGS := -MMD -MP -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -Ibpf -I$(BUILD)

# Everything in src/ except the entry point and the skeleton user is testable
# without a kernel and goes into libvigil.a for the unit tests.
KERNEL_SRCS := src/daemon/main.c src/kernel/sensors.c src/kernel/loader.c
CORE_SRCS := $(filter-out $(KERNEL_SRCS),$(wildcard src/*/*.c))
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
KERNEL_OBJS := $(KERNEL_SRCS:%.c=$(BUILD)/%.o)
# BPF by role: bpf/maps.bpf.c defines the shared maps, each sensor and enforcer is
# its own unit; all are compiled apart and linked into one object, one skeleton.
BPF_UNITS := bpf/maps.bpf.c $(wildcard bpf/sensors/*.bpf.c bpf/enforcers/*.bpf.c)
BPF_UNIT_OBJS := $(BPF_UNITS:%.bpf.c=$(BUILD)/%.bpf.o)
# a test object with one trivial program per attach kind, for the loader's e2e test
TEST_BPF_OBJ := $(BUILD)/tests/attach_kinds.bpf.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)
HELPER_SRCS := $(wildcard tests/e2e/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/e2e/helpers/%.c=$(BUILD)/helpers/%)

.PHONY: all build-all deps run test unit e2e test-kernels bench clean format format-check fuzz fuzz-bins \
	fuzz-check fuzz-run image deb FORCE
.SECONDARY:

all: $(BUILD)/vigil

.DELETE_ON_ERROR:

deps:
	@scripts/deps.sh

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/vigil.bpf.o: $(BPF_UNIT_OBJS)
	$(BPFTOOL) gen object $@ $^

$(BUILD)/tests/%.bpf.o: tests/e2e/bpf/%.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	@mkdir -p $(@D)
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(BUILD)/src/kernel/sensors.o: $(BUILD)/vigil.skel.h

# VERSION is compiled in (vigil version, status, metrics, User-Agent) and names the
# Debian package: the stamp changes only with it, and what prints it is rebuilt then
$(BUILD)/version: FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
$(BUILD)/src/daemon/main.o $(BUILD)/src/daemon/agent.o $(BUILD)/src/output/sink_http.o: \
	$(BUILD)/version

# the default ruleset is embedded with .incbin
$(BUILD)/src/detect/builtin_rules.o: $(wildcard rules/*.yaml)

$(BUILD)/%.o: %.c Makefile
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libvigil.a: $(CORE_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/vigil: $(KERNEL_OBJS) $(BUILD)/libvigil.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# all unit test files link into one Criterion binary: one run, one summary
$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/libvigil.a
	$(CC) $(CFLAGS) -o $@ $(UNIT_OBJS) $(BUILD)/libvigil.a $(LDLIBS) -lcriterion

$(BUILD)/helpers/%: tests/e2e/helpers/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $<

# operations through io_uring: liburing (Debian's liburing-dev), linked in statically too
$(BUILD)/helpers/uring_probe: tests/e2e/helpers/uring_probe.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $< -luring

# links libvigil: the outputs' e2e tests drive the sinks with synthetic alerts
$(BUILD)/alert-driver: tests/e2e/driver/alert_driver.c $(BUILD)/libvigil.a
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libvigil.a $(LDLIBS)

# the loader's steps and attach kinds, driven with the test object (tests/e2e/test_loader.py)
$(BUILD)/attach-driver: tests/e2e/bpf/attach_driver.c $(BUILD)/tests/attach_kinds.skel.h \
		$(BUILD)/src/kernel/loader.o $(BUILD)/libvigil.a
	$(CC) $(CFLAGS) -I$(BUILD)/tests -o $@ $< $(BUILD)/src/kernel/loader.o $(BUILD)/libvigil.a \
		$(LDLIBS)

# everything this compiler builds, with -Werror: CI runs it with gcc and with clang
build-all: $(BUILD)/vigil $(BUILD)/unit-tests $(HELPER_BINS) $(BUILD)/alert-driver \
	   $(BUILD)/attach-driver $(BUILD)/vmlinux.h
	$(MAKE) -s -f bench/bench.mk BUILD=$(BUILD) CC=$(CC) CLANG=$(CLANG)

run: deps $(BUILD)/vigil
	$(BUILD)/vigil run $(ARGS)

# Unit tests need no root and no kernel support.
unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests --jobs 2

# End-to-end tests need root: real BPF, real processes, real containers.
e2e: $(BUILD)/vigil $(HELPER_BINS) $(BUILD)/alert-driver $(BUILD)/attach-driver
	$(PYTHON) -m pytest -v -rs --durations=30 tests/e2e

test: deps
	$(MAKE) unit
	$(MAKE) e2e
	$(MAKE) test-kernels KERNELS="$(CI_KERNELS)" TESTS="$(CI_KERNEL_TESTS)"

# The kernel-facing e2e tests inside Debian's kernels booted under QEMU (docs/KERNELS.md):
# built here once, run in each guest over the shared root, then a kernel x test matrix
# (build/kernels/out/matrix.md). KERNELS and TESTS (e2e files) narrow it; TESTS empty is
# the kernel-facing set of scripts/kernels.sh. Fails if a test failed on any kernel.
KERNELS ?= 6.1 6.12
TESTS ?=
# what `make test` (and CI) runs in a guest: Debian 12's own kernel, with BPF LSM, fentry and kprobes
# and a subset that fits in about 15 minutes of emulation (docs/KERNELS.md)
CI_KERNELS ?= 6.1
CI_KERNEL_TESTS ?= tests/e2e/test_loader.py tests/e2e/test_privilege.py tests/e2e/test_uring.py \
	tests/e2e/test_actions_deny.py tests/e2e/test_actions_entry.py $(wildcard tests/e2e/test_lsm*.py)
test-kernels: $(BUILD)/vigil $(HELPER_BINS) $(BUILD)/alert-driver $(BUILD)/attach-driver
	KERNELS_TESTS="$(TESTS)" VIGIL_BUILD="$(abspath $(BUILD))" scripts/kernels.sh test $(KERNELS)

# the OCI image localhost/vigil:$(VERSION) (and :latest), from a debootstrapped root
# and no registry; needs root (scripts/image.sh)
image: deps $(BUILD)/vigil
	scripts/image.sh $(BUILD)

bench: $(BUILD)/vigil
	BUILD=$(BUILD) bench/run.sh $(BENCH_ARGS)

# the Debian package, build/vigil_<version>_<arch>.deb (scripts/deb.sh); prints its path
deb: $(BUILD)/vigil $(BUILD)/version
	@scripts/deb.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# ---- fuzzing (clang only): libFuzzer with ASan and UBSan, over the agent's own sources ----
# Each source is built once more with the sanitizers into $(FUZZ_BUILD); the harnesses
# (fuzz/) call the functions the agent calls. `make fuzz-check` runs each for FUZZ_TIME
# seconds (CI); `make fuzz-run FUZZER=rules FUZZ_TIME=3600` is a long session.
FUZZ_BUILD ?= build/fuzz
FUZZERS := rules config record
FUZZ_TIME ?= 30
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
	       -fno-sanitize-recover=all

fuzz:
	CFLAGS="$(FUZZ_CFLAGS)" $(MAKE) BUILD=$(FUZZ_BUILD) CC=$(CLANG) fuzz-bins

fuzz-bins: $(FUZZERS:%=$(BUILD)/fuzz-%)

$(BUILD)/fuzz-%: $(BUILD)/fuzz/fuzz_%.o $(BUILD)/fuzz/common.o $(BUILD)/libvigil.a
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# fuzz-rules runs its rules over this recording, built in with .incbin
$(BUILD)/fuzz/fuzz_rules.o: fuzz/corpus/record/mixed.rec

# a short run of each from its seeds; a crash, leak, hang or UB report fails it
fuzz-check: fuzz
	@for f in $(FUZZERS); do FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz.sh $$f $(FUZZ_TIME) || exit 1; done

fuzz-run: fuzz
	FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz.sh $(FUZZER) $(FUZZ_TIME) $(FUZZ_FLAGS)

FORMAT_SRCS = $(wildcard src/*/*.[ch] fuzz/*.[ch] bpf/*.[ch] bpf/*/*.[ch] include/vigil/*.h tests/unit/*.[ch] \
		tests/unit/*/*.[ch] tests/e2e/helpers/*.c tests/e2e/helpers32/*.c tests/e2e/driver/*.c tests/e2e/bpf/*.c bench/*/*.c)

format:
	clang-format -i $(FORMAT_SRCS)

# fails, naming the files, when `make format` would change anything
format-check:
	clang-format --dry-run -Werror $(FORMAT_SRCS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
