# orderd — top-level GNU Makefile.
#
#   make                    build every binary into build/ (or build/<sanitizer>/)
#   make run                install what is missing, build, run orderd with built-in load
#   make test               install what is missing, build, run the whole test suite
#   make bench              print benchmark numbers (never a pass/fail test)
#   make SANITIZE=address   the same targets built with ASan+UBSan (or =thread: TSan)
#   make format             apply .clang-format to every C file
#
# Components add their binaries, tests and targets in mk/*.mk; this file holds
# the shared flags and the generic rules, so components never edit each other's
# rules.

SHELL := /bin/bash
.DEFAULT_GOAL := all

SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD ?= build
else
BUILD ?= build/$(SANITIZE)
endif
OBJ := $(BUILD)/obj
BIN := $(BUILD)/bin
LIBDIR := $(BUILD)/lib

CC ?= cc
PKGS := libmicrohttpd jansson libcurl zlib libdw
DEPS_STAMP := $(BUILD)/.deps-ok

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes
ifeq ($(CI),true)
WARN += -Werror
endif
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -fno-omit-frame-pointer -pthread $(WARN) -MMD -MP \
          -Iinclude -Ilib -Isrc -D_GNU_SOURCE
LDFLAGS += -pthread -rdynamic
LDLIBS := -lm -ldl -lrt

ifeq ($(SANITIZE),address)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(SANITIZE),thread)
SAN_FLAGS := -fsanitize=thread
else ifneq ($(SANITIZE),)
$(error SANITIZE must be address or thread, not '$(SANITIZE)')
endif
CFLAGS += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)

# jemalloc is the allocator of every binary, except under a sanitizer, which
# owns malloc itself (the heap profile then answers 501).
ifeq ($(SANITIZE),)
MALLOC_LIBS := -ljemalloc
CFLAGS += -DORDERD_JEMALLOC=1
else
MALLOC_LIBS :=
endif

# pkg-config is asked only once the dependencies are installed.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS += $(PKG_CFLAGS)

# ---- helpers -------------------------------------------------------------
# $(call srcs,dir) -> C sources directly in dir
srcs = $(wildcard $(1)/*.c)
# $(call objs,dir) -> object files for the sources in dir
objs = $(patsubst %.c,$(OBJ)/%.o,$(call srcs,$(1)))

$(OBJ)/%.o: %.c $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# Libraries: lib/<name>/*.c -> $(LIBDIR)/lib<name>.a
COMMON_LIB := $(LIBDIR)/libcommon.a
CPROF_LIB := $(LIBDIR)/libcprof.a
# cprof's /debug/pprof layer mounted in libmicrohttpd, shared by orderd and
# the lab: its own library because cprof knows no HTTP server library and
# lib/common must not depend on cprof.
CPROFMHD_LIB := $(LIBDIR)/libcprofmhd.a
$(COMMON_LIB): $(call objs,lib/common)
$(CPROF_LIB): $(call objs,lib/cprof)
$(CPROFMHD_LIB): $(call objs,lib/cprofmhd)
$(LIBDIR)/%.a:
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Everything a program links after its own objects (a program that mounts
# cprof in libmicrohttpd puts $(CPROFMHD_LIB) before these).
PROG_LIBS = $(CPROF_LIB) $(COMMON_LIB) $(PKG_LIBS) $(MALLOC_LIBS) $(LDLIBS)

# Components append to these.
BINARIES :=
UNIT_TESTS :=
INTEGRATION_TESTS :=
E2E_TESTS :=
BENCHES :=

include $(sort $(wildcard mk/*.mk))

# ---- unit tests: tests/unit/<dir>/test_*.c, one Criterion binary each ------
# A unit test links the objects of the module tree it mirrors (minus main.o).
UNIT_SRCS := $(shell find tests/unit -name 'test_*.c' 2>/dev/null)
UNIT_TESTS += $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
.SECONDEXPANSION:
.SECONDARY:
unit_objs = $(filter-out %/main.o,$(call objs,$(patsubst %/,%,$(dir $(1)))))
$(BUILD)/tests/unit/%: $(OBJ)/tests/unit/%.o $$(call unit_objs,$$*) $(CPROFMHD_LIB) $(CPROF_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(OBJ)/tests/unit/$*.o $(call unit_objs,$*) $(CPROFMHD_LIB) $(PROG_LIBS) -lcriterion

# Integration tests: tests/integration/test_*.c, linked with the harness.
HARNESS_OBJ := $(OBJ)/tests/integration/harness.o
INTEG_SRCS := $(wildcard tests/integration/test_*.c)
INTEGRATION_TESTS += $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(INTEG_SRCS))
$(BUILD)/tests/integration/%: $(OBJ)/tests/integration/%.o $(HARNESS_OBJ) $(CPROF_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(HARNESS_OBJ) $(PROG_LIBS) -lcriterion

E2E_TESTS += $(sort $(wildcard tests/e2e/test_*.sh))

# ---- top-level targets ---------------------------------------------------
.PHONY: all deps run test test-bins bench format clean
all: $(BINARIES)

# Installs what is missing (apt-get, npm ci), once per build folder.
$(DEPS_STAMP): scripts/install-deps.sh $(wildcard web/package-lock.json)
	@scripts/install-deps.sh --check || scripts/install-deps.sh
	@mkdir -p $(@D) && touch $@
deps: $(DEPS_STAMP)

run: $(DEPS_STAMP) all
	@scripts/run.sh $(BIN)

test-bins: $(UNIT_TESTS) $(INTEGRATION_TESTS)

ifeq ($(SANITIZE),thread)
# Criterion cannot run under ThreadSanitizer (Snaipe/Criterion#274: its
# inheritable arena fails to map). The test binaries are therefore built
# without TSan in $(TEST_BUILD) and drive the TSan-built programs of
# $(BUILD); the harness fails a test on any TSan report in their stderr.
TEST_BUILD := build/thread-tests
test: $(DEPS_STAMP) all
	@$(MAKE) --no-print-directory SANITIZE= BUILD=$(TEST_BUILD) test-bins
	@BUILD=$(TEST_BUILD) ORDERD_BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run.sh \
	    $(patsubst $(BUILD)/%,$(TEST_BUILD)/%,$(UNIT_TESTS) $(INTEGRATION_TESTS)) $(E2E_TESTS)
else
test: $(DEPS_STAMP) all test-bins
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run.sh \
	    $(UNIT_TESTS) $(INTEGRATION_TESTS) $(E2E_TESTS)
endif

bench: $(DEPS_STAMP) all $(BENCHES)
	@BUILD=$(BUILD) bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
