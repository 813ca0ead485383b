# cprof: the profiling library's pkg-config file, its test programs and
# benchmarks. libcprof.a itself is built by the top-level Makefile from
# lib/cprof/*.c.

# cprof.pc describes the library as built in this tree (installed nowhere):
#   PKG_CONFIG_PATH=$(BUILD) pkg-config --cflags --libs cprof
CPROF_PC := $(BUILD)/cprof.pc
BINARIES += $(CPROF_PC)
$(CPROF_PC): mk/cprof.mk
	@mkdir -p $(@D)
	@printf '%s\n' \
	    'prefix=$(CURDIR)' \
	    'includedir=$${prefix}/include' \
	    'libdir=$${prefix}/$(LIBDIR)' \
	    '' \
	    'Name: cprof' \
	    'Description: in-process profiling with the Go net/http/pprof contract' \
	    'Version: 0.1.0' \
	    'Requires.private: zlib libdw' \
	    'Cflags: -I$${includedir} -pthread' \
	    'Libs: -L$${libdir} -lcprof -pthread' \
	    'Libs.private: -ldl -lrt -lm' >$@

# tests/programs/cprof_*.c: one program each, linked like any program.
CPROF_PROG_SRCS := $(wildcard tests/programs/cprof_*.c)
CPROF_PROGS := $(patsubst tests/programs/%.c,$(BUILD)/tests/programs/%,$(CPROF_PROG_SRCS))
BINARIES += $(CPROF_PROGS)
$(BUILD)/tests/programs/cprof_%: $(OBJ)/tests/programs/cprof_%.o $(CPROF_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(PROG_LIBS)

# The symbolization test needs a static inline function really inlined into
# its caller (always_inline does it at any level) and full debug info.
$(OBJ)/tests/unit/lib/cprof/test_symbolize.o: CFLAGS += -O2 -g
