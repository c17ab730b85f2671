# crmwatch — the two commands a newcomer needs are `make demo` and `make test`.
GO        ?= go
PKGS      ?= ./...
BENCHTIME ?= 2s
FUZZTIME  ?= 30s

.PHONY: demo test setup check lint unit bench fuzz build clean chaos

## demo: run server + simulated CRM farm + agents on the embedded defaults;
## pass demo flags with ARGS, e.g. make demo ARGS="--duration 60s"
demo:
	$(GO) run ./cmd/crmwatch demo $(ARGS)

## test: everything CI runs: set-up, formatting, vet (linux and windows), the Windows build,
## all tests under the race detector
test: setup check unit

setup:
	bash scripts/setup.sh

check: lint
	GOOS=windows $(GO) build ./...
	GOOS=windows $(GO) vet ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff

unit:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

## chaos: the whole delivery chaos suite (make test runs its bounded part)
chaos: setup
	CRMWATCH_CHAOS=full $(GO) test -count=1 -timeout 30m -v ./e2e/chaos

## bench: every hot-path benchmark (figures in docs/performance.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

## fuzz: run each fuzz target for FUZZTIME
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

build:
	$(GO) build -o bin/crmwatch ./cmd/crmwatch
	$(GO) build -o bin/crmwatch-agent ./cmd/crmwatch-agent
	GOOS=windows $(GO) build -o bin/crmwatch.exe ./cmd/crmwatch
	GOOS=windows $(GO) build -o bin/crmwatch-agent.exe ./cmd/crmwatch-agent

clean:
	rm -rf bin crmwatch-data
