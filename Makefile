# stackhand — build, run locally, test, benchmark.
# Everything here needs only Go; tools come through the Go module proxy.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The packages' version: the tag without its v, commits since the tag after a +
# (v1.2.0-3-gabc1234 -> 1.2.0+3.gabc1234, which dpkg and rpm sort after 1.2.0), or
# 0.0.0+git<hash> before the first tag.
PKG_VERSION ?= $(shell echo '$(VERSION)' | sed -e 's/^v//' -e '/^[0-9][0-9]*\.[0-9]/{s/-/+/;s/-/./g;b' -e '}' -e 's/-/./g;s/^/0.0.0+git/')
# Every time stamp in the packages: the last commit's time, so a rebuild is identical.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH
# Release builds are reproducible: no paths, no VCS stamp, no build id, no cgo.
BUILDFLAGS := -trimpath -buildvcs=false
LDFLAGS  := -s -w -buildid= -X github.com/stackhand/stackhand/internal/cli.Version=$(VERSION)
BIN      := bin/stackhand
DIST     ?= dist
PLATFORMS := linux/amd64 linux/arm64 windows/amd64
NFPM     := $(GO) tool -modfile=$(abspath tools/go.mod) nfpm
RUN_DIR  := .run
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 5s

.PHONY: all build build-all package package-test reproducible run test vet lint unit fuzz-short fuzz bench bench-cwagent clean

all: build

# The agent for this machine, in bin/ (what `make run` and the tests use).
build:
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -ldflags '$(LDFLAGS)' -o $(BIN) ./agent

