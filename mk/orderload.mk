# orderload: the load generator (src/orderload); its engine and scenarios
# live in lib/common (loadgen, scenario) so orderd's --load shares them.
ORDERLOAD_OBJS := $(call objs,src/orderload)
BINARIES += $(BIN)/orderload
$(BIN)/orderload: $(ORDERLOAD_OBJS) $(CPROF_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(ORDERLOAD_OBJS) $(PROG_LIBS)
