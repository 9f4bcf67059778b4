#!/usr/bin/env bash
# `make mutate`: puts each one-line bug of tests/mutate/mutations.txt into a
# copy of the source tree, one at a time, rebuilds the test binaries it
# names (incrementally) and runs the named tests. A mutation is "killed"
# when a test fails (or hangs past the timeout), "survived" when every test
# passes: then a rule users rely on can break without any test noticing.
#
# Usage: tests/mutate/run.sh [FILTER]
#   FILTER   run only mutations whose description contains it
# Environment:
#   MUTATE_DIR      work area (default build/mutate): a copy of the tree
#                   with its own build directory, kept between runs so the
#                   builds stay incremental
#   MUTATE_TIMEOUT  seconds per test run (default 300)
#   MUTATE_JOBS     build parallelism (default 2)
#   MUTATE_FROM, MUTATE_TO  run only mutations numbered so (1 = the first
#                   line that is not a comment), e.g. to share the list
#                   between two runs with different MUTATE_DIRs
# The real tree is never modified: the copy is refreshed from it (rsync)
# before each run (tar), so uncommitted edits are included.
#
# Line format (fields separated by " | "; "\n" in a snippet is a newline):
#   file | original snippet | mutated snippet | tests | description
# `tests` is one or more "binary [Catch2 test spec]" separated by ";".
# The original snippet must occur exactly once in the file; otherwise the
# line is reported STALE (the code changed: update the snippet).
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LIST="$ROOT/tests/mutate/mutations.txt"
WORK="${MUTATE_DIR:-$ROOT/build/mutate}"
TIMEOUT="${MUTATE_TIMEOUT:-300}"
JOBS="${MUTATE_JOBS:-2}"
FROM="${MUTATE_FROM:-1}"
TO="${MUTATE_TO:-100000}"
FILTER="${1:-}"
SRC="$WORK/src"
# The build directory sits inside the copy as build/ does in the tree, so
# ccache (paths made relative to CCACHE_BASEDIR) reuses the tree's objects.
BLD="$SRC/build"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"
LOGDIR="$WORK/logs"
mkdir -p "$SRC" "$BLD" "$LOGDIR"

# tar keeps modification times, so unchanged files are not rebuilt.
tar -C "$ROOT" --exclude=./build --exclude=./.git --exclude=node_modules \
  -cf - . | tar -C "$SRC" -xf -

# Files that were mutated by a run that did not finish: their objects may
# be the mutant's, newer than the original's time tar just restored, so
# make them newer still to force a rebuild.
if [ -f "$WORK/dirty" ]; then
  while IFS= read -r f; do [ -f "$f" ] && touch "$f"; done <"$WORK/dirty"
fi

# The copy's file being mutated, restored on any exit.
CURRENT=""
restore() {
  if [ -n "$CURRENT" ] && [ -f "$CURRENT.orig" ]; then
    mv -f "$CURRENT.orig" "$CURRENT"
    touch "$CURRENT"
  fi
  CURRENT=""
}
trap restore EXIT
trap 'restore; exit 130' INT TERM

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
echo "mutate: configuring and building the unmutated copy in $BLD"
if ! cmake -S "$SRC" -B "$BLD" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
     >"$LOGDIR/configure.log" 2>&1; then
  echo "mutate: cmake failed, see $LOGDIR/configure.log"; exit 2
fi

# All binaries the list names, built once before mutating, so a build
# failure later is the mutation's own.
all_bins=$(grep -v '^\s*#' "$LIST" | grep -v '^\s*$' |
  awk -F' [|] ' '{print $4}' | tr ';' '\n' | awk '{print $1}' | sort -u)
# shellcheck disable=SC2086
if ! cmake --build "$BLD" -j "$JOBS" --target $all_bins \
     >"$LOGDIR/build-base.log" 2>&1; then
  echo "mutate: the unmutated tree does not build, see $LOGDIR/build-base.log"
  exit 2
fi

