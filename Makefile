# warden — PGXS build of the extension, plus the two commands a user runs:
#   make run    installs what is missing, builds, starts the private cluster (and front-end)
#   make check  installs what is missing, builds, runs every test suite
# Everything outside the server (core library, warden-mcp, unit tests, benchmarks, fuzzers)
# is built by CMake into build/.

EXTENSION = warden
MODULE_big = warden
# The install script is assembled from one file per topic (src/sql/0.1.0/NN_topic.sql), in name
# order, so that each part stays reviewable on its own.
DATA = src/sql/warden--0.1.0.sql
EXTRA_CLEAN = src/sql/warden--0.1.0.sql
OBJS = $(patsubst %.cpp,%.o,$(wildcard src/core/*.cpp src/extension/*.cpp))

REGRESS = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --dbname=warden_regress
ISOLATION = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --dbname=warden_isolation

PG_CONFIG ?= pg_config
# PostgreSQL's headers are not clean under C++20 with -Wextra -Werror; -isystem silences them
# and wins over PGXS's own -I for the same folder.
PG_CPPFLAGS = -isystem $(shell $(PG_CONFIG) --includedir-server) -I$(CURDIR)/src
PG_CXXFLAGS = -std=c++20 -Wall -Wextra -Werror
SHLIB_LINK += -lstdc++ -lsodium

# PGXS would compile every .cpp again to LLVM bitcode without -std=c++20; warden has no use for JIT inlining.
override with_llvm = no

ORCHESTRATION_GOALS := run check stop unit fuzz fuzz-long bench cmake-build lint

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
else
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifeq ($(PGXS),)
$(error PostgreSQL server headers are missing: run scripts/deps (or make check / make run))
endif
include $(PGXS)

# PGXS tracks no header dependencies; a changed header must rebuild every object that could
# include it, or objects disagree about a struct's layout.
$(OBJS): $(wildcard src/core/*.hpp src/extension/*.hpp)

all: src/sql/warden--0.1.0.sql
src/sql/warden--0.1.0.sql: $(sort $(wildcard src/sql/0.1.0/*.sql))
	@{ printf '%s\n' '\echo Use "CREATE EXTENSION warden" to load this file. \quit'; \
	   for f in $^; do echo; echo "-- from $$f"; cat "$$f"; done; } > $@
endif
