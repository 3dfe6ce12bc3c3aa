#!/usr/bin/env bash
# make bench: toolchain images. How long building one takes (the rust image, the
# smallest, built anew; every stored image's own build time beside it), how long
# importing an OCI layout of that image's root takes (made by Debian's umoci), and
# spawning `sandbox run -- /bin/true` on an image root beside the host's /usr
# (hyperfine medians and the ratio; the run on an image includes its check against
# its manifest). Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
sandbox=${1:-$PWD/.build/release/sandbox}
runs=${BENCH_RUNS:-200}
work=$(mktemp -d /tmp/sandbox-bench-images-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== image build (mmdebstrap and pip, in sandboxes)"
before=$("$sandbox" image inspect rust 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])' || true)
start=$(date +%s.%N)
"$sandbox" image build rust >"$work/built" 2>"$work/build.log" || { cat "$work/build.log"; exit 1; }
end=$(date +%s.%N)
after=$(cut -d' ' -f2 "$work/built")
printf '  rust, built anew: %.1f s; %s\n' "$(echo "$end - $start" | bc)" \
    "$([ "$before" = "$after" ] && echo "the same digest as the build before" || echo "digest ${after:0:19}, the build before ${before:0:19}")"
for name in python go node rust swift; do
    "$sandbox" image inspect "$name" >"$work/$name.json" 2>/dev/null || "$sandbox" image build "$name" >/dev/null 2>&1
    "$sandbox" image inspect "$name" >"$work/$name.json"
    python3 - "$work/$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  {r['name']:7} {r['seconds']:6.1f} s   {r['files']:6} files {r['bytes'] >> 20:5} MiB   {r['digest'][:19]}")
PY
done

echo "== image import (an OCI layout of the rust image's root, made by umoci)"
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"][7:])' "$work/rust.json")
root=/var/lib/sandbox/images/sha256-$digest/rootfs
[ "$(id -u)" = 0 ] || root=${XDG_DATA_HOME:-$HOME/.local/share}/sandbox/images/sha256-$digest/rootfs
umoci init --layout "$work/layout" && umoci new --image "$work/layout:rust"
umoci unpack --image "$work/layout:rust" "$work/bundle" >/dev/null
cp -a "$root/." "$work/bundle/rootfs/"
umoci repack --image "$work/layout:rust" "$work/bundle"
rm -rf "$work/bundle"
start=$(date +%s.%N)
"$sandbox" image import "$work/layout" --name bench-import >/dev/null
end=$(date +%s.%N)
printf '  %s MiB compressed: %.1f s\n' "$(du -sm "$work/layout" | cut -f1)" "$(echo "$end - $start" | bc)"
"$sandbox" image rm bench-import

echo "== spawn on an image root beside the host's /usr: $runs runs each, medians"
hyperfine --style none --warmup 20 --runs "$runs" --export-json "$work/spawn.json" \
    -n host "$sandbox run -- /bin/true" -n "image python" "$sandbox run --image python -- /bin/true" >/dev/null 2>&1
python3 - "$work/spawn.json" <<'PY'
import json, sys
results = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
host, image = results["host"], results["image python"]
print(f"  host /usr          {host * 1000:7.2f} ms")
print(f"  image python       {image * 1000:7.2f} ms ({image / host:.2f}x)")
PY
