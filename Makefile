# lmail build. `make` builds build/lmail/core.so for Lua $(LUA_VERSION).
# Main targets: test, check-asan, check-valgrind, check-clang, lint, bench, install.

LUA_VERSION ?= 5.4
LUA ?= lua$(LUA_VERSION)
PKG_CONFIG ?= pkg-config
CC ?= cc
BUSTED ?= /usr/bin/busted

ifdef LUA_INCDIR
LUA_CFLAGS := -I$(LUA_INCDIR)
else
LUA_CFLAGS := $(shell $(PKG_CONFIG) --cflags lua$(LUA_VERSION) 2>/dev/null || \
                $(PKG_CONFIG) --cflags lua-$(LUA_VERSION) 2>/dev/null)
endif
ifdef OPENSSL_DIR
SSL_CFLAGS := -I$(OPENSSL_DIR)/include
SSL_LIBS := -L$(OPENSSL_DIR)/lib -lssl -lcrypto
else
SSL_CFLAGS := $(shell $(PKG_CONFIG) --cflags openssl 2>/dev/null)
SSL_LIBS := $(shell $(PKG_CONFIG) --libs openssl 2>/dev/null || echo -lssl -lcrypto)
endif

# The strict warning list; every build must be free of warnings (-Werror in
# the test builds) under gcc and clang.
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wcast-qual -Wwrite-strings -Wformat=2 -Wundef \
            -Wvla -Wredundant-decls -Wnested-externs -Wold-style-definition
OPT ?= -O2
CFLAGS ?= $(OPT) -g
ALL_CFLAGS = -std=c99 -fPIC -fvisibility=hidden -D_POSIX_C_SOURCE=200809L \
             $(WARNINGS) $(CFLAGS) $(EXTRA_CFLAGS)
LIBFLAG ?= -shared
# `make V=1` shows the full command lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif

BUILD ?= build
OBJ := $(BUILD)/obj

CORE_SRC := $(wildcard csrc/core/*.c)
NET_SRC := $(wildcard csrc/net/*.c)
TLS_SRC := $(wildcard csrc/tls/*.c)
SYS_SRC := $(wildcard csrc/sys/*.c)
BIND_SRC := $(wildcard csrc/lua/*.c)
TEST_SRC := $(wildcard csrc/test/test_*.c)

LIB_OBJ := $(patsubst %.c,$(OBJ)/%.o,$(CORE_SRC) $(NET_SRC) $(TLS_SRC))
# csrc/sys: file-system helpers (Maildir delivery, the fetch state file).
LIB_OBJ += $(patsubst %.c,$(OBJ)/%.o,$(SYS_SRC))
BIND_OBJ := $(patsubst %.c,$(OBJ)/%.o,$(BIND_SRC))
TEST_BIN := $(patsubst csrc/test/%.c,$(BUILD)/test/%,$(TEST_SRC))
MODULE := $(BUILD)/lmail/core.so

# Specs load the freshly built module and the Lua sources of this checkout,
# never an installed copy.
SPEC_ENV = LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/?.lua;;" \
           LUA_CPATH="$(CURDIR)/$(BUILD)/?.so;;" LMAIL_BUILD="$(CURDIR)/$(BUILD)"

.PHONY: FORCE all deps test ctest spec spec-one check-asan check-valgrind check-clang lint bench \
        install clean demo examples rock-check fuzz

all: $(MODULE)

# Objects depend on the flags they were built with: a build with other flags
# (-Werror, sanitizers, luarocks' CFLAGS) in the same BUILD dir rebuilds them.
FLAGS_STAMP := $(BUILD)/.flags
BUILD_FLAGS = $(CC) $(ALL_CFLAGS) $(LDFLAGS)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@
FORCE:

$(OBJ)/%.o: %.c $(wildcard csrc/*/*.h) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) $(SSL_CFLAGS) -c $< -o $@

$(MODULE): $(LIB_OBJ) $(BIND_OBJ)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(LIBFLAG) $(ALL_CFLAGS) -o $@ $^ $(SSL_LIBS) $(LDFLAGS)

$(BUILD)/test/%: csrc/test/%.c $(LIB_OBJ) csrc/test/lmt.h $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  CCLD    $@" || true
	$(Q)$(CC) $(ALL_CFLAGS) $(SSL_CFLAGS) -o $@ $< $(LIB_OBJ) $(SSL_LIBS) $(LDFLAGS)

