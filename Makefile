# probity - GNU Makefile, readable top to bottom.
#
#   make                debug build in build/debug/ (probity, tests, tools)
#   make release        optimised build in build/release/
#   make SAN=1          AddressSanitizer + UndefinedBehaviorSanitizer build in build/san/
#   make check          install what is missing, build, run every test twice
#                       (plain and sanitised), replay the fuzz corpora
#   make demo           install what is missing, build, run the demo
#   make fuzz           build the libFuzzer targets with clang and run each for FUZZ_TIME s
#   make deps           apt-get install the Debian packages probity needs (no-op when present)
#   make bench          the benchmarks (see bench/README.md)
#   make install        install the binary, its data, the docs and the nginx module (when
#                       built) under DESTDIR/PREFIX (default /usr/local); make uninstall
#   make nginx-module   the nginx dynamic module (nginx/) in build/<variant>/nginx/
#
# WERROR=1 turns warnings into errors (CI sets it).

VARIANT ?= debug
ifeq ($(SAN),1)
VARIANT := san
endif
BUILD := build/$(VARIANT)

CC ?= cc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local

# Libraries, all from Debian 12: SQLite (workspace), libsodium (keys, HMAC,
# Ed25519), libcrypto (SHA-256 with CPU extensions), libssl (probity web's
# HTTPS), zlib, zstd and ISA-L
# (compressed exports), jansson (JSON), libyaml (policies), GMime (mail),
# cairo and pango (the case report as PDF), libcbor and libfido2 (WebAuthn
# passkeys: CBOR, assertion signatures),
# libmicrohttpd is not used: server/ has its own fuzzed HTTP/1.1 parser.
PKGS := sqlite3 libsodium libcrypto libssl zlib libzstd libisal jansson yaml-0.1 gmime-3.0 snappy liblz4 \
        cairo pangocairo libcbor libfido2

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wvla \
        -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(findstring clang,$(CC)),)
WARN += -Wno-format-truncation
endif
ifeq ($(WERROR),1)
WARN += -Werror
endif

BASE_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) -Iinclude -Ilib -g -pthread \
               $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread -lm

ifeq ($(VARIANT),release)
OPT := -O2 -DNDEBUG
else ifeq ($(VARIANT),fuzz)
OPT := -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
LDSAN := -fsanitize=address,undefined
else ifeq ($(VARIANT),san)
OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDSAN := -fsanitize=address,undefined
else
OPT := -O0
endif

CFLAGS_ALL = $(BASE_CFLAGS) $(OPT) $(CFLAGS)
LDFLAGS_ALL = $(LDSAN) $(LDFLAGS)

