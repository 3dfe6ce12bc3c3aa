# sandbox: build, test, check and benchmark.
#   make build   install what is missing (Debian packages), then build
#   make test    the whole suite: unit tests, and real sandboxes as root and as an ordinary user
#                (required: where no sandbox can start, those tests fail rather than skip),
#                then a short fuzzing run of every parser of untrusted input
#   make fuzz    every parser of untrusted input fuzzed with libFuzzer, 10^6 executions each
#   make check   build with warnings as errors (C always builds with -Werror), and check formatting
#   make bench   spawn overhead beside bubblewrap and bare exec; 200 sandboxes at once;
#                image build and import times, and spawn on an image root beside the host's;
#                supervisor memory under 1 GiB of output; sandbox verify beside the same steps bare;
#                the supervisor's memory while it reads hostile reports; what 10 000 runs and
#                1 000 verifies leave behind
#   make corpus  verify's decisions on real projects beside their bare truth (bench/corpus/truth.tsv),
#                where their snapshots are on this machine (CORPUS_MIRROR, default /work/.mirror)
SWIFT ?= swift
PACKAGES := libseccomp-dev bubblewrap hyperfine pkg-config bc gcc python3 time golang-go mocha node-tap gettext git \
	mmdebstrap fakechroot fakeroot debian-archive-keyring umoci
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build release test check format bench fuzz corpus clean

deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release -Xswiftc -static-executable

test: build
	SANDBOX_TESTS_NEED_SANDBOXES=1 $(SWIFT) test
	bench/fuzz.sh 5000

fuzz: deps
	bench/fuzz.sh 1000000

check: deps
	$(SWIFT) build -Xswiftc -warnings-as-errors
	$(SWIFT) build --build-tests -Xswiftc -warnings-as-errors
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests bench

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests bench

bench: release
	bench/spawn.sh
	bench/images.sh
	python3 bench/verify.py .build/release/sandbox
	python3 bench/reports.py .build/release/sandbox
	python3 bench/soak.py .build/release/sandbox
	bench/fuzz.sh 100000

CORPUS_MIRROR ?= /work/.mirror

corpus: build
	@if [ -d "$(CORPUS_MIRROR)" ]; then bench/corpus.sh "$(CORPUS_MIRROR)"; \
	else echo "no snapshots at $(CORPUS_MIRROR): nothing to compare (set CORPUS_MIRROR)"; fi

clean:
	rm -rf .build
