#!/usr/bin/env bash
# Fuzzes every parser of untrusted input with libFuzzer (Sources/sandbox-fuzz).
#   bench/fuzz.sh [RUNS [TARGET...]]
# Builds the harness (release, -sanitize=fuzzer, in .build/fuzz), seeds each target from
# the real fixtures its parser reads (Tests/Fixtures, policies/, images/, examples/), and
# runs it RUNS executions (default 1000000) with inputs up to 64 KiB (4 KiB for the
# policy, image, defaults and seccomp loaders), one target after
# another. Prints each target's executions, seconds and peak memory; a crash, a leak or a
# timeout stops with libFuzzer's report and the input that caused it (in .build/fuzz/).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-1000000}
shift $(($# > 0 ? 1 : 0))
SANDBOX_FUZZ=1 swift build -c release --sanitize=fuzzer --product sandbox-fuzz --scratch-path "$here/.build/fuzz" \
    > "$here/.build/fuzz-build.log" 2>&1 || { cat "$here/.build/fuzz-build.log"; exit 1; }
fuzzer=$here/.build/fuzz/release/sandbox-fuzz
fixtures=$here/Tests/Fixtures
work=$(mktemp -d /tmp/sandbox-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT

# The seeds of each target: files of the kind its parser reads.
seeds() {
    case "$1" in
    junit) ls "$fixtures"/*junit*.xml "$fixtures"/pytest-collection-error.xml ;;
    trx | xml) ls "$fixtures"/*.xml ;;
    cobertura) echo "$fixtures/coverage.xml" ;;
    lcov) echo "$fixtures/node-lcov.info" ;;
    go-cover) echo "$fixtures/go-cover.out" ;;
    coverage-py-json | llvm-cov-json) echo "$fixtures/coverage.json" ;;
    sarif) echo "$fixtures/ruff.sarif" ;;
    ruff-json | eslint-json) echo "$fixtures/ruff.json" ;;
    pylint-json) echo "$fixtures/pylint.json" ;;
    go-test-json) echo "$fixtures/go-test.json" ;;
    cargo-json) echo "$fixtures/clippy.json" ;;
    diagnostics) ls "$fixtures"/{gcc-warnings,go-vet,flake8,mypy,cargo-build-warnings}.txt ;;
    libtest) echo "$fixtures/cargo-test.txt" ;;
    tap) echo "$fixtures/spectre-tap.txt" ;;
    tar) ls "$fixtures"/gnu-tar-*.tar ;;
    oci-layout)
        # The first byte says which part of a layout the rest is (0 an index, 1 a manifest, 2 oci-layout).
        { printf '\000'; cat "$fixtures/umoci-index.json"; } > "$work/oci-index" && echo "$work/oci-index"
        { printf '\001'; cat "$fixtures/umoci-manifest.json"; } > "$work/oci-manifest" && echo "$work/oci-manifest"
        printf '\002{"imageLayoutVersion":"1.0.0"}' > "$work/oci-version" && echo "$work/oci-version" ;;
    git-ls-tree) echo "$fixtures/git-ls-tree.bin" ;;
    git-cat-file) echo "$fixtures/git-cat-file.txt" ;;
    git-diff) echo "$fixtures/git-diff-U0.txt" ;;
    rule-differences) echo "$fixtures/rule-differences.json" ;;
    git-links)
        printf '../c/d\000a/c=../x\000x=b/..\000' > "$work/links" && echo "$work/links" ;;
    policy) ls "$here"/policies/*.yaml | grep -v defaults.yaml ;;
    image) ls "$here"/images/*.yaml ;;
    defaults) echo "$here/policies/defaults.yaml" ;;
    seccomp) echo "$here/policies/seccomp/default.seccomp" ;;
    sandbox-yaml)
        printf 'gates:\n  line-coverage: ">= 90"\nlimits:\n  memory: 1G\n  timeout: 5m\n' > "$work/override.yaml"
        echo "$work/override.yaml" ;;
    declarations)
        # The first byte says which file of the tree the rest is (0 a workflow, 3 tox.ini).
        for workflow in "$here"/examples/*/*/.github/workflows/*.yml; do
            out=$work/declared-$(basename "$(dirname "$(dirname "$(dirname "$workflow")")")").yml
            { printf '\000'; cat "$workflow"; } > "$out" && echo "$out"
        done
        { printf '\003'; printf '[testenv]\nsetenv = A = 1\ncommands = pytest --doctest-modules {posargs:tests}\n'; } \
            > "$work/declared-tox.ini" && echo "$work/declared-tox.ini" ;;
    esac
}

all="junit trx xml cobertura lcov go-cover coverage-py-json llvm-cov-json sarif ruff-json pylint-json eslint-json
go-test-json cargo-json diagnostics libtest tap tar oci-layout git-ls-tree git-cat-file git-diff rule-differences git-links policy image defaults sandbox-yaml seccomp
declarations"
printf '%-18s %12s %9s %10s\n' target executions seconds "peak MiB"
for target in ${*:-$all}; do
    corpus=$work/$target
    mkdir -p "$corpus"
    for seed in $(seeds "$target"); do cp -- "$seed" "$corpus/"; done
    log=$work/$target.log
    # The trusted files' loaders read whole policies (30 KiB) per input: shorter
    # inputs, so that 10^6 of them take minutes, not an hour.
    case "$target" in policy | image | defaults | seccomp) length=4096 ;; *) length=65536 ;; esac
    started=$(date +%s.%N)
    # Swift's own backtracer would take the crash from libFuzzer, which then saves no input.
    if ! SWIFT_BACKTRACE=enable=no SANDBOX_FUZZ_TARGET=$target "$fuzzer" -runs="$runs" -max_len="$length" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$here/.build/fuzz/$target-" "$corpus" > "$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz: $target failed; the input is in $here/.build/fuzz/$target-*"
        exit 1
    fi
    ended=$(date +%s.%N)
    done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -1)
    executions=$(printf '%s' "$done_line" | awk '{print $2}')
    peak=$(grep -oE 'rss: [0-9]+Mb' "$log" | tail -1 | grep -oE '[0-9]+')
    printf '%-18s %12s %9.1f %10s\n' "$target" "${executions:-?}" "$(echo "$ended - $started" | bc)" "${peak:-?}"
done