# The release binaries: $(DIST)/bin/<os>_<arch>/stackhand[.exe].
build-all:
	@set -e; for p in $(PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; ext=; \
		[ $$os = windows ] && ext=.exe; echo "build $$p"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build $(BUILDFLAGS) -ldflags '$(LDFLAGS)' \
			-o $(DIST)/bin/$${os}_$${arch}/stackhand$$ext ./agent; done

# .deb and .rpm for linux amd64 and arm64 (nfpm.yaml) and the .msi for windows amd64
# (packaging/windows/), into $(DIST)/. The MSI needs wixl, msitools and faketime
# (Debian: apt-get install msitools wixl faketime); SIGN_CERT and SIGN_KEY sign it.
package: build-all
	@rm -f $(DIST)/*.deb $(DIST)/*.rpm $(DIST)/*.msi $(DIST)/SHA256SUMS
	@set -e; for arch in amd64 arm64; do for fmt in deb rpm; do \
		ARCH=$$arch PKG_VERSION='$(PKG_VERSION)' BIN_DIR='$(DIST)/bin' \
			$(NFPM) package --config nfpm.yaml --packager $$fmt --target $(DIST)/; done; done
	packaging/windows/build-msi.sh $(DIST)/bin/windows_amd64/stackhand.exe '$(PKG_VERSION)' \
		$(DIST)/stackhand_$(PKG_VERSION)_windows_amd64.msi
	@cd $(DIST) && sha256sum *.deb *.rpm *.msi bin/*/stackhand* | tee SHA256SUMS

# Builds the packages and tests them on this (Debian) machine: installs, upgrades,
# removes and purges the .deb, inspects the .rpm and the .msi. Run as root: it first
# installs the Debian tools it needs (rpm, msitools, wixl, faketime, ...), then runs
# `make package`.
package-test:
	MAKE='$(MAKE)' VERSION='$(VERSION)' DIST='$(DIST)' packaging/test/package-test.sh

# Two builds of the binaries and packages from two copies of the source, compared.
# REPRO_COLD=1 builds the second time with an empty Go build cache.
reproducible:
	VERSION='$(VERSION)' PKG_VERSION='$(PKG_VERSION)' packaging/test/reproducible.sh

# The agent in local mode on the example config and hooks, in a scratch directory.
run:
	@echo "make run: building $(BIN) first (a first build on a cold machine compiles the AWS SDK and takes a few minutes, silently; later builds take seconds)"
	@$(MAKE) --no-print-directory build
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
	@echo "  see a shutdown:  echo Terminated > $(RUN_DIR)/local/lifecycle   (then make clean starts a fresh instance)"
	@echo "  ship a log line: echo hello >> $(RUN_DIR)/demo/app.log   (lands in $(RUN_DIR)/local/logs/)"
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
	./internal/config:FuzzCfnHupINI ./internal/config:FuzzParseYAML \
	./internal/metrics:FuzzParseMeminfo ./internal/metrics:FuzzParseStat ./internal/metrics:FuzzMountinfo \
	./internal/metrics:FuzzParseCPULines ./internal/metrics:FuzzParseDiskstats ./internal/metrics:FuzzParseNetDev \
	./internal/metrics:FuzzCountTCPStates ./internal/metrics:FuzzParsePidStat \
	./internal/hooks:FuzzLogFileName ./internal/backoff:FuzzPolicyDelay \
	./internal/awsenv:FuzzParseCredentialFile ./internal/status:FuzzAppendString ./internal/status:FuzzAppendFloat \
	./internal/state:FuzzDecode ./internal/source:FuzzParseRequest ./internal/source:FuzzLocalFiles \
	./internal/logship:FuzzRecordReader ./internal/logship:FuzzReadExportEntry ./internal/logship:FuzzParseEvent ./internal/archive:FuzzExtract \
	./internal/cfninit:FuzzParse ./internal/cfninit:FuzzRender ./internal/cfnboot:FuzzSplitCommandLine \
	./internal/release:FuzzReleaseName ./internal/cwagent:FuzzTranslate
# Go's fuzzer can stop a short run with "context deadline exceeded" and no failing input
# when a busy machine slows its warm-up over the cached corpus; such a run is tried once
# more (its cache is warm then). A failing input always fails.
fuzz-short:
	@set -e; log=$$(mktemp); trap 'rm -f $$log' EXIT; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		if $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg > $$log 2>&1; then tail -n 1 $$log; \
		elif grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input' $$log; then \
			echo "  the fuzzer ran out of time warming up; once more"; \
			$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg > $$log 2>&1 || { cat $$log; exit 1; }; tail -n 1 $$log; \
		else cat $$log; exit 1; fi; done
fuzz: fuzz-short

# Figures, never pass/fail: idle RSS and CPU, reaction time, AWS calls per instance-hour
# and a 1,000-agent fleet against a throttling stand-in, one package at a time (-p 1) so
# that the fleet does not load the machine under the idle figures. Recorded in README.
bench: build
	$(GO) test -run '^$$' -bench . -skip CWAgentColdStart -benchtime 1x -count 1 -p 1 -timeout 30m ./agent/ ./internal/source/
	$(GO) test -run '^$$' -bench 'Collect|Aggregate' -benchmem -count 5 ./internal/metrics/
	$(GO) test -run '^$$' -bench 'TakeRequests' -benchtime 1x -count 3 ./internal/engine/
	$(GO) test -run '^$$' -bench 'ExtractTarGz' -benchtime 1x -count 3 ./internal/archive/
	$(GO) test -run '^$$' -bench 'Prepare200MB' -benchtime 1x -count 3 ./internal/release/
	$(GO) test -run '^$$' -bench 'FleetRollout100' -benchtime 1x -count 1 -timeout 20m ./internal/agent/
	$(GO) test -run '^$$' -bench 'JournalLinesPerCPUSecond' -benchtime 1x -count 5 -timeout 20m ./internal/logship/

# The CloudWatch agent and stackhand side by side on the cold-start work, against the CPU
# of compressing the same bodies alone (BenchmarkCWAgentColdStart). Not part of bench: it
# needs a CloudWatch agent build (README, Performance), named by CWAGENT_BIN (its
# amazon-cloudwatch-agent) and CWAGENT_TRANSLATOR (its config-translator). About 10 minutes.
bench-cwagent: build
	@test -x "$(CWAGENT_BIN)" && test -x "$(CWAGENT_TRANSLATOR)" || { echo 'set CWAGENT_BIN and CWAGENT_TRANSLATOR to a CloudWatch agent build (see README)'; exit 1; }
	CWAGENT_BIN=$(abspath $(CWAGENT_BIN)) CWAGENT_TRANSLATOR=$(abspath $(CWAGENT_TRANSLATOR)) \
		$(GO) test -run '^$$' -bench 'CWAgentColdStart' -benchtime 1x -count 1 -timeout 60m ./agent/

clean:
	rm -rf bin dist $(RUN_DIR)
