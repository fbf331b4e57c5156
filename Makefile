# vantage - fleet health agent (vantaged) and operator console (vantage).
#
# make            build agent/vantaged and console/vantage
# make check      unit + integration tests, normal and ASan+UBSan builds
# make demo       run a demo agent on loopback and open the console on it
# make fuzz       run the libFuzzer targets longer
# make bench      the benchmarks in tests/bench (figures, not assertions)
# make install    PREFIX=/usr/local DESTDIR=

PREFIX	?= /usr/local
CC	?= cc
PKGS	 = libcurl libcjson sqlite3 libssh2 libmicrohttpd inih libjwt \
	   libcares libsystemd openssl gnutls libprotobuf-c
CWARN	 = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wmissing-prototypes \
	   -Wstrict-prototypes -Wno-unused-parameter
CFLAGS	?= -O2 -g
ALLCFLAGS = -std=c11 -D_GNU_SOURCE $(CWARN) -D_FORTIFY_SOURCE=2 \
	   -fstack-protector-strong -Ishared -Iagent -Iconsole -Ibuild \
	   $(shell pkg-config --cflags $(PKGS) ncursesw 2>/dev/null) $(CFLAGS)
AGENT_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
CONSOLE_LIBS = $(shell pkg-config --libs libcurl libcjson libssh2 inih \
	   openssl ncursesw 2>/dev/null) -lm
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined

