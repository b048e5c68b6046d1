#!/usr/bin/env bash
# Long fuzzing runs: builds the libFuzzer configuration (the same as the
# fuzz stage of .ci/run: clang, -Dfuzzing=true, ASan+UBSan) and fuzzes every
# target for a given time each, growing a corpus kept between runs in a
# scratch folder, and copies every finding (crash-*, leak-*, timeout-*,
# oom-*, slow-unit-*) out.  Prints a summary table at the end.
#
#   tools/fuzz-long.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET: default 3600 (one hour per target).  TARGET: names
# without the fuzz_ prefix (gguf tokenizer chat request sampler genconfig
# json); default all.  Environment:
#   FUZZ_BUILD    build folder (default build-fuzz; configured if missing)
#   FUZZ_SCRATCH  corpora, logs, raw artifacts (default
#                 ${TMPDIR:-/tmp}/fwinfer-fuzz): reused by the next run,
#                 so the corpus keeps growing
#   FUZZ_OUT      where findings are copied (default fuzz-findings/ in the
#                 source tree, ignored by git)
#   FUZZ_WORKERS  parallel fuzzing processes per target (default: nproc);
#                 -jobs is the same number, so each worker fuzzes for the
#                 whole SECONDS_PER_TARGET
#   FUZZ_MAX_LEN  -max_len (default 8192, as in CI)
#
# Exit status: 0 if no target found anything, 1 otherwise.  A finding is
# fixed in lib/, then its input is added to tests/fuzz/corpus/<target>/ so
# every build replays it (tests/fuzz/replay.c).
#
# The seed corpus in the tree is never modified; to keep inputs that add
# coverage, minimise first:
#   build-fuzz/tests/fuzz/fuzz_X -merge=1 NEWDIR tests/fuzz/corpus/X SCRATCH/corpus/X
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

secs=${1:-3600}
shift || true
build=${FUZZ_BUILD:-build-fuzz}
scratch=${FUZZ_SCRATCH:-${TMPDIR:-/tmp}/fwinfer-fuzz}
out=${FUZZ_OUT:-$root/fuzz-findings}
workers=${FUZZ_WORKERS:-$(nproc)}
max_len=${FUZZ_MAX_LEN:-8192}

case "$secs" in ''|*[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;; esac

if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ meson setup "$build" -Dwerror=true -Dfuzzing=true \
        -Db_sanitize=address,undefined -Db_lundef=false
fi
if [ "$(meson introspect "$build" --buildoptions | python3 -c \
    'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="fuzzing"][0])')" != True ]; then
    echo "$build is not a -Dfuzzing=true build" >&2
    exit 2
fi
# Only the fuzz targets (and what they link).
mapfile -t ninja_targets < <(ninja -C "$build" -t targets all |
    sed -n 's|^\(tests/fuzz/fuzz_[a-z0-9_]*\): .*|\1|p' | sort -u)
ninja -C "$build" -j "$(nproc)" "${ninja_targets[@]}"

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for t in "${ninja_targets[@]}"; do targets+=("${t#tests/fuzz/fuzz_}"); done
fi

mkdir -p "$scratch" "$out"
summary="$scratch/summary.tsv"
printf 'target\tseconds\tworkers\tcorpus_before\tcorpus_after\texecs\tfindings\n' > "$summary"
status=0
for name in "${targets[@]}"; do
    bin="$root/$build/tests/fuzz/fuzz_$name"
    if [ ! -x "$bin" ]; then
        echo "no fuzz target $name ($bin)" >&2
        exit 2
    fi
    corpus="$scratch/corpus/$name"
    arts="$scratch/artifacts/$name"
    logs="$scratch/logs/$name"
    mkdir -p "$corpus" "$arts" "$logs"
    rm -f "$logs"/*
    cp -n "tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true
    before=$(find "$corpus" -type f | wc -l)
    printf '\n==== fuzz_%s: %ss x %s workers, corpus %s files\n' "$name" "$secs" "$workers" "$before"
    # -jobs=N -workers=N: N independent fuzzing processes sharing the
    # corpus folder, each running for max_total_time; their output goes to
    # fuzz-<i>.log in the current folder.
    set +e
    (cd "$logs" && "$bin" "$corpus" -jobs="$workers" -workers="$workers" \
        -max_total_time="$secs" -max_len="$max_len" -timeout=30 \
        -artifact_prefix="$arts/" -print_final_stats=1 \
        > "$logs/main.log" 2>&1)
    set -e
    after=$(find "$corpus" -type f | wc -l)
    execs=$(cat "$logs"/fuzz-*.log 2>/dev/null |
        sed -n 's/^stat::number_of_executed_units: *//p' | awk '{s += $1} END {print s + 0}')
    found=0
    for f in "$arts"/crash-* "$arts"/leak-* "$arts"/timeout-* "$arts"/oom-* "$arts"/slow-unit-*; do
        [ -e "$f" ] || continue
        mkdir -p "$out/$name"
        cp "$f" "$out/$name/"
        found=$((found + 1))
    done
    # A crash that libFuzzer could not save still shows in the log.
    if [ "$found" -eq 0 ] && grep -qE '^==[0-9]+==ERROR|^SUMMARY: |deadly signal' "$logs"/fuzz-*.log 2>/dev/null; then
        found=1
    fi
    if [ "$found" -ne 0 ]; then
        status=1
        mkdir -p "$out/$name"
        cp "$logs"/fuzz-*.log "$out/$name/" 2>/dev/null || true
        grep -hE 'ERROR: |SUMMARY: ' "$logs"/fuzz-*.log 2>/dev/null | sort | uniq -c | head -n 5
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$secs" "$workers" "$before" "$after" \
        "$execs" "$found" >> "$summary"
done

printf '\n==== summary (corpora in %s, findings in %s)\n' "$scratch/corpus" "$out"
column -t -s $'\t' "$summary" 2>/dev/null || cat "$summary"
if [ "$status" -ne 0 ]; then
    echo "findings: see $out (fix them, then add the inputs to tests/fuzz/corpus/<target>/)"
else
    rmdir "$out" 2>/dev/null || true
fi
exit "$status"
