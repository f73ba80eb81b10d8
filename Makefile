# SEV — plain Makefile. `make`, `make run`, `make cluster`, `make test`, `make bench`, `make fuzz`,
# `make soak`, `make format`.
# SAN=1 builds into build-asan/ with AddressSanitizer + UndefinedBehaviorSanitizer.

PKGS     := libuv jansson sqlite3 libcurl openssl zlib hiredis libpq
CC       ?= cc
ifeq ($(SAN),1)
B        := build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT      := -O1 -g
else
B        := build
SANFLAGS :=
OPT      := -O2 -g
endif

CFLAGS   := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
            -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
            $(OPT) $(SANFLAGS) -Isrc $(shell pkg-config --cflags $(PKGS))
LDLIBS   := $(shell pkg-config --libs $(PKGS)) -lhttp_parser -lpthread -lm
LDFLAGS  := $(SANFLAGS)

SRC      := $(shell find src -name '*.c' ! -name main.c | sort)
OBJ      := $(SRC:%.c=$(B)/obj/%.o)
DEP      := $(OBJ:.o=.d) $(B)/obj/src/main.d
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)

.PHONY: all deps run cluster test test-unit test-integration test-e2e test-asan bench fuzz soak format clean sim

all: $(B)/sev $(B)/twitch-sim $(UNIT_BIN) $(B)/faultfs.so

# The storage-fault shim of the integration tests (LD_PRELOAD; never linked into sev). Built
# without sanitizers: it only forwards calls.
$(B)/faultfs.so: tests/fault/faultfs.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -Wall -Wextra -Werror -O2 -fPIC -shared -o $@ $< -ldl

deps:
	@scripts/deps.sh

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/libsev.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/sev: $(B)/obj/src/main.o $(B)/libsev.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/unit/%: tests/unit/%.c tests/unit/unit.h $(B)/libsev.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libsev.a $(LDFLAGS) $(LDLIBS)

# The out-of-memory torture test counts and fails SEV's own allocations (see the file).
$(B)/unit/test_alloc_fail: LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup

# The simulator is a Node program (tools/twitch-sim); build/twitch-sim is its launcher.
$(B)/twitch-sim: tools/twitch-sim/launcher.sh
	@mkdir -p $(B)
	sed "s#@ROOT@#$(CURDIR)#" $< > $@ && chmod +x $@

run: deps all
	@scripts/run.sh

# PostgreSQL, Redis, N nodes (N=3) and nginx on :8080, plus the demo simulator.
cluster: deps all
	@scripts/deps.sh --cluster
	@scripts/cluster.sh

test: deps
	@scripts/deps.sh --test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SAN=1 all
	@scripts/test.sh

bench: deps all
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory -C bench
	@bench/run.sh

fuzz: 
	@$(MAKE) --no-print-directory -C tests/fuzz

# The hub's soak (tests/integration/hub-soak.test.js) for SOAK_SECS against the ASan build:
# fails on any sanitizer report. `make test` runs it for 10 s.
SOAK_SECS ?= 300
soak: deps
	@$(MAKE) --no-print-directory SAN=1 all
	SOAK_SECS=$(SOAK_SECS) SEV_BIN=build-asan/sev node --test --test-reporter=spec \
		tests/integration/hub-soak.test.js

format:
	clang-format -i $$(find src tests/unit tests/fuzz bench -name '*.[ch]')

clean:
	rm -rf build build-asan

-include $(DEP)
