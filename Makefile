# A thin layer over CMake. `make run` and `make check` are the README's two commands.
BUILD       ?= build
ASAN_BUILD  ?= build-asan
FUZZ_BUILD  ?= build-fuzz
JOBS        ?= $(shell nproc)
MAKEFLAGS   += --no-print-directory
FUZZ        ?= ntp_packet
SECS        ?= 60
CTEST_FLAGS ?= --output-on-failure -j$(JOBS)

.PHONY: all deps build run check test asan format format-check fuzz fuzz-run clean

all: build

deps:
	@sh deploy/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DKAIROS_WERROR=ON >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# Starts kairosd in the foreground (-d) with the embedded default configuration, leaving
# the system clock alone (-x). Stop it with Ctrl-C.
run: build
	@echo "make run: starting $(BUILD)/engine/kairosd -d -x with the embedded default configuration"
	@exec $(BUILD)/engine/kairosd -d -x

test: build
	@cd $(BUILD) && ctest $(CTEST_FLAGS)

format-check: deps
	@echo "clang-format: checking $$(git ls-files '*.c' '*.h' | wc -l) files"
	@git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-O1 \
	  -DKAIROS_WERROR=ON -DKAIROS_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_FLAGS)

# Release build with -Werror, formatting, ctest; then the ASan+UBSan build and ctest again.
check: build format-check test asan

# libFuzzer binaries (clang), and one target run for SECS seconds on a copy of its corpus:
#   make fuzz-run FUZZ=conf_line SECS=60
fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAIROS_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)

fuzz-run: fuzz
	@mkdir -p .fuzz/$(FUZZ) && cp -n tests/fuzz/corpus/$(FUZZ)/* .fuzz/$(FUZZ)/ 2>/dev/null || true
	$(FUZZ_BUILD)/tests/fuzz_$(FUZZ) -max_total_time=$(SECS) -print_final_stats=1 \
	  .fuzz/$(FUZZ) tests/fuzz/corpus/$(FUZZ)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
