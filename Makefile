# warden — PGXS build of the extension, plus the two commands a user runs:
#   make run    installs what is missing, builds, starts the private cluster (and front-end)
#   make check  installs what is missing, builds, runs every test suite
# Everything outside the server (core library, warden-mcp, unit tests, benchmarks, fuzzers)
# is built by CMake into build/.

EXTENSION = warden
MODULE_big = warden
# SQL scripts are assembled (see src/sql/README.md):
#   src/sql/0.1.0/        the base schema as 0.1.0 shipped it (frozen; never edited)
#   src/sql/updates/A--B/ run-once changes from release A to release B
#   src/sql/functions/    replayable definitions (CREATE OR REPLACE), each with its grants
# A fresh install is guard + base + every update in order + functions; an update script is
# that update's changes + functions. So a fresh install and an updated database run the same
# statements, which the upgrade test checks on the catalog.
EXTVERSION = 0.2.0
UPDATES = 0.1.0--0.2.0
# Debian's pg_buildext builds out of tree (make -C build-15 -f SOURCE/Makefile VPATH=SOURCE):
# every source path below is relative to SRC, the objects and generated scripts land in the
# current folder.
SRC := $(if $(VPATH),$(patsubst %/,%,$(VPATH))/,)
SQL_HEADER = \echo Use "CREATE EXTENSION warden" to load this file. \quit
SQL_UPDATE_HEADER = \echo Use "ALTER EXTENSION warden UPDATE" to load this file. \quit
BASE_SQL = $(sort $(wildcard $(SRC)src/sql/0.1.0/*.sql))
UPDATE_SQL = $(foreach u,$(UPDATES),$(sort $(wildcard $(SRC)src/sql/updates/$(u)/*.sql)))
FUNCTION_SQL = $(sort $(wildcard $(SRC)src/sql/functions/*.sql))
GENERATED_SQL = src/sql/warden--$(EXTVERSION).sql $(foreach u,$(UPDATES),src/sql/warden--$(u).sql)
DATA_built = $(GENERATED_SQL)
EXTRA_CLEAN = src/sql/warden--0.1.0.sql
# The database verifies console and approver sign-ins' ID tokens itself (approver_sign_in.sql),
# with the gateway's own JOSE code: those four files are linked into the extension too.
JOSE_SOURCES = $(addprefix $(SRC)src/frontend/oauth/,jwk_key.cpp jws.cpp id_token.cpp oauth_error.cpp)
OBJS = $(patsubst $(SRC)%.cpp,%.o,$(wildcard $(SRC)src/core/*.cpp $(SRC)src/extension/*.cpp) $(JOSE_SOURCES))
ifneq ($(SRC),)
$(shell mkdir -p src/core src/extension src/frontend/oauth src/sql)
endif

REGRESS = $(sort $(basename $(notdir $(wildcard $(SRC)sql/*.sql))))
REGRESS_OPTS = --inputdir=$(or $(SRC),.) --dbname=warden_regress
ISOLATION = $(sort $(basename $(notdir $(wildcard $(SRC)test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=$(SRC)test/isolation --dbname=warden_isolation

PG_CONFIG ?= pg_config
# PostgreSQL's headers are not clean under C++20 with -Wextra -Werror; -isystem silences them
# and wins over PGXS's own -I for the same folder.
PG_CPPFLAGS = -isystem $(shell $(PG_CONFIG) --includedir-server) -I$(abspath $(or $(SRC),.))/src -DWARDEN_VERSION='"$(EXTVERSION)"'
PG_CXXFLAGS = -std=c++20 -Wall -Wextra $(if $(WARDEN_WERROR),-Werror)
SHLIB_LINK += -lstdc++ -lsodium -lcrypto

# PGXS would compile every .cpp again to LLVM bitcode without -std=c++20; warden has no use for JIT inlining.
override with_llvm = no

ORCHESTRATION_GOALS := run check stop unit fuzz fuzz-long bench cmake-build lint deb ha-run ha-stop ha-check

# The orchestration goals stand alone (PGXS has its own, unsupported, "check"); every other goal
# is PGXS's: all, install, installcheck, clean.
ifneq ($(filter $(ORCHESTRATION_GOALS),$(MAKECMDGOALS)),)
.PHONY: $(ORCHESTRATION_GOALS)

run:
	@scripts/run

check:
	@scripts/check

stop:
	@scripts/mcp stop
	@scripts/pg stop

cmake-build:
	@scripts/build

unit: cmake-build
	@cd build && ctest --output-on-failure

fuzz:
	@scripts/fuzz 30

fuzz-long:
	@scripts/fuzz 600

bench:
	@scripts/bench

lint:
	@scripts/lint

deb:
	@scripts/deb

# High availability (scripts/ha): three nodes with a synchronous standby and automatic failover.
ha-run:
	@scripts/deps
	@WARDEN_BUILD_TARGETS=warden-mcp scripts/build
	@scripts/ha start

ha-stop:
	@scripts/ha stop

ha-check:
	@scripts/ha-check
else
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifeq ($(PGXS),)
$(error PostgreSQL server headers are missing: run scripts/deps (or make check / make run))
endif
include $(PGXS)

# PGXS tracks no header dependencies; a changed header must rebuild every object that could
# include it, or objects disagree about a struct's layout.
$(OBJS): $(wildcard $(SRC)src/core/*.hpp $(SRC)src/extension/*.hpp)

# One recipe assembles every script: a header line, then each part with a "-- from" marker.
assemble_sql = { printf '%s\n' '$(1)'; for f in $(2); do echo; echo "-- from $$f"; cat "$$f"; done; } > $@

all: $(GENERATED_SQL)
src/sql/warden--$(EXTVERSION).sql: $(SRC)src/sql/install/guard.sql $(BASE_SQL) $(UPDATE_SQL) $(FUNCTION_SQL)
	@$(call assemble_sql,$(SQL_HEADER),$^)
src/sql/warden--0.1.0--0.2.0.sql: $(sort $(wildcard $(SRC)src/sql/updates/0.1.0--0.2.0/*.sql)) $(FUNCTION_SQL)
	@$(call assemble_sql,$(SQL_UPDATE_HEADER),$^)
# The 0.1.0 install script exactly as it shipped (the upgrade test compares it with v0.1.0's).
src/sql/warden--0.1.0.sql: $(BASE_SQL)
	@$(call assemble_sql,$(SQL_HEADER),$^)

# make install also installs warden-mcp (built by CMake in build/) into PREFIX/bin (default
# /usr/local; DESTDIR is honoured). WARDEN_MCP=no installs the extension alone (the scripts and
# the Debian package do: they build and install warden-mcp themselves).
PREFIX ?= /usr/local
ifneq ($(WARDEN_MCP),no)
install: install-warden-mcp
endif
.PHONY: install-warden-mcp
install-warden-mcp:
	cmake -S $(or $(SRC),.) -B build $(if $(wildcard build/CMakeCache.txt),,-DCMAKE_BUILD_TYPE=Release -DWARDEN_BUILD_TESTS=OFF) >/dev/null
	cmake --build build --target warden-mcp -j$(or $(WARDEN_JOBS),2)
	cmake --install build --prefix '$(PREFIX)'
endif
