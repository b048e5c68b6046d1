#!/usr/bin/env bash
# The ABI check of CI: abidiff between the committed baseline
# abi/libfwinfer.abi and the library built from the current sources, and the
# header's constants against abi/fwinfer.constants.
# Fails on ANY difference not covered by tests/abi/suppressions.abignore
# (which holds no rules): a removed or changed function, a changed public
# struct, a changed soname, and also an added function (compatible, but it
# must come with a regenerated baseline: tools/abi-update.sh).
#
#   tools/abi-check.sh [BUILD_DIR]      (default build-abi; tools/abi-common.sh)
#
# Then a self-test proves that the check would catch a break: abidiff on
# deliberately altered copies of the ABI (a function removed, a parameter's
# type changed, a struct's layout changed, a function added) must report
# each one, with the incompatible-change bit for the removal.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/abi-common.sh
dir=${1:-build-abi}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

lib=$(abi_build "$dir")
abi_dump "$lib" "$tmp/current.abi"

# abidiff's exit status is a bit field: 1 error, 2 usage error, 4 ABI change,
# 8 incompatible ABI change (libabigail's abidiff manual).
abi_diff() {
    local rc=0
    abidiff --suppressions "$abi_suppressions" "$1" "$2" > "$tmp/report" 2>&1 || rc=$?
    return "$rc"
}
rc=0
abi_diff "$abi_baseline" "$tmp/current.abi" || rc=$?
if [ "$rc" -ne 0 ]; then
    cat "$tmp/report"
    if [ $((rc & 3)) -ne 0 ]; then
        echo "abi-check: abidiff failed (exit status $rc)" >&2
    elif [ $((rc & 8)) -ne 0 ]; then
        echo "abi-check: INCOMPATIBLE ABI change against $abi_baseline (exit status $rc)." >&2
        echo "  Not allowed without a new soname: docs/ABI.md." >&2
    else
        echo "abi-check: the ABI changed against $abi_baseline (exit status $rc)." >&2
        echo "  If the change is compatible and intended (e.g. a new function), regenerate" >&2
        echo "  the baseline with tools/abi-update.sh and commit it with the change: docs/ABI.md." >&2
    fi
    exit 1
fi
# The header's constants (status codes, type ids, flags): never renumbered,
# never removed; an added one comes with a regenerated baseline.
abi_constants > "$tmp/current.constants"
if ! diff -u "$abi_constants_baseline" "$tmp/current.constants"; then
    echo "abi-check: the constants in include/fwinfer.h differ from $abi_constants_baseline" >&2
    echo "  (- baseline, + header).  Changing or removing a value is an incompatible change;" >&2
    echo "  for a new constant, regenerate with tools/abi-update.sh: docs/ABI.md." >&2
    exit 1
fi
echo "abi-check: include/fwinfer.h has the $(wc -l < "$tmp/current.constants") constants of $abi_constants_baseline"
nfun=$(grep -c "<elf-symbol name=.*type='func-type'" "$tmp/current.abi" || true)
echo "abi-check: $lib matches $abi_baseline ($nfun functions; no suppressions used)"

# --- self-test: the check catches breaks -----------------------------------
python3 - "$tmp/current.abi" "$tmp" <<'PY'
import re, sys
src, out = sys.argv[1], sys.argv[2]
xml = open(src).read()

def function_decl(name):
    m = re.search(r"\n *<function-decl name='%s' .*?</function-decl>" % name, xml, re.S)
    if not m:
        sys.exit('abi-check self-test: no function-decl %s in the ABI' % name)
    return m

def without_function(name):
    m = function_decl(name)
    x = xml[:m.start()] + xml[m.end():]
    x, n = re.subn(r"\n *<elf-symbol name='%s' [^>]*/>" % name, '', x)
    assert n == 1, name
    return x

def param_type_changed(name, param):
    m = function_decl(name)
    decl = m.group(0)
    types = re.findall(r"<parameter type-id='([^']+)' name='([^']+)'/>", decl)
    own = dict((p, t) for t, p in types)[param]
    other = next(t for t, p in types if t != own)
    new = decl.replace("<parameter type-id='%s' name='%s'/>" % (own, param),
                       "<parameter type-id='%s' name='%s'/>" % (other, param))
    return xml[:m.start()] + new + xml[m.end():]

def struct_grown_in_middle(name):
    # the struct gains 32 bits before its second member: every later
    # member moves, the size grows
    m = re.search(r"<class-decl name='%s' size-in-bits='(\d+)'.*?</class-decl>" % name, xml, re.S)
    if not m:
        sys.exit('abi-check self-test: no struct %s in the ABI' % name)
    decl = m.group(0)
    size = int(m.group(1))
    decl = decl.replace("size-in-bits='%d'" % size, "size-in-bits='%d'" % (size + 32), 1)
    seen = [0]
    def shift(mm):
        seen[0] += 1
        off = int(mm.group(1))
        return "layout-offset-in-bits='%d'" % (off + 32 if seen[0] >= 2 else off)
    decl = re.sub(r"layout-offset-in-bits='(\d+)'", shift, decl)
    assert seen[0] >= 2, name
    return xml[:m.start()] + decl + xml[m.end():]

open(out + '/removed.abi', 'w').write(without_function('fw_tokenize'))
open(out + '/param.abi', 'w').write(param_type_changed('fw_tokenize', 'len'))
open(out + '/layout.abi', 'w').write(struct_grown_in_middle('fw_sampler_params'))
PY
# name, old, new, bits that must be set, bits that must be clear
selftest() {
    local what=$1 old=$2 new=$3 set=$4 clear=$5 rc=0
    abi_diff "$old" "$new" || rc=$?
    if [ "$rc" -eq 0 ] || [ $((rc & set)) -ne "$set" ] || [ $((rc & clear)) -ne 0 ]; then
        cat "$tmp/report"
        echo "abi-check self-test FAILED: $what: abidiff exit status $rc" >&2
        exit 1
    fi
    printf 'abi-check self-test: %-45s caught (abidiff exit status %d)\n' "$what" "$rc"
}
selftest "fw_tokenize removed (incompatible)" "$tmp/current.abi" "$tmp/removed.abi" 12 3
selftest "fw_tokenize parameter len: size_t -> other" "$tmp/current.abi" "$tmp/param.abi" 4 3
selftest "fw_sampler_params layout changed" "$tmp/current.abi" "$tmp/layout.abi" 4 3
selftest "fw_tokenize added (compatible, still fails)" "$tmp/removed.abi" "$tmp/current.abi" 4 11
echo "abi-check: OK"