SHARED_SRC  = $(sort $(wildcard shared/*.c))
AGENT_SRC   = $(sort $(filter-out agent/vantaged.c,$(wildcard agent/*.c)))
CONSOLE_SRC = $(sort $(filter-out console/vantage.c,$(wildcard console/*.c)))
SCHEMA_SQL  = $(sort $(wildcard schema/*.sql))
UNIT_SRC    = $(sort $(wildcard tests/unit/test_*.c))

# Objects of one variant (normal in build/, sanitized in build/asan/).
objs = $(patsubst %.c,$(1)/%.o,$(2))

B	= build
A	= build/asan

AGENT_OBJ    = $(call objs,$(B),$(SHARED_SRC) $(AGENT_SRC)) $(B)/schema.o
CONSOLE_OBJ  = $(call objs,$(B),$(SHARED_SRC) $(CONSOLE_SRC))
AGENT_AOBJ   = $(call objs,$(A),$(SHARED_SRC) $(AGENT_SRC)) $(A)/schema.o
CONSOLE_AOBJ = $(call objs,$(A),$(SHARED_SRC) $(CONSOLE_SRC))

all: agent/vantaged console/vantage

deps:
	@sh .ci/deps

agent/vantaged: $(AGENT_OBJ) $(B)/agent/vantaged.o
	@echo "  LD      $@"
	@$(CC) $(ALLCFLAGS) -o $@ $^ $(AGENT_LIBS)

console/vantage: $(CONSOLE_OBJ) $(B)/console/vantage.o
	@echo "  LD      $@"
	@$(CC) $(ALLCFLAGS) -o $@ $^ $(CONSOLE_LIBS)

$(A)/vantaged: $(AGENT_AOBJ) $(A)/agent/vantaged.o
	@echo "  LD asan $@"
	@$(CC) $(ALLCFLAGS) $(SANFLAGS) -o $@ $^ $(AGENT_LIBS)

$(A)/vantage: $(CONSOLE_AOBJ) $(A)/console/vantage.o
	@echo "  LD asan $@"
	@$(CC) $(ALLCFLAGS) $(SANFLAGS) -o $@ $^ $(CONSOLE_LIBS)

$(B)/%.o: %.c $(wildcard shared/*.h agent/*.h console/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALLCFLAGS) -c -o $@ $<

$(A)/%.o: %.c $(wildcard shared/*.h agent/*.h console/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(ALLCFLAGS) $(SANFLAGS) -c -o $@ $<

# schema/NNN_name.sql files become schema_migrations[] in build/schema.c.
# The list of files is a dependency too: a renamed or removed migration
# keeps its old mtime, and must still rebuild the table.
$(B)/schema.list: FORCE
	@mkdir -p $(B)
	@echo "$(SCHEMA_SQL)" | cmp -s - $@ || echo "$(SCHEMA_SQL)" > $@

$(B)/schema.c: $(SCHEMA_SQL) $(B)/schema.list tests/embed-schema.sh
	@mkdir -p $(B)
	@sh tests/embed-schema.sh $(SCHEMA_SQL) > $@.tmp && mv $@.tmp $@

FORCE:

$(B)/schema.o: $(B)/schema.c
	@$(CC) $(ALLCFLAGS) -c -o $@ $<

$(A)/schema.o: $(B)/schema.c
	@mkdir -p $(A)
	@$(CC) $(ALLCFLAGS) $(SANFLAGS) -c -o $@ $<

# Unit tests: tests/unit/test_X.c links with the agent's modules,
# tests/unit/test_console_X.c with the console's (never the main()s), in
# both variants.
UNIT_BIN  = $(patsubst tests/unit/%.c,$(B)/unit/%,$(UNIT_SRC))
UNIT_ABIN = $(patsubst tests/unit/%.c,$(A)/unit/%,$(UNIT_SRC))
CONSOLE_UOBJ  = $(CONSOLE_OBJ)
CONSOLE_UAOBJ = $(CONSOLE_AOBJ)

$(B)/unit/test_console_%: tests/unit/test_console_%.c $(CONSOLE_UOBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(ALLCFLAGS) -Itests/unit -o $@ $^ $(CONSOLE_LIBS) -lcmocka

$(A)/unit/test_console_%: tests/unit/test_console_%.c $(CONSOLE_UAOBJ)
	@mkdir -p $(dir $@)
	@echo "  LD asan $@"
	@$(CC) $(ALLCFLAGS) $(SANFLAGS) -Itests/unit -o $@ $^ $(CONSOLE_LIBS) -lcmocka

# vantaged.o without its main(), so tests reach the lifecycle functions.
.SECONDARY: $(B)/vantaged-nomain.o $(A)/vantaged-nomain.o
%/vantaged-nomain.o: %/agent/vantaged.o
	@objcopy --redefine-sym main=vantaged_main $< $@

$(B)/unit/test_%: tests/unit/test_%.c $(AGENT_OBJ) $(B)/vantaged-nomain.o
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(ALLCFLAGS) -Itests/unit -o $@ $^ $(AGENT_LIBS) -lcmocka

$(A)/unit/test_%: tests/unit/test_%.c $(AGENT_AOBJ) $(A)/vantaged-nomain.o
	@mkdir -p $(dir $@)
	@echo "  LD asan $@"
	@$(CC) $(ALLCFLAGS) $(SANFLAGS) -Itests/unit -o $@ $^ $(AGENT_LIBS) -lcmocka

# The grpc probe's protobuf code (agent/grpc_health.pb-c.[ch]) is
# generated from agent/grpc_health.proto and checked in, so a build needs
# no protoc-c; this regenerates it after the .proto changed.
proto:
	protoc-c --proto_path=agent --c_out=agent agent/grpc_health.proto

tests: all $(A)/vantaged $(A)/vantage $(UNIT_BIN) $(UNIT_ABIN) fuzz-build

# Fuzz targets (clang libFuzzer): tests/fuzz/fuzz_X.c, each with the
# modules it needs listed on its "// LINK:" line.
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN = $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	   -Ishared -Iagent -Iconsole -Ibuild $(shell pkg-config --cflags $(PKGS) ncursesw 2>/dev/null)

$(B)/fuzz/%: tests/fuzz/%.c $(SHARED_SRC) $(AGENT_SRC) $(CONSOLE_SRC) $(B)/schema.c
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@clang $(FUZZ_CFLAGS) -o $@ $< $$(sed -n 's|^// LINK: ||p' $<) \
	    $(AGENT_LIBS) $(CONSOLE_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	    mkdir -p $(B)/corpus/$$n; \
	    echo "fuzzing $$n for $${FUZZ_SECONDS:-120}s"; \
	    d=""; [ -f tests/fuzz/$$n.dict ] && d="-dict=tests/fuzz/$$n.dict"; \
	    $$f -max_total_time=$${FUZZ_SECONDS:-120} $$d $(B)/corpus/$$n \
	        tests/fuzz/corpus/$$n 2>&1 | tail -3 || exit 1; done

check: deps
	@$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) tests
	@sh tests/run.sh

bench: all
	@for b in tests/bench/*.sh; do echo "== $$b"; bash $$b || exit 1; done

demo: deps all
	@sh tests/demo.sh

MAN = man/vantaged.8 man/vantaged.conf.5 man/vantage.1 man/vantage.conf.5 \
	man/vantage-api.7

lint-man:
	@for m in $(wildcard $(MAN)); do mandoc -Tlint -Wwarning $$m || exit 1; done

BINDIR	 = $(PREFIX)/bin
SBINDIR	 = $(PREFIX)/sbin
MANDIR	 = $(PREFIX)/share/man
UNITDIR	 = $(PREFIX)/lib/systemd/system
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
EXDIR	 = $(PREFIX)/share/vantage
ETCDIR	 = /etc/vantage

# Installs programs, man pages, the unit and examples.  Nothing an
# operator edits is touched: configs are installed as *.example only, and
# the unit is changed through drop-ins.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(EXDIR)/prometheus $(DESTDIR)$(ETCDIR)
	install -m 755 console/vantage $(DESTDIR)$(BINDIR)/vantage
	install -m 755 agent/vantaged $(DESTDIR)$(SBINDIR)/vantaged
	install -m 644 man/vantage.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/vantage.conf.5 man/vantaged.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/vantage-api.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 644 man/vantaged.8 $(DESTDIR)$(MANDIR)/man8/
	sed 's|@SBINDIR@|$(SBINDIR)|g' agent/vantaged.service \
	    > $(DESTDIR)$(UNITDIR)/vantaged.service
	chmod 644 $(DESTDIR)$(UNITDIR)/vantaged.service
	install -m 644 agent/vantaged.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/vantaged.conf
	install -m 644 agent/examples/vantaged.conf.example \
	    console/vantage.conf.example $(DESTDIR)$(ETCDIR)/
	install -m 644 agent/prometheus/prometheus.yml \
	    agent/prometheus/vantage-rules.yml $(DESTDIR)$(EXDIR)/prometheus/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vantage $(DESTDIR)$(SBINDIR)/vantaged \
	    $(DESTDIR)$(MANDIR)/man1/vantage.1 \
	    $(DESTDIR)$(MANDIR)/man5/vantage.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/vantaged.conf.5 \
	    $(DESTDIR)$(MANDIR)/man7/vantage-api.7 \
	    $(DESTDIR)$(MANDIR)/man8/vantaged.8 \
	    $(DESTDIR)$(UNITDIR)/vantaged.service \
	    $(DESTDIR)$(SYSUSERSDIR)/vantaged.conf \
	    $(DESTDIR)$(ETCDIR)/vantaged.conf.example \
	    $(DESTDIR)$(ETCDIR)/vantage.conf.example
	rm -rf $(DESTDIR)$(EXDIR)
	-rmdir $(DESTDIR)$(ETCDIR) 2>/dev/null

format:
	clang-format -i agent/*.[ch] console/*.[ch] shared/*.[ch]

clean:
	rm -rf build agent/vantaged console/vantage

.PHONY: all deps proto tests check bench demo fuzz fuzz-build lint-man install \
	uninstall format clean
