# xfer: build, test, demo. `make test`, `make demo` and every other public
# target install what is missing first (scripts/install-deps.sh), so a fresh
# Debian machine needs nothing else.
#
# The compiler and linker flags come from pkg-config, which knows the -dev
# packages only once they are installed. Make computes them when it reads
# this file, which on a fresh machine is before `deps` has run; so each public
# target runs `deps` and then builds in a sub-make that reads the flags anew.
# tests/fresh-machine.sh proves it on a Debian 12 root without the packages.

CC       ?= cc
PKGS     := cairo fontconfig freetype2 libpng libjpeg yaml-0.1 sqlite3 zlib gsl
# GSL calls CBLAS; OpenBLAS provides it, so GSL's slow reference CBLAS is left out.
# -O3: GCC 12's -O2 vectorises no loop whose length is unknown (its very-cheap
# cost model); ISO C mode keeps FMA contraction off, so results are the same bits.
# -march=native builds for this machine's CPU. PORTABLE=1 builds the rest of
# the code for baseline x86-64 instead, into build-portable/, so that one
# binary runs on every node of a cluster whose CPUs differ; the hot kernels
# are dispatched at run time either way (below). docs/models.md "Speed" says
# what it costs.
ifeq ($(PORTABLE),1)
OPT      ?= -O3 -march=x86-64 -mtune=generic
BUILD    ?= build-portable
else
OPT      ?= -O3 -march=native
endif
# xfer's vector kernels (src/nn/kernels.h) are compiled once per instruction
# set, src/nn/kernels_<isa>.c with ISA_FLAGS_<isa> added to OPT, and chosen
# at run time from cpuid (src/core/cpu.h; XFER_ISA forces one). Each set
# lowers or raises -march's: the plain path must not use AVX even under
# -march=native, the AVX2 path not AVX-512.
ISA_FLAGS_plain  := -mno-avx
ISA_FLAGS_avx2   := -mavx2 -mfma -mno-avx512f
ISA_FLAGS_avx512 := -mavx2 -mfma -mavx512f
isa_flags = $(foreach isa,plain avx2 avx512,$(if $(filter %/kernels_$(isa).c,$<),$(ISA_FLAGS_$(isa))))
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
PKGS_OK  := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes)
CPPFLAGS := -Isrc -I/usr/include/x86_64-linux-gnu/openblas-pthread -D_GNU_SOURCE \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS   := -std=c11 $(OPT) -g $(WARN)
LDLIBS   := $(filter-out -lgslcblas,$(shell pkg-config --libs $(PKGS) 2>/dev/null)) -lcjson -llapacke -lopenblas -lm -lpthread

BUILD    ?= build
LIB_SRC  := $(sort $(shell find src -name '*.c' -not -path 'src/cli/*'))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c)) tests/support.c
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

SAN_FLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all build test test-fast test-san demo demo-run paper-mini paper-mini-run bench bench-run \
        fuzz fuzz-run clean deps tools-deps
all: deps
	$(MAKE) build

build: $(BUILD)/xfer $(BUILD)/xfer-tests

deps:
	scripts/install-deps.sh build

tools-deps:
	scripts/install-deps.sh tools

$(BUILD)/libxfer.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/xfer: $(CLI_OBJ) $(BUILD)/libxfer.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libxfer.a $(LDLIBS)

# The command-line parser is tested in-process (tests/test_cli_args.c).
$(BUILD)/xfer-tests: $(TEST_OBJ) $(BUILD)/src/cli/args.o $(BUILD)/libxfer.a
	$(CC) $(CFLAGS) -o $@ $(TEST_OBJ) $(BUILD)/src/cli/args.o $(BUILD)/libxfer.a -lcriterion $(LDLIBS)

$(BUILD)/%.o: %.c
	$(if $(PKGS_OK),,$(error pkg-config does not know all of: $(PKGS); run `make deps` (or any public target: make demo, make test) to install the -dev packages))
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(isa_flags) -MMD -MP -c $< -o $@

-include $(shell find $(BUILD) build-san build-fuzz build-portable -name '*.d' 2>/dev/null)

