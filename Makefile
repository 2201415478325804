# stackhand — build, run locally, test, benchmark.
# Everything here needs only Go; tools come through the Go module proxy.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/stackhand/stackhand/internal/cli.Version=$(VERSION)
BIN      := bin/stackhand
RUN_DIR  := .run
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 5s

.PHONY: all build run test vet lint unit fuzz-short fuzz bench clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./agent

# The agent in local mode on the example config and hooks, in a scratch directory.
run: build
	@mkdir -p $(RUN_DIR)/local $(RUN_DIR)/demo
	@cp packaging/examples/local.yaml $(RUN_DIR)/stackhand.yaml
	@for f in packaging/examples/local/*; do [ -e $(RUN_DIR)/local/$$(basename $$f) ] || cp $$f $(RUN_DIR)/local/; done
	@rm -rf $(RUN_DIR)/hooks.d && mkdir -p $(RUN_DIR)/hooks.d
	@for d in hooks/*/; do e=$$(basename $$d); install -d -m 0755 $(RUN_DIR)/hooks.d/$$e; \
		for h in $$d*; do install -m 0755 $$h $(RUN_DIR)/hooks.d/$$e/; done; done
	@chmod 0755 $(RUN_DIR) $(RUN_DIR)/hooks.d
	@echo
	@echo "stackhand runs in local mode in $(RUN_DIR)/ (Ctrl-C stops it)."
	@echo "  see a deploy:    edit $(RUN_DIR)/local/metadata.json and change \"release\""
	@echo "  see a configure: add an instance to $(RUN_DIR)/local/peers.json"
	@echo "  see a shutdown:  echo Terminated > $(RUN_DIR)/local/lifecycle"
	@echo "  in another terminal: $(BIN) status --config $(RUN_DIR)/stackhand.yaml"
	@echo "                      $(BIN) trigger deploy --config $(RUN_DIR)/stackhand.yaml"
	@echo
	DEMO_DIR=$(abspath $(RUN_DIR))/demo $(BIN) run --config $(RUN_DIR)/stackhand.yaml

# Everything CI runs.
test: vet lint fuzz-short unit

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: run gofmt -w on the files above"; exit 1; }
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...

lint:
	GOBIN=$(abspath bin) $(GO) install $(STATICCHECK)
	bin/staticcheck ./...
	GOOS=windows bin/staticcheck ./...

unit:
	$(GO) test -race -count=1 -timeout 15m ./...

# Each fuzz target for a few seconds; `make fuzz FUZZTIME=5m` for a longer run.
FUZZ_TARGETS := ./internal/cfnpath:FuzzParse ./internal/cfnpath:FuzzLookup \
	./internal/config:FuzzCfnHupINI ./internal/config:FuzzParseYAML
fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; done
fuzz: fuzz-short

# Figures, never pass/fail: idle RSS and CPU, reaction time. Recorded in README.
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 30m ./agent/

clean:
	rm -rf bin dist $(RUN_DIR)
