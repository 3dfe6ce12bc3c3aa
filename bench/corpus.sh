#!/usr/bin/env bash
# Compares `sandbox verify` with the bare truth of real projects (bench/corpus/truth.tsv).
#   bench/corpus.sh MIRROR [SANDBOX [LANGUAGE|OWNER/NAME...]]
# MIRROR holds the snapshots, one bare git directory per project at MIRROR/OWNER+NAME/repo
# (as the fetch tool leaves them). Each tree is exported at the recorded commit with git's
# plumbing (no checkout, no filters, no hooks), verified, and its decision, failing gates,
# test count and coverage are compared with the truth. Projects without a snapshot are
# skipped and counted; LANGUAGEs and projects, when given, choose the rows compared. Prints one row
# per project and the agreement at the end; exits 1 when any compared project disagrees.
set -u
mirror=${1:?usage: bench/corpus.sh MIRROR [SANDBOX]}
here=$(cd "$(dirname "$0")" && pwd)
sandbox=${2:-$here/../.build/debug/sandbox}
shift $(($# < 2 ? $# : 2))
languages=" $* "
truth=$here/corpus/truth.tsv
work=$(mktemp -d /tmp/sandbox-corpus-XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# Exports the tree of commit $commit of the bare repository $repo into $out, file by
# file: a snapshot may lack its largest blobs, which are left out. Links stay links.
export_tree() {
    git --git-dir="$repo" ls-tree -r -z "$commit" | while IFS= read -r -d '' entry; do
        meta=${entry%%"	"*}
        path=${entry#*"	"}
        set -- $meta
        [ "$2" = blob ] || continue
        mkdir -p "$out/$(dirname -- "$path")"
        if [ "$1" = 120000 ]; then
            ln -s -- "$(git --git-dir="$repo" cat-file blob "$3")" "$out/$path"
        elif git --git-dir="$repo" cat-file blob "$3" > "$out/$path" 2>/dev/null; then
            [ "$1" = 100755 ] && chmod +x -- "$out/$path"
        else
            rm -f -- "$out/$path"
        fi
    done
}

agree=0 differ=0 missing=0
printf '%-40s %-9s %-9s %-28s %-12s %-14s %s\n' project truth verify "failing gates (truth)" tests coverage agreement
while IFS='	' read -r project commit language decision failing tests coverage how; do
    case "$project" in ''|'#'*|project) continue ;; esac
    if [ "$languages" != "  " ]; then case "$languages" in *" $language "* | *" $project "*) ;; *) continue ;; esac; fi
    repo=$mirror/$(printf %s "$project" | tr / +)/repo
    if [ ! -d "$repo" ]; then missing=$((missing + 1)); continue; fi
    out=$work/$(printf %s "$project" | tr / +)
    mkdir -p "$out"
    export_tree 2>/dev/null
    chmod -R o+rX "$out"
    "$sandbox" verify --format json "$out" > "$out.json" 2> "$out.err"
    got=$(python3 "$here/corpus/compare.py" "$out.json" "$decision" "$failing" "$tests" "$coverage")
    case "$got" in *" agree") agree=$((agree + 1)) ;; *) differ=$((differ + 1)) ;; esac
    printf '%-40s %-9s %s\n' "$project" "$decision" "$got"
    rm -rf "$out"
done < "$truth"
echo
echo "agreement: $agree of $((agree + differ)) compared; $missing without a snapshot here"
[ "$differ" -eq 0 ]
