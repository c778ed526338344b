# kubemesos: Kubernetes as an Apache Mesos framework, in one binary.
# `make help` lists the targets.

GO          ?= go
BIN         := bin/kubemesos
# The slim executor (`kubemesos executor` alone), embedded in $(BIN) from a
# copy in its package's folder (not in git) with -tags slimexecutor.
SLIM_EXECUTOR := bin/kubemesos-executor
SLIM_EMBED    := cmd/kubemesos/app/executorbin/kubemesos-executor
PKG         := github.com/kubemesos/kubemesos
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
K8S_VERSION := v1.37.2
# The embedded Kubernetes components report K8S_VERSION (kubectl version, /version).
LDFLAGS     := -X $(PKG)/internal/buildinfo.Version=$(VERSION) \
	-X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37
# Packages with tests, split by whether k8s.io/kubernetes is linked in. The
# light ones run under -race; the heavy ones (the control plane and the
# kube-scheduler wiring) without it, which reuses the build of the binary
# instead of building all of Kubernetes a second time with the race detector.
# Packages without tests are built by vet.
HEAVY_TEST_PKGS = $(shell $(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{join .Deps " "}}{{end}}' ./... | awk '/ k8s\.io\/kubernetes\//{print $$1}')
TEST_PKGS       = $(filter-out $(HEAVY_TEST_PKGS),$(shell $(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...))
TOOLS       := $(CURDIR)/bin/tools
STATICCHECK := $(TOOLS)/staticcheck
STATICCHECK_VERSION := v0.8.2
BENCHSTAT   := $(TOOLS)/benchstat
PROTOC_GEN_GO := $(TOOLS)/protoc-gen-go
PROTOS      := executor/protocol/protocol.proto
BENCHSTAT_VERSION := v0.0.0-20260908200009-22c9c6c9d4da
RUN_ARGS    ?= --agents 2
BENCH       ?= .
BENCHTIME   ?= 5x

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/kubemesos, with the slim executor (bin/kubemesos-executor) inside
	$(GO) build -ldflags "$(LDFLAGS) -s -w" -o $(SLIM_EXECUTOR) ./cmd/kubemesos-executor
	cp $(SLIM_EXECUTOR) $(SLIM_EMBED)
	$(GO) build -tags slimexecutor -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/kubemesos

.PHONY: run
run: build ## Run a whole cluster: bin/kubemesos up (RUN_ARGS='--agents 3 --reset' to change flags)
	./$(BIN) up $(RUN_ARGS)

.PHONY: test
test: verify build ## Run every test (unit, contract, e2e) after the static checks
	KUBEMESOS_BINARY=$(CURDIR)/$(BIN) $(GO) test -race -count=1 $(TEST_PKGS)
	# executorbin once more as `make build` links it, with the slim executor embedded.
	$(GO) test -race -count=1 -tags slimexecutor ./cmd/kubemesos/app/executorbin/
	$(if $(HEAVY_TEST_PKGS),$(GO) test -count=1 $(HEAVY_TEST_PKGS))

.PHONY: bench
bench: ## Run the Go benchmarks (BENCH=regexp, BENCHTIME=5x)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -count 3 ./...

.PHONY: bench-mesos-sim
bench-mesos-sim: $(BENCHSTAT) ## mesos-sim's benchmarks of docs/benchmarks.md, medians by benchstat (takes ~10 min)
	@mkdir -p bin
	$(GO) test -run '^$$' -bench 'AllocationCycle' -benchtime 5x -count 5 ./mesos-sim/allocator/ | tee bin/bench-mesos-sim.txt
	$(GO) test -run '^$$' -bench 'StateJSON/agents=20000/running=200000/.*/http' -benchtime 3x -count 3 -timeout 30m ./mesos-sim/master/ | tee -a bin/bench-mesos-sim.txt
	$(GO) test -run '^$$' -bench 'LaunchThroughput' -benchtime 1x -count 3 -timeout 30m ./mesos-sim/master/ | tee -a bin/bench-mesos-sim.txt
	$(GO) test -run '^$$' -bench 'CommandLaunch' -benchtime 1x -count 5 -timeout 30m ./mesos-sim/local/ | tee -a bin/bench-mesos-sim.txt
	$(BENCHSTAT) bin/bench-mesos-sim.txt

.PHONY: bench-e2e
bench-e2e: build ## kubemesos against stock Kubernetes (issue 8): prints the table, writes docs/benchmarks.md (takes long; BENCH_E2E_ARGS adds flags)
	./$(BIN) bench --cpuprofile bin/bench-e2e-profiles --log-dir bin/bench-e2e-logs $(BENCH_E2E_ARGS)

$(BENCHSTAT):
	GOBIN=$(TOOLS) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

.PHONY: fuzz
fuzz: ## Fuzz the network-facing decoders for FUZZTIME each (default 30s)
	@for target in FuzzSchedulerCall FuzzOperatorCall; do \
		$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $${FUZZTIME:-30s} ./mesos-sim/master/ || exit 1; \
	done
	$(GO) test -run '^$$' -fuzz '^FuzzRecordIO$$' -fuzztime $${FUZZTIME:-30s} ./mesos-sim/wire/
	$(GO) test -run '^$$' -fuzz '^FuzzApply$$' -fuzztime $${FUZZTIME:-30s} ./framework/inventory/

.PHONY: verify
verify: fmt-check vet lint tidy-check generate-check ## Static checks: gofmt, go vet, staticcheck, go mod tidy, generated code

.PHONY: fmt-check
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: fmt
fmt: ## Format the code
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet:
	$(GO) vet ./...

.PHONY: lint
lint: $(STATICCHECK)
	$(STATICCHECK) ./...

$(STATICCHECK):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

.PHONY: tidy-check
tidy-check:
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; $(GO) mod tidy -diff; exit 1; }

.PHONY: generate
generate: $(PROTOC_GEN_GO) ## Regenerate the Go code of the .proto files (needs protoc: apt-get install protobuf-compiler)
	protoc --plugin=protoc-gen-go=$(PROTOC_GEN_GO) --go_out=. --go_opt=paths=source_relative $(PROTOS)

.PHONY: generate-check
generate-check: $(PROTOC_GEN_GO)
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	protoc --plugin=protoc-gen-go=$(PROTOC_GEN_GO) --go_out=$$tmp --go_opt=paths=source_relative $(PROTOS) || exit 1; \
	for f in $(PROTOS:.proto=.pb.go); do \
		cmp -s $$f $$tmp/$$f || { echo "$$f is not current: run 'make generate'"; exit 1; }; \
	done

# protoc-gen-go at the version go.mod pins for google.golang.org/protobuf.
$(PROTOC_GEN_GO):
	$(GO) build -o $@ google.golang.org/protobuf/cmd/protoc-gen-go

.PHONY: clean
clean: ## Remove build output
	rm -rf bin $(SLIM_EMBED)
