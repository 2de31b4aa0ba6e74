# knet's entry points. README.md documents each target. Builds live under build/<preset>.
SHELL := /bin/bash
.DEFAULT_GOAL := up
KNET := build/release/src/cmd/knet

.PHONY: deps build up test unit fuzz check-format check-headers format lint bench clean

deps:                       ## install every build/test/bench dependency (apt-get, idempotent)
	tools/deps.sh

build: deps                 ## release build of knet and knet-cni
	cmake --preset release >/dev/null
	cmake --build --preset release

up: build                   ## the main job: a 3-node knet cluster (knet cluster up) with the demo app
	KNET=$(KNET) tools/demo.sh

test: deps check-format unit check-headers fuzz   ## every test, as CI runs it

unit:                       ## ASan+UBSan build, then every ctest (unit, integration, root)
	cmake --preset asan >/dev/null
	cmake --build --preset asan
	ctest --preset asan -j2

fuzz:                       ## clang libFuzzer build; each fuzzer runs for a bounded time
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz
	ctest --preset fuzz

check-format:               ## fail on any clang-format diff
	tools/format.sh --check

check-headers:              ## compile every public header on its own
	cmake --preset asan >/dev/null
	cmake --build --preset asan --target check_headers

format:                     ## reformat the tree in place
	tools/format.sh

lint:                       ## clang-tidy over src/ (needs a configured build for compile_commands.json)
	cmake --preset debug >/dev/null
	run-clang-tidy -quiet -p build/debug 'src/.*\.cc$$'

bench: build                ## run the benchmarks and print their figures (see bench/results/)
	bench/run.sh

clean:                      ## remove every build tree
	rm -rf build
