# The lab (src/lab): worker-bad and worker-optimized, the seed's scripts as
# make targets, and `make help`.
LAB_COMMON_OBJS := $(call objs,src/lab)
BINARIES += $(BIN)/worker-bad $(BIN)/worker-optimized
$(BIN)/worker-bad: $(call objs,src/lab/bad) $(LAB_COMMON_OBJS) $(CPROFMHD_LIB) $(CPROF_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(call objs,src/lab/bad) $(LAB_COMMON_OBJS) $(CPROFMHD_LIB) $(PROG_LIBS)
$(BIN)/worker-optimized: $(call objs,src/lab/optimized) $(LAB_COMMON_OBJS) $(CPROFMHD_LIB) $(CPROF_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(call objs,src/lab/optimized) $(LAB_COMMON_OBJS) $(CPROFMHD_LIB) $(PROG_LIBS)

# Parameters of the lab targets (override on the command line:
# make profile-cpu WORKER=optimized DURATION=10s).
WORKER ?= bad
DURATION ?= 30s

.PHONY: lab benchmark profile-cpu profile-mem start stop logs help
lab: $(DEPS_STAMP) $(BIN)/worker-bad $(BIN)/worker-optimized

benchmark: lab
	@BUILD=$(BUILD) scripts/benchmark.sh

profile-cpu: lab
	@BUILD=$(BUILD) scripts/profile-cpu.sh $(WORKER) $(DURATION)

profile-mem: lab
	@BUILD=$(BUILD) scripts/profile-mem.sh $(WORKER) $(DURATION)

start: all
	@BUILD=$(BUILD) scripts/start-demo.sh

stop:
	@BUILD=$(BUILD) scripts/stop-demo.sh

logs:
	@tail -n 20 $(BUILD)/demo/*.log

help:
	@echo 'orderd — make targets'
	@echo
	@echo '  make                  build every binary into $(BUILD)/bin'
	@echo '  make run              install what is missing, build, run orderd with built-in load'
	@echo '  make test             build and run the whole test suite'
	@echo '  make bench            print benchmark numbers'
	@echo '  make SANITIZE=address the same targets under ASan+UBSan (SANITIZE=thread: TSan)'
	@echo '  make format           apply clang-format to every C file'
	@echo '  make clean            remove build/'
	@echo
	@echo 'The lab (docs/LAB.md):'
	@echo '  make lab              build worker-bad and worker-optimized'
	@echo '  make benchmark        run both workers with the same parameters -> pprof/benchmark.txt'
	@echo '  make profile-cpu      CPU profile of one worker (WORKER=bad|optimized DURATION=30s)'
	@echo '  make profile-mem      heap/allocs profile of one worker (same variables)'
	@echo '  make start            start both workers (metrics on :9090, :9091), orderd and Prometheus'
	@echo '  make stop             stop everything make start started'
	@echo '  make logs             the last lines of the demo logs'
	@echo '  make help             this text'
