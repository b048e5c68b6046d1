#!/usr/bin/env python3
"""The exported symbols of libfwinfer are exactly the documented API.

Checks, both ways, that
  - `nm -D --defined-only` on the shared library lists only fw_ symbols and
    exactly those in lib/fwinfer.symbols;
  - every function declared FW_API in include/fwinfer.h is in
    lib/fwinfer.symbols and vice versa.
usage: check_symbols.py NM LIBRARY HEADER SYMBOLS_FILE [--coverage]

--coverage (a -Db_coverage=true build): the gcov runtime linked into the
library exports its own symbols (__gcov_*, mangle_path); they are ignored.
No release build is made with coverage.
"""
import re
import subprocess
import sys


def main():
    nm, lib, header, symfile = sys.argv[1:5]
    coverage = '--coverage' in sys.argv[5:]
    out = subprocess.run([nm, '-D', '--defined-only', lib], check=True,
                         capture_output=True, text=True).stdout
    exported = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] in 'TtDdBbRrWwVvi':
            name = parts[2].split('@')[0]
            if coverage and (name.startswith('__gcov_') or name == 'mangle_path'):
                continue
            exported.add(name)
    listed = {l.strip() for l in open(symfile) if l.strip() and not l.startswith('#')}
    text = open(header, encoding='utf-8').read()
    declared = set(re.findall(r'^FW_API\b[^;(]*?\b(fw_\w+)\s*\(', text, re.M))
    errors = []
    for s in sorted(exported - listed):
        errors.append('exported but not in %s: %s' % (symfile, s))
    for s in sorted(listed - exported):
        errors.append('listed but not exported: %s' % s)
    for s in sorted(declared - listed):
        errors.append('declared in the header but not listed: %s' % s)
    for s in sorted(listed - declared):
        errors.append('listed but not declared FW_API in the header: %s' % s)
    for s in sorted(exported):
        if not s.startswith('fw_'):
            errors.append('exported symbol without the fw_ prefix: %s' % s)
    if errors:
        print('\n'.join(errors))
        return 1
    print('%d exported symbols, all documented' % len(exported))
    return 0


if __name__ == '__main__':
    sys.exit(main())
