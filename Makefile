# szrun — see README.md. `make test` and `make demo` set up what they need.
GO       ?= go
BIN      := bin
ORT_LIB  := third_party/ort/libonnxruntime.so.1
export SZRUN_ORT_LIB ?= $(CURDIR)/$(ORT_LIB)
FUZZTIME ?= 20s

.PHONY: all deps ort build plugins test test-large test-unit test-race fuzz lint generate check-generated bench demo fixtures clean zoo zoo-table

all: build

# Debian packages, code generators and the ONNX Runtime library.
deps:
	bash scripts/setup.sh

ort: $(ORT_LIB)
$(ORT_LIB):
	bash scripts/fetch-ort.sh third_party/ort

build: ort
	$(GO) build -o $(BIN)/szrun ./cmd/szrun
	$(MAKE) plugins

plugins:
	@for d in plugins/tensorrt plugins/torch; do \
		if [ -d $$d ] && ls $$d/*.go >/dev/null 2>&1; then \
			$(GO) build -o $(BIN)/szrun-plugin-$$(basename $$d) ./$$d || exit 1; \
		fi; \
	done

# The whole suite: unit and integration tests with the real ONNX Runtime, the
# race detector on the concurrent packages, bounded fuzzing, generated-code
# and lint checks.
test: deps build check-generated test-unit test-race fuzz lint

test-unit:
	$(GO) test -count=1 -timeout 45m ./...

test-race:
	$(GO) test -count=1 -race -timeout 15m ./dag/... ./cache/... ./engine/...

# Every fuzz target runs for FUZZTIME; the recipe and model loaders are the
# ones the issues require, the others guard parsers of untrusted input.
FUZZ_TARGETS := recipe:FuzzParse onnx:FuzzLoad dag:FuzzGraph cache:FuzzParseManifest \
	runtime:FuzzReadNPY plugins/internal/wire:FuzzDecodeObject plugins/tensorrt:FuzzParseSummary \
	onnx:FuzzExternalFiles
fuzz:
	@for spec in $(FUZZ_TARGETS); do \
		pkg=$${spec%%:*}; fn=$${spec##*:}; \
		echo "fuzz ./$$pkg $$fn for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) ./$$pkg || exit 1; \
	done

# Tests too heavy for every CI run: a model over 2 GiB (sparse external
# data; writes ~7 GiB under $$TMPDIR) through cache, a stage and out/.
test-large: build
	SZRUN_TEST_LARGE=1 $(GO) test -count=1 -timeout 20m -run 'Over2GiB' -v ./cmd/szrun/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$$($(GO) env GOPATH)/bin/staticcheck ./...

generate:
	$(GO) generate ./onnx/... ./plugins/...

check-generated:
	bash onnx/gen.sh -check
	bash plugins/proto/gen.sh -check

# The model zoo (zoo/): the corpus is built outside git, in ZOO_DIR, and
# cached there (exports, the npm tarball, inputs, szrun's stage cache); every
# model runs zoo/zoo.yaml and docs/ZOO.md is regenerated. Hours on 2 cores.
# `go test ./zoo` (part of `make test`) runs a small subset. zoo-table only
# re-renders docs/ZOO.md from the records kept in ZOO_DIR/results.
ZOO_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/szrun-zoo
zoo: build
	nice /usr/bin/python3 zoo/build.py $(ZOO_DIR)
	nice $(GO) run ./zoo/cmd/zoo -dir $(ZOO_DIR) -szrun $(BIN)/szrun -o docs/ZOO.md
zoo-table:
	$(GO) run ./zoo/cmd/zoo -dir $(ZOO_DIR) -table-only -o docs/ZOO.md

# The figures of docs/PERFORMANCE.md. BENCH_BIG=1 adds the 1 GiB model
# load/save (needs ~3 GiB of memory) and inspect and the transforms of a 2.4 GB model (up to ~15 GB).
bench: build
	$(GO) test -run '^$$' -bench 'StageOverhead|ParallelSleeps' -benchtime 20x ./engine
	$(GO) test -run '^$$' -bench 'Rerun20Stages1GiB' -benchtime 10x ./cmd/szrun
	$(GO) test -run '^$$' -bench 'HashFile' -benchtime 10x -cpu 1 ./cache
	$(GO) test -run '^$$' -bench 'RemoteHitPerStage' -benchtime 5x ./engine
	$(GO) test -run '^$$' -bench 'RemoteBlob' -benchtime 1x ./cache/bucket
	$(GO) test -run '^$$' -bench 'RunOverhead' ./dag
	$(GO) test -run '^$$' -bench . ./recipe ./runtime
	$(GO) test -run '^$$' -bench 'Float32ToFloat16|LoadSave.*256' -benchtime 3x ./onnx
	$(GO) test -run '^$$' -bench . ./stages/fp16 ./stages/selectstage ./stages/report
	$(GO) test -run '^$$' -bench 'Apply' ./stages/quantize
	$(GO) test -run '^$$' -bench 'StaticPeakRSS' -benchtime 3x ./stages/quantize
	$(GO) test -run 'MemoryIndependentOfSamples' -v ./stages/quantize/calib
	SZRUN_PERF=1 $(GO) test -run 'TestPerfTable' -v ./stages/quantize
	$(GO) test -run '^$$' -bench 'ResnetStructuredSpeedup' -benchtime 40x ./stages/prune
	$(GO) test -run '^$$' -bench 'ZooStructuredSpeedup' -benchtime 10x -timeout 30m ./stages/prune
	$(GO) test -run 'TestDigitsAccuracyTable' -v ./stages/prune
	$(GO) test -run 'TestOverhead' -v ./stages/benchmark
	$(GO) test -run '^$$' -bench 'Run' -benchtime 20x ./plugins
	@if [ -n "$(BENCH_BIG)" ]; then $(GO) test -run '^$$' -bench 'LoadSave1GiB' -benchtime 1x ./onnx; fi
	@if [ -n "$(BENCH_BIG)" ]; then $(GO) test -run '^$$' -bench 'InspectPeakRSS' -benchtime 1x ./stages/inspect; fi
	@if [ -n "$(BENCH_BIG)" ]; then $(GO) test -run '^$$' -bench 'TransformPeakRSS' -benchtime 1x ./stages/builtin; fi

fixtures:
	/usr/bin/python3 examples/models/make_fixtures.py

demo: deps build
	./$(BIN)/szrun run recipes/quickstart.yaml
	@echo
	@echo "Report: recipes/out/quickstart/summary.md (markdown: less, or any editor)"
	@echo "        recipes/out/quickstart/report.html (with plots: open it in a browser, or on a"
	@echo "        remote machine run 'python3 -m http.server -d recipes/out/quickstart' and browse to port 8000)"
	@echo "Model:  recipes/out/quickstart/model.onnx (the selected one; why: recipes/out/quickstart/outputs.json)"

clean:
	rm -rf $(BIN)
