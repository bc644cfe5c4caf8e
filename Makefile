# SPDX-License-Identifier: Apache-2.0
# The two commands a newcomer needs:  make demo   and   make test
BUILD ?= build
ASAN_BUILD ?= build-asan
PREFIX ?= /usr/local

.PHONY: all deps build demo image test test-fast test-asan bench bench-webhook bench-gate bench-watch fuzz install clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Build a small sample image (a Debian-like base layer, a layer that drops a
# payload, a layer that "deletes" it) and scan it, printing the table.
demo: build
	@python3 tests/fixtures/demo.py $(BUILD)/demo-image
	@echo
	$(BUILD)/stowaway scan --format table oci:$(BUILD)/demo-image:latest; \
	  rc=$$?; echo "(exit code $$rc: 0 = nothing at or above --fail-on high)"; [ $$rc -le 1 ]

# An OCI image of stowaway itself, the admission webhook's (deploy/kubernetes),
# in $(BUILD)/image, tag = the version: Debian's packages of the libraries it
# links, laid out by mmdebstrap and umoci, no container daemon. The binary
# then scans it, signs it into the layout and verifies it
# (scripts/mkimage.sh: IMAGE_NAME, IMAGE_KEY, SOURCE_DATE_EPOCH).
image: build
	scripts/mkimage.sh $(BUILD) $(BUILD)/image

# Every test: unit (cmocka), fuzz corpus replays, end-to-end, and the same
# again under AddressSanitizer + UBSan. Ends with "N passed, N failed".
test: build
	@tests/run.sh $(BUILD) $(ASAN_BUILD)

test-fast: build
	@tests/run.sh $(BUILD)

bench: build
	@scripts/deps.sh bench
	bench/scan.sh $(BUILD)
	bench/registry.sh $(BUILD)

# The admission webhook on 127.0.0.1 under wrk (and h2load for HTTP/2):
# cached reviews/s and latency with every answer checked, cold decisions
# (a local registry), RSS over 1,000,000 reviews, PASS/MISS per target.
bench-webhook: build
	@scripts/deps.sh bench
	bench/webhook.sh $(BUILD)

# the registry gate: the bench image through it vs straight from the
# registry (skopeo), 16 clients from its store, its peak RSS
bench-gate: build
	@scripts/deps.sh bench
	bench/gate.sh $(BUILD)

# registry-wide sweeps: the 300-image test registry with 1, 2 and 4 workers
# against one PostgreSQL, a re-sweep, and a loop of scan as the peer
bench-watch: build
	@scripts/deps.sh bench
	bench/watch.sh $(BUILD)

fuzz: deps
	fuzz/run.sh $(or $(SECONDS),60)

# The binary, libstowaway (static and shared), the headers under
# include/stowaway/, stowaway.pc, a man page per command (share/man/man1)
# and the bash and zsh completions, under PREFIX; DESTDIR stages the tree
# elsewhere (make install PREFIX=/usr DESTDIR=/tmp/pkg).
install: deps $(BUILD)/build.ninja
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	ninja -C $(BUILD)
	meson install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir "$(DESTDIR)")

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