apply() { # file original mutated -> exit 0 applied, 3 stale
  python3 - "$1" "$2" "$3" <<'PY'
import sys
path, orig, new = sys.argv[1], sys.argv[2], sys.argv[3]
orig = orig.replace("\\n", "\n"); new = new.replace("\\n", "\n")
text = open(path).read()
n = text.count(orig)
if n != 1:
    sys.stderr.write(f"snippet found {n} times\n"); sys.exit(3)
open(path, "w").write(text.replace(orig, new))
PY
}

total=0; killed=0; survived=0; stale=0; nobuild=0
survivors=()
no=0
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in ''|'#'*) continue ;; esac
  no=$((no + 1))
  if [ "$no" -lt "$FROM" ] || [ "$no" -gt "$TO" ]; then continue; fi
  IFS=$'\x1f' read -r file orig mutated tests desc \
    <<<"$(printf '%s' "$line" | sed 's/ | /\x1f/g')"
  if [ -n "$FILTER" ] && [[ "$desc" != *"$FILTER"* ]]; then continue; fi
  total=$((total + 1))
  log="$LOGDIR/m$(printf '%02d' $no).log"
  target="$SRC/$file"
  cp -p "$target" "$target.orig"
  CURRENT="$target"
  echo "$target" >>"$WORK/dirty"
  if ! apply "$target" "$orig" "$mutated" 2>"$log"; then
    restore
    stale=$((stale + 1))
    printf '%-9s %2d %s (%s)\n' STALE "$no" "$desc" "$file"
    continue
  fi
  bins=$(printf '%s' "$tests" | tr ';' '\n' | awk '{print $1}' | sort -u)
  start=$(date +%s)
  # shellcheck disable=SC2086
  if ! cmake --build "$BLD" -j "$JOBS" --target $bins >>"$log" 2>&1; then
    restore
    nobuild=$((nobuild + 1))
    printf '%-9s %2d %s (does not compile: fix the line)\n' NOBUILD "$no" "$desc"
    continue
  fi
  verdict=survived
  while IFS= read -r t; do
    t="$(printf '%s' "$t" | sed 's/^ *//; s/ *$//')"
    [ -z "$t" ] && continue
    bin="${t%% *}"
    spec=""
    [ "$bin" != "$t" ] && spec="${t#* }"
    echo "== $bin $spec" >>"$log"
    if [ -n "$spec" ]; then
      (cd "$BLD" && timeout -k 10 "$TIMEOUT" "./$bin" --reporter compact "$spec") >>"$log" 2>&1
    else
      (cd "$BLD" && timeout -k 10 "$TIMEOUT" "./$bin" --reporter compact) >>"$log" 2>&1
    fi
    rc=$?
    if [ $rc -ne 0 ]; then
      [ $rc -ge 124 ] && verdict="killed(timeout)" || verdict=killed
      break
    fi
  done <<<"$(printf '%s' "$tests" | tr ';' '\n')"
  restore
  secs=$(( $(date +%s) - start ))
  if [ "$verdict" = survived ]; then
    survived=$((survived + 1))
    survivors+=("$no $desc")
    printf '%-9s %2d %s [%ss]\n' SURVIVED "$no" "$desc" "$secs"
  else
    killed=$((killed + 1))
    printf '%-9s %2d %s [%ss]\n' KILLED "$no" "$desc" "$secs"
  fi
done <"$LIST"

# Leave the copy's build matching the unmutated sources.
# shellcheck disable=SC2086
cmake --build "$BLD" -j "$JOBS" --target $all_bins >"$LOGDIR/build-final.log" 2>&1 \
  && rm -f "$WORK/dirty"

tried=$((killed + survived))
echo "mutate: $killed of $tried mutations killed" \
  "($(( tried ? killed * 100 / tried : 0 )) %); $survived survived," \
  "$stale stale, $nobuild did not compile; logs in $LOGDIR"
for s in "${survivors[@]}"; do echo "  survived: $s"; done
[ "$survived" -eq 0 ] && [ "$stale" -eq 0 ] && [ "$nobuild" -eq 0 ]
