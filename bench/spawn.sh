#!/usr/bin/env bash
# make bench: spawn overhead of `sandbox run -- /bin/true` beside bubblewrap with
# equivalent isolation and beside bare /bin/true (hyperfine medians and ratios),
# then 200 sandboxes started at once. Prints figures; asserts only that all 200 completed.
set -euo pipefail
cd "$(dirname "$0")/.."
sandbox=$PWD/.build/release/sandbox
runs=${BENCH_RUNS:-300}
work=$(mktemp -d /tmp/sandbox-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

gcc -O2 -o "$work/export-bpf" bench/export-bpf.c -lseccomp
"$work/export-bpf" policies/seccomp/default.seccomp > "$work/filter.bpf"

# bubblewrap with the same isolation: every namespace, read-only /usr with the
# merged-usr links, new /proc and /dev, tmpfs /tmp, a new session, a seccomp filter.
bwrap_cmd="bwrap --unshare-all --die-with-parent --new-session --ro-bind /usr /usr"
for link in bin lib lib64 sbin; do
    [ -L /$link ] && bwrap_cmd="$bwrap_cmd --symlink $(readlink /$link) /$link"
done
bwrap_cmd="$bwrap_cmd --proc /proc --dev /dev --tmpfs /tmp --seccomp 9 /bin/true 9<$work/filter.bpf"
eval "$bwrap_cmd" || { echo "bubblewrap cannot run here" >&2; exit 1; }

commands=(-n bare /bin/true -n bubblewrap "$bwrap_cmd" -n "sandbox (root, cgroup limits)" "$sandbox run -- /bin/true")
rootless_user=""
if [ "$(id -u)" = 0 ] && id sandbox-test >/dev/null 2>&1; then
    rootless_user=sandbox-test
    install -m 0755 "$sandbox" "$work/sandbox"
    chmod 0755 "$work"
    # The user's own cache directory, where its compiled filter is kept between runs.
    install -d -m 0700 -o "$rootless_user" "$work/home"
    commands+=(-n "sandbox (rootless, rlimits)" "setpriv --reuid=$rootless_user --regid=$rootless_user --clear-groups -- env HOME=$work/home $work/sandbox run -- /bin/true 2>/dev/null")
    commands+=(-n "setpriv alone (subtract)" "setpriv --reuid=$rootless_user --regid=$rootless_user --clear-groups -- env HOME=$work/home /bin/true")
fi

echo "== spawn overhead: $runs runs each, medians (hyperfine, shell start-up subtracted)"
hyperfine --style none --warmup 20 --runs "$runs" --export-json "$work/spawn.json" "${commands[@]}" >/dev/null 2>&1
python3 - "$work/spawn.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
median = {name: r["median"] * 1000 for name, r in results.items()}
bwrap = median["bubblewrap"]
bare = median["bare"]
if "setpriv alone (subtract)" in median:
    median["sandbox (rootless, rlimits)"] -= median.pop("setpriv alone (subtract)")
print(f"{'runner':32} {'median ms':>10} {'vs bwrap':>9} {'vs bare':>8}")
for name, value in median.items():
    print(f"{name:32} {value:10.2f} {value / bwrap:9.2f} {value / bare:8.1f}")
PY

echo
echo "== 200 sandboxes started at once on $(nproc) cores"
for runner in sandbox bubblewrap; do
    if [ $runner = sandbox ]; then cmd="$sandbox run -- /bin/true"; else cmd="$bwrap_cmd"; fi
    start=$(date +%s.%N)
    seq 200 | xargs -P 200 -I{} sh -c "$cmd >/dev/null 2>&1 && echo ok || echo failed" > "$work/$runner.out"
    end=$(date +%s.%N)
    ok=$(grep -c '^ok$' "$work/$runner.out" || true)
    printf '%-12s completed %3d/200 in %.2f s\n' "$runner" "$ok" "$(echo "$end - $start" | bc)"
    if [ $runner = sandbox ] && [ "$ok" != 200 ]; then
        echo "FAIL: not every sandbox completed" >&2
        exit 1
    fi
done

echo
echo "== supervisor memory while a step writes 1 GiB of output (target: <= 64 MiB)"
/usr/bin/time -f "%M" -o "$work/rss.txt" "$sandbox" run --output-limit 2G --timeout 5m -- \
    /usr/bin/head -c 1073741824 /dev/zero | wc -c > "$work/bytes.txt"
printf 'relayed %s bytes; supervisor peak RSS %.1f MiB\n' "$(cat "$work/bytes.txt")" "$(echo "$(cat "$work/rss.txt") / 1024" | bc -l)"
