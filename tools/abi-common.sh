# Sourced by tools/abi-update.sh and tools/abi-check.sh: how the ABI
# baseline (abi/libfwinfer.abi) is produced, in one place so that the
# baseline and the check can never use different settings.
#
# The library: built by Meson with its default options (buildtype
# debugoptimized, i.e. -O2 -g: the DWARF that abidw reads) and the tests
# off; only the shared library target is built.  Any build folder with
# -g and without coverage or sanitizers gives the same ABI (CI reuses its
# -Dwerror=true build folder).
abi_setup_opts=(-Dbuildtype=debugoptimized -Dtests=false)

# abidw options:
#   --headers-dir include --drop-private-types
#                         only types defined in include/ (the public header)
#                         are described; the library's private structs
#                         (fw_model, fw_context, ...) stay opaque, so
#                         changing them is not an ABI change;
#   --drop-undefined-syms libc/libm/pthread functions the library calls are
#                         not part of its ABI;
#   --no-corpus-path --no-comp-dir-path --no-show-locs
#                         no paths (build folder, source folder) and no line
#                         numbers: the file depends only on the ABI, not on
#                         where or from which revision it was built;
#   --type-id-style hash  type ids from the type, not from the order of
#                         discovery: an unrelated change does not renumber
#                         the whole file.
abidw_opts=(--headers-dir include --drop-private-types --drop-undefined-syms
            --no-corpus-path --no-comp-dir-path --no-show-locs
            --type-id-style hash)

abi_baseline=abi/libfwinfer.abi
abi_suppressions=tests/abi/suppressions.abignore

# abi_build BUILD_DIR: configure (if needed) and build the shared library;
# prints the path of the real file (libfwinfer.so.X.Y.Z).
abi_build() {
    local dir=$1
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "${abi_setup_opts[@]}" >/dev/null
    fi
    local opts
    opts=$(meson introspect "$dir" --buildoptions | python3 -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
print(o["buildtype"], o["b_coverage"], o["b_sanitize"], o["debug"])')
    case "$opts" in
        *" False none True") ;;
        *) echo "abi: $dir must be built with debug info, without coverage or sanitizers (buildtype, b_coverage, b_sanitize, debug: $opts)" >&2
           return 1 ;;
    esac
    meson compile -C "$dir" fwinfer >/dev/null
    local lib
    lib=$(meson introspect "$dir" --targets | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["name"] == "fwinfer" and t["type"] == "shared library":
        print(t["filename"][0])')
    [ -f "$lib" ] || { echo "abi: no shared library in $dir" >&2; return 1; }
    printf '%s\n' "$lib"
}

# abi_dump LIBRARY OUT.  The translation units' names are the compiler's
# source paths, relative to the build folder (../lib/api/model.c): they are
# rewritten relative to the source root (lib/api/model.c) so that the file is
# the same from any build folder.
abi_dump() {
    abidw "${abidw_opts[@]}" --out-file "$2.tmp" "$1"
    sed -E "s#(<abi-instr [^>]*path=')[^']*/(lib/[^']*')#\1\2#" "$2.tmp" > "$2"
    rm -f "$2.tmp"
}

# The header's constants are ABI too (status codes, type ids, flags,
# FW_MAX_DIMS, ...), but macros are not in the DWARF that abidw reads: they
# get a baseline of their own, abi/fwinfer.constants, one "NAME VALUE" line
# per object-like FW_* macro with a constant value.  FW_VERSION_MINOR and
# FW_VERSION_PATCH are left out (they change with every release); the export
# macro FW_API and the derived FW_VERSION_NUMBER are not constants.
abi_constants_baseline=abi/fwinfer.constants
abi_constants() {
    python3 - include/fwinfer.h <<'PY'
import re, sys
skip = {'FW_API', 'FW_VERSION_MINOR', 'FW_VERSION_PATCH', 'FW_VERSION_NUMBER'}
seen = {}
for line in open(sys.argv[1], encoding='utf-8'):
    m = re.match(r'#define (FW_[A-Z0-9_]+)[ \t]+([^/]*?)\s*(/\*.*)?$', line)
    if m and m.group(1) not in skip:
        seen[m.group(1)] = m.group(2)
for name in sorted(seen):
    print(name, seen[name])
PY
}
