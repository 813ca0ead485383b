# Browser assets (web/): the dashboard sources and the npm packages pinned in
# web/package-lock.json (uplot, speedscope), embedded in libcommon.a.
#
# Why embed rather than read files at run time: the binaries then serve the
# dashboard and speedscope from any working directory and from an installed
# copy with nothing beside them, the pages always match the binary, and no
# request path ever touches the file system. web/embed.sh writes one C file
# whose assembler .incbin lines pull each asset in as read-only data (about
# 1 MiB, linked only into programs that call webassets_*).
#
# npm ci runs through $(DEPS_STAMP) (scripts/install-deps.sh) whenever the
# lock file changes; the generated file is rebuilt when the dashboard
# sources, the lock file or the installed packages change.

WEB_GEN_C := $(BUILD)/gen/webassets_data.c
WEB_GEN_O := $(OBJ)/gen/webassets_data.o
WEB_INPUTS := web/embed.sh $(wildcard web/dashboard/*) web/package-lock.json \
              $(wildcard web/node_modules/.package-lock.json)

$(WEB_GEN_C): $(WEB_INPUTS) $(DEPS_STAMP)
	@mkdir -p $(@D)
	web/embed.sh $@

$(WEB_GEN_O): $(WEB_GEN_C)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(COMMON_LIB): $(WEB_GEN_O)

.PHONY: web
web: $(WEB_GEN_O)
