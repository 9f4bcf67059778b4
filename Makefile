# The README's two commands: `make run` and `make test`. Each installs what is
# missing (Debian packages), builds incrementally, then runs.
BUILD ?= build
JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: run test build deps bench clean mutate fuzz fuzz-deps fuzz-build

deps:
	@./install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/jobd serve --config conf/jobd.ini $(ARGS)

test: build
	cd $(BUILD) && ctest --output-on-failure $(ARGS)

# Not part of `test`: puts each bug of tests/mutate/mutations.txt into a
# copy of the tree and checks that a test fails (slow: a rebuild each).
# `make mutate ARGS=pg:` runs only mutations whose description contains pg:.
mutate: deps
	tests/mutate/run.sh $(ARGS)

bench: build
	./$(BUILD)/jobd bench --config conf/jobd.ini $(ARGS)

clean:
	rm -rf $(BUILD)

# Fuzzing (see README, "Fuzzing"): builds the libFuzzer targets with clang++,
# ASan and UBSan into $(FUZZ_BUILD), then runs each for FUZZ_SECONDS on its
# committed seed corpus (new inputs go to $(FUZZ_BUILD)/corpus/<target>,
# crashes to $(FUZZ_BUILD)/artifacts/). FUZZ_TARGETS picks some.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= http_request job_input config_file iso_time openai_reply
FUZZ_ARGS ?=

fuzz-deps:
	@./install-deps.sh --fuzz

$(FUZZ_BUILD)/CMakeCache.txt:
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_COMPILER=clang++ -DJOBD_FUZZ=ON

fuzz-build: fuzz-deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@mkdir -p $(FUZZ_BUILD)/artifacts
	@failed=""; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  echo "== fuzz_$$t ($(FUZZ_SECONDS) s)"; \
	  dict=""; [ -f tests/fuzz/$$t.dict ] && dict="-dict=tests/fuzz/$$t.dict"; \
	  ./$(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 \
	    -print_final_stats=1 $$dict \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- $(FUZZ_ARGS) \
	    $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: findings in:$$failed (see $(FUZZ_BUILD)/artifacts)"; exit 1; fi