# C tests also depend on the other test headers (lmt_alloc.h, ...).
$(TEST_BIN): $(wildcard csrc/test/*.h)

deps:
	@sh tools/ensure-deps.sh test

ctest: $(TEST_BIN)
	@set -e; for t in $(TEST_BIN); do $(TEST_WRAP) $$t; done

spec: $(MODULE)
	@$(SPEC_ENV) sh tools/run-specs.sh $(LUA) $(BUSTED) $(SPEC_WRAP)

# One spec file (or several) against this build: make spec-one SPEC=spec/md5_spec.lua
spec-one: $(MODULE)
	@$(SPEC_ENV) $(SPEC_WRAP) $(LUA) $(BUSTED) --output=plainTerminal $(SPEC)

# The README's test command. Warnings are errors here.
# Also proves the clang build warning-free and the Lua sources luacheck-clean.
test: deps
	@$(MAKE) --no-print-directory check-clang lint
	@$(MAKE) --no-print-directory EXTRA_CFLAGS="-Werror $(EXTRA_CFLAGS)" ctest
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory EXTRA_CFLAGS="-Werror $(EXTRA_CFLAGS)" spec

ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  EXTRA_CFLAGS="-Werror $(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" ctest
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  EXTRA_CFLAGS="-Werror $(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" \
	  SPEC_WRAP="env LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1" spec

VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
# iconv's gconv modules are dlopened; ld.so's own word-wise reads are not ours.
VALGRIND += --suppressions=$(CURDIR)/tools/valgrind.supp
check-valgrind: deps
	@$(MAKE) --no-print-directory BUILD=build-valgrind OPT=-O1 EXTRA_CFLAGS=-Werror \
	  TEST_WRAP="$(VALGRIND)" LMAIL_VALGRIND=1 ctest
	@$(MAKE) --no-print-directory BUILD=build-valgrind OPT=-O1 EXTRA_CFLAGS=-Werror \
	  SPEC_WRAP="$(VALGRIND)" LMAIL_VALGRIND=1 spec

check-clang:
	@$(MAKE) --no-print-directory BUILD=build-clang CC=clang EXTRA_CFLAGS=-Werror all $(patsubst $(BUILD)/%,build-clang/%,$(TEST_BIN))

lint:
	@luacheck --no-color -q lua spec bench tools examples bin/lmail
	@$(LUA) tools/check-docs.lua

# libFuzzer targets (csrc/fuzz/fuzz_*.c) on the core alone, each run for
# FUZZ_TIME seconds from the seeds in spec/fixtures/mime (a bounded run in
# `make test`; `make fuzz FUZZ_TIME=3600` for a real one). A crash, a
# sanitizer report or an input slower than 10 s fails.
FUZZ_SRC := $(wildcard csrc/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst csrc/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_TIME ?= 12
build-fuzz/%: csrc/fuzz/%.c $(CORE_SRC) $(wildcard csrc/core/*.h)
	@mkdir -p build-fuzz
	@echo "  FUZZCC  $@"
	$(Q)clang -std=c99 -D_POSIX_C_SOURCE=200809L $(WARNINGS) -Werror $(FUZZ_FLAGS) -o $@ $< $(CORE_SRC)

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do \
	  name=$$(basename $$f); corpus=build-fuzz/corpus-$$name; mkdir -p $$corpus; \
	  seeds=spec/fixtures/mime; [ $$name = fuzz_hdr ] && seeds=spec/fixtures/mime/hdr; \
	  if ! $$f -max_total_time=$(FUZZ_TIME) -timeout=10 -max_len=65536 -rss_limit_mb=2048 \
	       -print_final_stats=0 -artifact_prefix=build-fuzz/$$name- $$corpus $$seeds >build-fuzz/$$name.log 2>&1; then \
	    tail -n 40 build-fuzz/$$name.log; echo "fuzz: $$name FAILED (build-fuzz/$$name.log)"; exit 1; fi; \
	  echo "fuzz: $$name $$(grep -o 'Done [0-9]* runs' build-fuzz/$$name.log) in $(FUZZ_TIME) s, no failure"; \
	done

bench: all
	@$(SPEC_ENV) sh bench/run.sh

# Used by the rockspec (build type "make") and by hand:
#   make install INST_LIBDIR=... INST_LUADIR=...
INST_LIBDIR ?= /usr/local/lib/lua/$(LUA_VERSION)
INST_LUADIR ?= /usr/local/share/lua/$(LUA_VERSION)
install: $(MODULE)
	mkdir -p $(INST_LIBDIR)/lmail $(INST_LUADIR)/lmail
	cp $(MODULE) $(INST_LIBDIR)/lmail/core.so
	cp lua/lmail/*.lua $(INST_LUADIR)/lmail/
	set -e; for d in lua/lmail/*/; do n=$$(basename $$d); \
	  mkdir -p $(INST_LUADIR)/lmail/$$n; cp $$d*.lua $(INST_LUADIR)/lmail/$$n/; done

# The scripts of examples/ against the local servers (also run by the
# specs: spec/examples_spec.lua).
examples: all
	@$(SPEC_ENV) $(LUA) tools/examples.lua

# The README's main command: installs what is missing, starts the local
# Postfix + Dovecot, sends and fetches through lmail, stops the servers.
demo:
	@sh tools/ensure-deps.sh demo
	@$(MAKE) --no-print-directory all
	@$(SPEC_ENV) $(LUA) tools/demo.lua

clean:
	rm -rf build build-asan build-valgrind build-clang build-fuzz
