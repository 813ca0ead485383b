# libFuzzer targets (clang): `make fuzz` runs each for FUZZ_SECONDS (default 60).
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build/fuzz
FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Ilib -Isrc -D_GNU_SOURCE
$(FUZZ_BUILD)/fuzz_order: tests/fuzz/fuzz_order.c src/orderd/order.c lib/common/buf.c lib/common/clock.c lib/common/xalloc.c lib/common/log.c $(DEPS_STAMP)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) -ljansson -lm
.PHONY: fuzz
fuzz: $(FUZZ_BUILD)/fuzz_order
	@mkdir -p $(FUZZ_BUILD)/corpus-order
	$(FUZZ_BUILD)/fuzz_order -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    $(FUZZ_BUILD)/corpus-order tests/fuzz/corpus/order