LIB_SRC := $(wildcard lib/*/*.c)
CLI_SRC := $(wildcard cli/*.c) $(wildcard server/*.c) $(wildcard web/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
TOOL_SRC := $(wildcard tools/*.c)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%)
REPLAY_BIN := $(FUZZ_SRC:fuzz/fuzz_%.c=$(BUILD)/fuzz/replay_%)

LIBA := $(BUILD)/libprobity.a
PROBITY := $(BUILD)/probity

.PHONY: all release san check print-libs check-variant demo deps fuzz fuzzers bench install uninstall clean nginx-module
.DEFAULT_GOAL := all

all: $(PROBITY) $(UNIT_BIN) $(TOOL_BIN) $(REPLAY_BIN)

release:
	@$(MAKE) --no-print-directory VARIANT=release all

san:
	@$(MAKE) --no-print-directory VARIANT=san all

# The link line of libprobity.a, for bench/ and tools/ that build their own
# small programs against it (one list: a library added here reaches them).
print-libs:
	@echo $(LIBS)

# The flags the objects were compiled with: a change of them (WERROR=1,
# CFLAGS=...) rebuilds the objects, as a change of their source does.
FLAGS_STAMP := $(BUILD)/.cflags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(CFLAGS_ALL)' | cmp -s - $@ || echo '$(CFLAGS_ALL)' > $@
.PHONY: FORCE
FORCE:

# The library is compiled with PB_LIBRARY, which bans getenv (banned.h).
$(BUILD)/lib/%.o: lib/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DPB_LIBRARY -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(PROBITY): $(CLI_OBJ) $(LIBA)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(CLI_OBJ) $(LIBA) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -MMD -MP -o $@ $< $(LIBA) $(LIBS)

$(BUILD)/tools/%: tools/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -MMD -MP -o $@ $< $(LIBA) $(LIBS)

# Test-only tools (tests/tools/, e.g. pb-entitle): never part of `all`,
# release or install; the suites build them (tests/run-suites.sh runs
# `make test-tools` for the variant under test).
TEST_TOOL_BIN := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))
.PHONY: test-tools
test-tools: $(TEST_TOOL_BIN)
$(BUILD)/tests/tools/%: tests/tools/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -MMD -MP -o $@ $< $(LIBA) $(LIBS)

# libFuzzer binaries (VARIANT=fuzz CC=clang; see tools/fuzz.sh).
FUZZ_BIN := $(FUZZ_SRC:fuzz/fuzz_%.c=$(BUILD)/fuzz/fuzz_%)
fuzzers: $(FUZZ_BIN)
$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -o $@ $< $(LIBA) $(LIBS)

# Each fuzz target also builds as a plain program that replays its corpus.
$(BUILD)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ fuzz/replay.c $< $(LIBA) $(LIBS)

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- nginx module ----------------------------------------------------------

# ngx_http_probity_module.so, built the way Debian builds its libnginx-mod-*
# packages: nginx's configure from nginx-dev's sources (NGINX_SRC) with the
# flags Debian's nginx binary was configured with (conf_flags; --with-compat
# makes the module loadable by that binary), then `make modules`. The module
# links a position-independent libprobity.a (build/<variant>/pic/). Part of
# `all` when nginx-dev is installed, so the tests load the module of the
# variant under test (ASan and UBSan ones in build/san).
NGINX_SRC ?= /usr/share/nginx/src
NGX_DIR := $(BUILD)/nginx
NGX_MOD := $(NGX_DIR)/ngx_http_probity_module.so
PIC_LIBA := $(BUILD)/pic/libprobity.a
PIC_OBJ := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)

nginx-module: $(NGX_MOD)
ifneq ($(wildcard $(NGINX_SRC)/conf_flags),)
all: $(NGX_MOD)
endif

$(BUILD)/pic/lib/%.o: lib/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fPIC -DPB_LIBRARY -MMD -MP -c $< -o $@

$(PIC_LIBA): $(PIC_OBJ)
	@rm -f $@
	ar rcs $@ $^

# (Makefile too: nginx's configure keeps the libraries LIBS named then)
$(NGX_DIR)/objs/Makefile: nginx/config $(NGINX_SRC)/conf_flags Makefile
	@test -f $(NGINX_SRC)/conf_flags || { echo "nginx-module: install nginx-dev (make deps)"; exit 1; }
	@rm -rf $(NGX_DIR) && mkdir -p $(NGX_DIR) && cp -r $(NGINX_SRC)/. $(NGX_DIR)/
	cd $(NGX_DIR) && PROBITY_ROOT=$(CURDIR) PROBITY_LIBA=$(CURDIR)/$(PIC_LIBA) \
		PROBITY_LIBS="$(LIBS)" bash -c '. ./conf_flags && ./configure "$${NGX_CONF_FLAGS[@]}" \
		--with-cc-opt="-g -fPIC $(OPT)" --with-ld-opt="-fPIC $(LDSAN)" \
		--add-dynamic-module=$(CURDIR)/nginx' >$(CURDIR)/$(NGX_DIR)/configure.log 2>&1 \
		|| { tail -20 $(NGX_DIR)/configure.log; exit 1; }

$(NGX_MOD): nginx/ngx_http_probity_module.c include/probity.h $(PIC_LIBA) $(NGX_DIR)/objs/Makefile
	@rm -f $(NGX_DIR)/objs/ngx_http_probity_module.so
	$(MAKE) --no-print-directory -C $(NGX_DIR) -f objs/Makefile modules >$(NGX_DIR)/build.log 2>&1 \
		|| { cat $(NGX_DIR)/build.log; exit 1; }
	cp $(NGX_DIR)/objs/ngx_http_probity_module.so $@

# ---- tests ---------------------------------------------------------------

# One variant: unit tests, end-to-end cases, corpus replay. Prints one
# "<suite>: N passed, N failed" line per suite.
check-variant: all
	@tests/run-suites.sh $(BUILD)

# The whole check: both variants, then one total line.
# The two builds use every core (JOBS=1 for a serial build).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check: deps
	@$(MAKE) --no-print-directory -j$(JOBS) VARIANT=debug all
	@$(MAKE) --no-print-directory -j$(JOBS) VARIANT=san all
	@tests/run-all.sh build/debug build/san

# ---- demo, deps, fuzz, bench ---------------------------------------------

demo: deps
	@$(MAKE) --no-print-directory VARIANT=release all
	@tools/demo.sh build/release

deps:
	@tools/deps.sh

FUZZ_TIME ?= 60
fuzz:
	@tools/fuzz.sh $(FUZZ_TIME)

bench:
	@$(MAKE) --no-print-directory VARIANT=release all
	@bench/run.sh

# install: the release build, or INSTALL_FROM=build/<variant> as it is (the
# e2e test installs the build under test into a DESTDIR). The binary finds its
# data in ../share/probity/data; the nginx module goes where Debian's nginx
# keeps modules under a prefix (load_module PREFIX/lib/nginx/modules/...).
INSTALL_FROM ?=
IFROM := $(or $(INSTALL_FROM),build/release)
NGX_SO := ngx_http_probity_module.so
install: $(if $(INSTALL_FROM),,release)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/probity $(DESTDIR)$(PREFIX)/share/doc/probity
	install -m 0755 $(IFROM)/probity $(DESTDIR)$(PREFIX)/bin/probity
	cp -r data $(DESTDIR)$(PREFIX)/share/probity/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/probity/
	if [ -f $(IFROM)/nginx/$(NGX_SO) ]; then \
		install -d $(DESTDIR)$(PREFIX)/lib/nginx/modules && \
		install -m 0644 $(IFROM)/nginx/$(NGX_SO) $(DESTDIR)$(PREFIX)/lib/nginx/modules/$(NGX_SO); fi

# uninstall: what install wrote, then the folders it made if they are empty
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/probity $(DESTDIR)$(PREFIX)/lib/nginx/modules/$(NGX_SO)
	rm -rf $(DESTDIR)$(PREFIX)/share/probity/data
	rm -f $(DESTDIR)$(PREFIX)/share/doc/probity/README.md \
		$(patsubst docs/%,$(DESTDIR)$(PREFIX)/share/doc/probity/%,$(wildcard docs/*.md))
	-rmdir $(DESTDIR)$(PREFIX)/share/probity $(DESTDIR)$(PREFIX)/share/doc/probity \
		$(DESTDIR)$(PREFIX)/lib/nginx/modules $(DESTDIR)$(PREFIX)/lib/nginx 2>/dev/null

clean:
	rm -rf build
