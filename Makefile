# nsjail-net: build, test, benchmark, demo.
GO       ?= go
BIN      ?= bin/nsjail-net
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
PKGS     := ./...
# System packages the tests, the demo and the benchmark use.
APT_PKGS := iproute2 iptables curl netcat-openbsd dnsutils iputils-ping iperf3 procps util-linux python3-minimal socat nftables sudo tmux perl-base man-db groff-base

.PHONY: all build test unit integration fuzz bench demo deps clean man install

all: build man

# make install: PREFIX and DESTDIR as usual; the man pages and completion
# scripts are generated into GENDIR first (make man).
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
DATADIR  ?= $(PREFIX)/share
MANDIR   ?= $(DATADIR)/man
GENDIR   ?= bin/share

# urfave_cli_no_docs leaves out the CLI's markdown/roff generators, whose
# package initialisation every launch (and every init stage) would pay.
TAGS     := urfave_cli_no_docs

build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/nsjail-net

# Installs the system packages the tests and demo need (Debian/Ubuntu).
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; }; \
	fi

# Unit tests run anywhere; the integration tests in test/ need root and build
# their own namespaces (they never touch this machine's network).
test: build
	$(GO) vet $(PKGS)
	NSJAIL_NET_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m $(PKGS)
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 20000x -fuzzminimizetime 200x ./policy
	$(GO) test -run '^$$' -fuzz '^FuzzParseRuleFlag$$' -fuzztime 20000x -fuzzminimizetime 200x ./policy
	$(GO) test -run '^$$' -fuzz '^FuzzParsePublishFlag$$' -fuzztime 20000x -fuzzminimizetime 200x ./policy
	$(GO) test -run '^$$' -fuzz '^FuzzValidName$$' -fuzztime 20000x -fuzzminimizetime 200x ./state
	$(GO) test -run '^$$' -fuzz '^FuzzProgramEnv$$' -fuzztime 20000x -fuzzminimizetime 200x ./cmd/nsjail-net
	$(GO) test -run '^$$' -fuzz '^FuzzWireDecode$$' -fuzztime 20000x -fuzzminimizetime 200x ./sandbox/stage

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test)

integration: build
	NSJAIL_NET_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -v -timeout 20m ./test/

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 60s ./policy
	$(GO) test -run '^$$' -fuzz '^FuzzParseRuleFlag$$' -fuzztime 30s ./policy
	$(GO) test -run '^$$' -fuzz '^FuzzParsePublishFlag$$' -fuzztime 30s ./policy
	$(GO) test -run '^$$' -fuzz '^FuzzWireDecode$$' -fuzztime 30s ./sandbox/stage

bench: build
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/bench-floor ./bench/floor
	NSJAIL_NET_BIN=$(CURDIR)/$(BIN) $(GO) run ./bench -bin $(CURDIR)/$(BIN) -floor $(CURDIR)/bin/bench-floor -out bench/results.md

demo: deps build
	./demo/demo.sh $(CURDIR)/$(BIN)

# The manual pages nsjail-net(8), from the command definitions, and
# nsjail-net.toml(5), from docs/profiles.md, and the completion scripts: a
# generator built from the command package with the tag mangen (the
# launcher carries none of it).
man:
	$(GO) run -trimpath -tags mangen -ldflags '-X main.version=$(VERSION)' ./cmd/nsjail-net -o $(GENDIR) -profiles docs/profiles.md

install: build man
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/nsjail-net
	install -D -m 0644 $(GENDIR)/nsjail-net.8 $(DESTDIR)$(MANDIR)/man8/nsjail-net.8
	install -D -m 0644 $(GENDIR)/nsjail-net.toml.5 $(DESTDIR)$(MANDIR)/man5/nsjail-net.toml.5
	install -D -m 0644 $(GENDIR)/nsjail-net.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/nsjail-net
	install -D -m 0644 $(GENDIR)/_nsjail-net $(DESTDIR)$(DATADIR)/zsh/site-functions/_nsjail-net
	install -D -m 0644 $(GENDIR)/nsjail-net.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/nsjail-net.fish
	install -D -m 0644 profiles/web.toml $(DESTDIR)$(DATADIR)/doc/nsjail-net/example.toml

clean:
	rm -rf bin
