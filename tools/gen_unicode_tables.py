#!/usr/bin/env python3
"""Generate lib/tokenizer/unicode_tables.c from the Unicode Character Database.

Usage:
    tools/gen_unicode_tables.py [UCD_DIR] [OUTPUT]

UCD_DIR defaults to /usr/share/unicode (Debian package `unicode-data`) and
must contain UnicodeData.txt, PropList.txt, DerivedCoreProperties.txt and
CaseFolding.txt.  OUTPUT defaults to lib/tokenizer/unicode_tables.c relative
to the repository root.  Python 3 standard library only.

What is emitted (all `static const`, plus four small accessors declared in
lib/tokenizer/unicode.h):

  * a two-stage lookup table mapping every code point 0..0x10FFFF to one
    "info" byte: bits 0-4 general category (enum fwi_unicode_gc order below),
    bit 5 White_Space (what Python `regex` uses for \\s), bit 6 "word"
    (what Python `regex` uses for \\w in str patterns: Alphabetic | M | Nd |
    Pc | Join_Control);
  * the simple lowercase mapping (UnicodeData.txt field 13) and the simple
    case folding (CaseFolding.txt status C and S) as run-length range tables.
"""

import os
import re
import sys

# Must match enum fwi_unicode_gc in lib/tokenizer/unicode.h.
GC_ORDER = [
    "Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No",
    "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So",
    "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co",
]
GC_INDEX = {name: i for i, name in enumerate(GC_ORDER)}
FLAG_WHITE_SPACE = 0x20
FLAG_WORD = 0x40
MAX_CP = 0x110000


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                yield [field.strip() for field in line.split(";")]


def parse_range(text):
    if ".." in text:
        a, b = text.split("..")
        return int(a, 16), int(b, 16)
    v = int(text, 16)
    return v, v


def read_unicode_data(path):
    """Return (categories list, lowercase dict). Handles <..., First>/<..., Last>."""
    cats = [GC_INDEX["Cn"]] * MAX_CP
    lower = {}
    first = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            if len(fields) < 15:
                continue
            cp = int(fields[0], 16)
            name = fields[1]
            gc = GC_INDEX[fields[2]]
            if name.endswith(", First>"):
                first = (cp, gc)
                continue
            if name.endswith(", Last>"):
                if first is None or first[1] != gc:
                    raise SystemExit("malformed First/Last range at %04X" % cp)
                for c in range(first[0], cp + 1):
                    cats[c] = gc
                first = None
                continue
            cats[cp] = gc
            if fields[13]:
                lower[cp] = int(fields[13], 16)
    return cats, lower


def read_property(path, prop):
    out = set()
    for fields in read_lines(path):
        if len(fields) >= 2 and fields[1] == prop:
            a, b = parse_range(fields[0])
            out.update(range(a, b + 1))
    return out


def read_case_folding(path):
    fold = {}
    for fields in read_lines(path):
        if len(fields) >= 3 and fields[1] in ("C", "S"):
            fold[int(fields[0], 16)] = int(fields[2], 16)
    return fold


def unicode_version(ucd_dir):
    path = os.path.join(ucd_dir, "DerivedCoreProperties.txt")
    with open(path, encoding="utf-8") as f:
        m = re.search(r"DerivedCoreProperties-(\d+\.\d+\.\d+)\.txt", f.readline())
    return m.group(1) if m else "unknown"


def two_stage(info, shift):
    size = 1 << shift
    blocks = {}
    stage1 = []
    stage2 = []
    for base in range(0, MAX_CP, size):
        block = bytes(info[base:base + size])
        idx = blocks.get(block)
        if idx is None:
            idx = len(blocks)
            blocks[block] = idx
            stage2.extend(block)
        stage1.append(idx)
    return stage1, stage2


def compress_map(mapping):
    """Runs of (first, count, stride, delta): cp = first + k*stride maps to cp + delta."""
    runs = []
    for cp in sorted(mapping):
        delta = mapping[cp] - cp
        if runs:
            first, count, stride, d = runs[-1]
            last = first + (count - 1) * stride
            if d == delta:
                if count == 1 and cp - last in (1, 2):
                    runs[-1] = [first, 2, cp - last, d]
                    continue
                if count > 1 and cp - last == stride:
                    runs[-1][1] += 1
                    continue
        runs.append([cp, 1, 1, delta])
    return runs


def emit_array(out, ctype, name, values, per_line=16, fmt="%d"):
    out.append("static const %s %s[%d] = {" % (ctype, name, len(values)))
    for i in range(0, len(values), per_line):
        out.append("    " + ", ".join(fmt % v for v in values[i:i + per_line]) + ",")
    out.append("};")
    out.append("")


