# The README's two commands: `make run` and `make test`. Each installs what is
# missing (Debian packages), builds incrementally, then runs.
BUILD ?= build
JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: run test build deps bench clean mutate

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
