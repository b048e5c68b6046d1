#!/usr/bin/env bash
# Regenerate the committed ABI baselines from the current sources:
# abi/libfwinfer.abi (functions and public types, from the library's DWARF)
# and abi/fwinfer.constants (the header's constants) (needs abidw: Debian package abigail-tools).
#
#   tools/abi-update.sh [BUILD_DIR]
#
# BUILD_DIR defaults to build-abi, configured with
#   meson setup build-abi -Dbuildtype=debugoptimized -Dtests=false
# (the Meson defaults: -O2 -g) if it does not exist.  An existing folder is
# accepted if it has debug info and no coverage or sanitizers.  Options and
# abidw flags: tools/abi-common.sh.  The output does not depend on the build
# folder's path; it does depend on the compiler's DWARF, so regenerate it
# with the CI toolchain (Debian 12's gcc).
#
# When to run it: in the same commit as any change to the public ABI, after
# deciding it is allowed (docs/ABI.md).  `git diff abi/` is the review.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/abi-common.sh
dir=${1:-build-abi}
lib=$(abi_build "$dir")
mkdir -p "$(dirname "$abi_baseline")"
abi_dump "$lib" "$abi_baseline"
abi_constants > "$abi_constants_baseline"
n=$(grep -c '<elf-symbol name=.*type=.func-type' "$abi_baseline" || true)
echo "wrote $abi_baseline from $lib ($n functions)"
echo "wrote $abi_constants_baseline from include/fwinfer.h ($(wc -l < "$abi_constants_baseline") constants)"
git --no-pager diff --stat -- "$abi_baseline" "$abi_constants_baseline" || true