def emit_runs(out, name, runs):
    out.append("static const struct case_run %s[%d] = {" % (name, len(runs)))
    for first, count, stride, delta in runs:
        out.append("    {0x%05X, %d, %d, %d}," % (first, count, stride, delta))
    out.append("};")
    out.append("")


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ucd = argv[1] if len(argv) > 1 else "/usr/share/unicode"
    dest = argv[2] if len(argv) > 2 else os.path.normpath(
        os.path.join(here, "..", "lib", "tokenizer", "unicode_tables.c"))

    cats, lower = read_unicode_data(os.path.join(ucd, "UnicodeData.txt"))
    proplist = os.path.join(ucd, "PropList.txt")
    white = read_property(proplist, "White_Space")
    join_control = read_property(proplist, "Join_Control")
    alpha = read_property(os.path.join(ucd, "DerivedCoreProperties.txt"), "Alphabetic")
    fold = read_case_folding(os.path.join(ucd, "CaseFolding.txt"))
    version = unicode_version(ucd)

    word_gcs = {GC_INDEX[g] for g in ("Mn", "Mc", "Me", "Nd", "Pc")}
    info = bytearray(MAX_CP)
    for cp in range(MAX_CP):
        v = cats[cp]
        if cp in white:
            v |= FLAG_WHITE_SPACE
        if cp in alpha or cp in join_control or cats[cp] in word_gcs:
            v |= FLAG_WORD
        info[cp] = v

    best = None
    for shift in range(5, 11):
        s1, s2 = two_stage(info, shift)
        cost = len(s1) * (1 if len(s2) >> shift <= 256 else 2) + len(s2)
        if best is None or cost < best[0]:
            best = (cost, shift, s1, s2)
    _, shift, stage1, stage2 = best
    s1_type = "uint8_t" if max(stage1) < 256 else "uint16_t"

    out = []
    out.append("/* GENERATED FILE - DO NOT EDIT.")
    out.append(" * Generated by tools/gen_unicode_tables.py from the Unicode Character")
    out.append(" * Database, Unicode version %s (UnicodeData.txt, PropList.txt," % version)
    out.append(" * DerivedCoreProperties.txt, CaseFolding.txt). */")
    out.append("")
    out.append("#include \"unicode.h\"")
    out.append("")
    out.append("#include <stddef.h>")
    out.append("#include <stdint.h>")
    out.append("")
    out.append("#define STAGE_SHIFT %d" % shift)
    out.append("#define STAGE_MASK ((1u << STAGE_SHIFT) - 1u)")
    out.append("")
    out.append("const char fwi_unicode_version[] = \"%s\";" % version)
    out.append("")
    out.append("struct case_run {")
    out.append("    uint32_t first;  /* first code point of the run */")
    out.append("    uint16_t count;  /* number of code points in the run */")
    out.append("    uint8_t stride;  /* distance between consecutive code points */")
    out.append("    int32_t delta;   /* mapped = cp + delta */")
    out.append("};")
    out.append("")
    emit_array(out, s1_type, "stage1", stage1, per_line=16)
    emit_array(out, "uint8_t", "stage2", stage2, per_line=16, fmt="0x%02x")
    lower_runs = compress_map(lower)
    fold_runs = compress_map(fold)
    emit_runs(out, "lower_runs", lower_runs)
    emit_runs(out, "fold_runs", fold_runs)
    out.append("""uint8_t fwi_unicode_info(uint32_t cp)
{
    if (cp >= 0x110000u) {
        return (uint8_t)FWI_GC_CN;
    }
    return stage2[((size_t)stage1[cp >> STAGE_SHIFT] << STAGE_SHIFT) + (cp & STAGE_MASK)];
}

static uint32_t map_runs(const struct case_run *runs, size_t n, uint32_t cp)
{
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (runs[mid].first <= cp) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return cp;
    }
    const struct case_run *r = &runs[lo - 1];
    uint32_t off = cp - r->first;
    if (off % r->stride != 0 || off / r->stride >= r->count) {
        return cp;
    }
    return (uint32_t)((int64_t)cp + r->delta);
}

uint32_t fwi_unicode_tolower(uint32_t cp)
{
    return map_runs(lower_runs, sizeof lower_runs / sizeof lower_runs[0], cp);
}

uint32_t fwi_unicode_casefold(uint32_t cp)
{
    return map_runs(fold_runs, sizeof fold_runs / sizeof fold_runs[0], cp);
}""")
    with open(dest, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out) + "\n")
    print("wrote %s: Unicode %s, shift %d, stage1 %d, stage2 %d bytes, %d lower runs, %d fold runs"
          % (dest, version, shift, len(stage1), len(stage2), len(lower_runs), len(fold_runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
