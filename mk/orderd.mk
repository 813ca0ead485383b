# orderd: the order service (src/orderd).
ORDERD_OBJS := $(call objs,src/orderd)
BINARIES += $(BIN)/orderd
$(BIN)/orderd: $(ORDERD_OBJS) $(CPROF_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(ORDERD_OBJS) $(PROG_LIBS)