# The suite runs twice: optimised, then under AddressSanitizer and UBSan.
# Tests find the xfer binary and fixtures through these variables.
TEST_ENV := XFER_TEST_ROOT=$(CURDIR)
test: deps
	$(MAKE) test-fast
	$(MAKE) test-san

test-fast: $(BUILD)/xfer $(BUILD)/xfer-tests
	$(TEST_ENV) XFER_BIN=$(CURDIR)/$(BUILD)/xfer $(BUILD)/xfer-tests --jobs 2
	$(TEST_ENV) XFER_BIN=$(CURDIR)/$(BUILD)/xfer tests/kernel_paths.sh $(BUILD)

test-san:
	$(MAKE) BUILD=build-san OPT="$(SAN_FLAGS)" build-san/xfer build-san/xfer-tests
	$(TEST_ENV) XFER_BIN=$(CURDIR)/build-san/xfer ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1 build-san/xfer-tests --jobs 2
	$(TEST_ENV) XFER_BIN=$(CURDIR)/build-san/xfer ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1 tests/kernel_paths.sh build-san

demo: deps
	$(MAKE) demo-run

demo-run: $(BUILD)/xfer
	$(BUILD)/xfer study examples/quick.yaml
	$(BUILD)/xfer report runs/quick
	@echo "report: runs/quick/report/index.html"

# The reference study of docs/FINDINGS.md (2 to 3 hours on 2 idle cores;
# resumable: run it again after an interruption). Its figures, tables and
# the numbers docs/FINDINGS.md quotes (findings.txt) are copied into
# docs/paper-mini/, where they are committed.
JOBS ?= $(shell nproc)
paper-mini: deps
	$(MAKE) paper-mini-run

paper-mini-run: $(BUILD)/xfer
	$(BUILD)/xfer study examples/paper-mini.yaml -j $(JOBS)
	$(BUILD)/xfer report runs/paper-mini
	rm -rf docs/paper-mini && mkdir -p docs/paper-mini
	cp runs/paper-mini/report/*.csv runs/paper-mini/report/figures/*.png docs/paper-mini/
	python3 tools/paper_findings.py runs/paper-mini > docs/paper-mini/findings.txt
	@echo "report: runs/paper-mini/report/index.html; figures and tables: docs/paper-mini/"

bench: tools-deps
	$(MAKE) bench-run

# The bench also trains each model with a PORTABLE=1 build (its cost
# against -march=native) and once per kernel path (XFER_ISA).
bench-run: $(BUILD)/xfer
	$(MAKE) PORTABLE=1 BUILD=build-portable build-portable/xfer
	XFER_BENCH_PORTABLE=build-portable/xfer bench/run.sh $(BUILD)/xfer

# bench/features.sh's driver, next to the xfer binary: xfer's feature
# extraction on random images.
bench-run: $(BUILD)/bench-features
$(BUILD)/bench-features: bench/features.c $(BUILD)/libxfer.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libxfer.a $(LDLIBS)

# Fuzzing: the library is built once with clang, ASan and UBSan (every
# report fatal), and each fuzz/fuzz_*.c links against it. `make fuzz` runs
# every target for FUZZ_SECONDS (fuzz/run.sh) and fails on any crash,
# sanitizer report, input slower than FUZZ_TIMEOUT seconds or run over
# FUZZ_RSS_MB; FUZZ=fuzz_npy runs one.
FUZZ_TARGETS := $(patsubst fuzz/%.c,build-fuzz/%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 10
FUZZ_RSS_MB  ?= 2048
FUZZ_FLAGS := -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=all
FUZZ_OBJ := $(LIB_SRC:%.c=build-fuzz/%.o)

build-fuzz/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(FUZZ_FLAGS) $(isa_flags) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build-fuzz/libxfer.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

build-fuzz/fuzz_%: fuzz/fuzz_%.c build-fuzz/libxfer.a
	clang $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/libxfer.a $(LDLIBS)

fuzz: deps
	$(MAKE) fuzz-run

fuzz-run: $(FUZZ_TARGETS)
	FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) FUZZ_RSS_MB=$(FUZZ_RSS_MB) \
	  fuzz/run.sh $(FUZZ_SECONDS) $(if $(FUZZ),build-fuzz/$(FUZZ),$(FUZZ_TARGETS))

clean:
	rm -rf build build-san build-fuzz build-portable
