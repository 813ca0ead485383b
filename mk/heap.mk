# cprof heap profiling: jemalloc's compiled-in malloc_conf, the heap test
# programs and the malloc micro-benchmark.

# lib/common/malloc_conf.c defines the `malloc_conf` jemalloc reads at its
# first allocation; nothing calls into that file, so force every program and
# test to pull it out of libcommon.a.
ifeq ($(SANITIZE),)
LDFLAGS += -Wl,-u,malloc_conf
endif

# tests/programs/heap_*.c: one program each, linked like any program.
HEAP_PROG_SRCS := $(wildcard tests/programs/heap_*.c)
HEAP_PROGS := $(patsubst tests/programs/%.c,$(BUILD)/tests/programs/%,$(HEAP_PROG_SRCS))
BINARIES += $(HEAP_PROGS)
$(BUILD)/tests/programs/heap_%: $(OBJ)/tests/programs/heap_%.o $(CPROF_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(PROG_LIBS)

# The malloc+free micro-benchmark is also built against glibc's malloc:
# same source, no jemalloc, no libcommon (so no malloc_conf).
HEAP_GLIBC_BENCH := $(BUILD)/tests/programs/glibc_heap_mallocbench
ifneq ($(wildcard tests/programs/heap_mallocbench.c),)
BENCHES += $(HEAP_GLIBC_BENCH)
endif
$(HEAP_GLIBC_BENCH): tests/programs/heap_mallocbench.c $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(filter-out -DORDERD_JEMALLOC=1,$(CFLAGS)) -pthread -o $@ $< $(LDLIBS)
