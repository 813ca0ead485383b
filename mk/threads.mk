# cprof threads, locks and trace: the micro-benchmark programs
# (tests/programs/lock_*.c), linked like any program.
LOCK_PROG_SRCS := $(wildcard tests/programs/lock_*.c)
LOCK_PROGS := $(patsubst tests/programs/%.c,$(BUILD)/tests/programs/%,$(LOCK_PROG_SRCS))
BINARIES += $(LOCK_PROGS)
$(BUILD)/tests/programs/lock_%: $(OBJ)/tests/programs/lock_%.o $(CPROF_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(PROG_LIBS)
