# orderd: the order service (src/orderd).
ORDERD_OBJS := $(call objs,src/orderd)
BINARIES += $(BIN)/orderd
$(BIN)/orderd: $(ORDERD_OBJS) $(CPROFMHD_LIB) $(CPROF_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(ORDERD_OBJS) $(CPROFMHD_LIB) $(PROG_LIBS)
