#!/usr/bin/env bash
# Patch coverage beside diff-cover, on real commits (bench/patch-coverage.tsv).
#   bench/patch-coverage.sh MIRROR [SANDBOX [OWNER/NAME...]]
# For each row (repository, commit, language, options): `sandbox verify MIRROR/... --ref C
# --base C^` gives patch coverage and its uncovered ranges. Then the commit is cloned from
# the snapshot and diff-cover (from PyPI, in a venv made here) judges the same diff:
# - python: on the XML of coverage.py run bare, in a venv of the project's own
#   (`coverage run <options> -m pytest`, the options being what verify's policy measures);
# - node, rust, swift: on the lcov file verify's test step wrote (--out), paths made
#   relative to the tree, with <options> (`--exclude` patterns) leaving out the files the
#   policy does not count.
# Prints one row per commit and the agreement (within 0.1 point, and the same ranges).
set -u
mirror=${1:?usage: bench/patch-coverage.sh MIRROR [SANDBOX [OWNER/NAME...]]}
here=$(cd "$(dirname "$0")" && pwd)
sandbox=${2:-$here/../.build/debug/sandbox}
shift $(($# < 2 ? $# : 2))
chosen=" $* "
work=$(mktemp -d /tmp/sandbox-patch-XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/tools" && "$work/tools/bin/pip" install -q diff-cover==11.0.1 || exit 1
diffcover=$work/tools/bin/diff-cover

agree=0 differ=0
printf '%-28s %-9s %-8s %-10s %-11s %s\n' project commit language verify diff-cover agreement
while IFS=$'\t' read -r project commit language options; do
    case "$project" in '' | '#'*) continue ;; esac
    [ "$chosen" = "  " ] || [[ "$chosen" == *" $project "* ]] || continue
    repo=$mirror/${project/\//+}/repo
    rm -rf "$work/out" "$work/tree" "$work/diff-cover.json" "$work/report.xml"
    "$sandbox" verify --format json --out "$work/out" --ref "$commit" --base "$commit^" "$repo" \
        > "$work/verdict.json" 2> "$work/verify.err"
    read -r ours our_ranges < <(python3 -c '
import json, sys
gate = [g for g in json.load(open(sys.argv[1]))["gates"] if g["metric"] == "patch-coverage"]
print("%.1f" % gate[0]["actual"] if gate and gate[0]["actual"] is not None else "-",
      " | ".join(sorted(gate[0]["reasons"])) if gate else "")' "$work/verdict.json" 2> /dev/null || echo "- ")
    executable=yes
    [ "$our_ranges" = "no changed line is executable" ] && executable=no our_ranges=
    git clone -q "$repo" "$work/tree" 2> /dev/null && git -C "$work/tree" checkout -q "$commit" || continue
    if [ "$language" = python ]; then
        python3 -m venv "$work/tree/.venv" > /dev/null
        (cd "$work/tree" && SETUPTOOLS_SCM_PRETEND_VERSION=1.0 .venv/bin/pip install -q -e . pytest coverage > /dev/null 2>&1
            .venv/bin/coverage run $options -m pytest -q > /dev/null 2>&1
            .venv/bin/coverage xml -q -o "$work/report.xml" > /dev/null 2>&1)
        report=$work/report.xml excludes=()
    else
        found=$(find "$work/out" -name '*.report.lcov.info' | head -1)
        [ -n "$found" ] && sed 's|^SF:/workspace/|SF:|' "$found" > "$work/tree/sandbox-lcov.info"
        report=$work/tree/sandbox-lcov.info
        read -r -a excludes <<< "$options"
    fi
    (cd "$work/tree" && "$diffcover" "$report" --compare-branch="$commit^" ${excludes[@]+"${excludes[@]}"} \
        --format json:"$work/diff-cover.json" > /dev/null 2>&1)
    [ -f "$work/diff-cover.json" ] || echo '{"src_stats": {}, "total_num_lines": -1}' > "$work/diff-cover.json"
    read -r theirs their_ranges < <(python3 -c '
import json, sys
report = json.load(open(sys.argv[1]))
def ranges(lines):
    parts, start = [], None
    for line in sorted(lines) + [None]:
        if start is not None and line == end + 1:
            end = line; continue
        if start is not None: parts.append(f"{start}" if start == end else f"{start}-{end}")
        start = end = line
    return ", ".join(parts)
missing = [path + ":" + ranges(stats["violation_lines"]) for path, stats in report["src_stats"].items() if stats["violation_lines"]]
# Its total_percent_covered is floored to a whole number: the share is made from the counts.
lines, violations = report.get("total_num_lines", 0), report.get("total_num_violations", 0)
print("-" if lines <= 0 else "%.1f" % ((lines - violations) * 100 / lines), " | ".join(sorted(missing)))' \
        "$work/diff-cover.json" 2> /dev/null || echo "- ")
    verdict="differs"
    if [ "$ours" = "$theirs" ] && [ "$our_ranges" = "$their_ranges" ]; then verdict=agree; fi
    # diff-cover gives no total where no changed line is executable; verify says 100.
    if [ "$theirs" = - ] && [ "$executable" = no ] \
        && python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["total_num_lines"] != 0)' \
            "$work/diff-cover.json" 2> /dev/null; then verdict="agree (nothing executable)"; fi
    [ "${verdict%% *}" = agree ] && agree=$((agree + 1)) || differ=$((differ + 1))
    printf '%-28s %-9s %-8s %-10s %-11s %s\n' "$project" "${commit:0:8}" "$language" "$ours" "$theirs" "$verdict"
    [ "$verdict" = differs ] && printf '    verify: %s\n    diff-cover: %s\n' "$our_ranges" "$their_ranges"
done < "$here/patch-coverage.tsv"
echo
echo "agreement: $agree of $((agree + differ)) commits"
[ "$differ" = 0 ]
