#!/usr/bin/env python3
"""fwinfer-inspect --json against an independent GGUF reader written here in
Python: for every GGUF file given (and every file in the given folders),
metadata values and the tensor table must be identical.  Also: a file that is
not GGUF makes fwinfer-inspect exit non-zero with a message.

usage: check_inspect.py FWINFER_INSPECT PATH...
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

SCALAR = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?',
          10: 'Q', 11: 'q', 12: 'd'}


class F32(float):
    """A float32 value: the JSON holds the shortest text of the float32."""


def read_gguf(path):
    data = open(path, 'rb').read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from('<' + fmt, data, pos)[0]
        pos += struct.calcsize('<' + fmt)
        return v

    def string():
        nonlocal pos
        n = take('Q')
        s = data[pos:pos + n]
        pos += n
        return s.decode('utf-8', 'replace')

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take('I'), take('Q')
            return [value(et) for _ in range(n)]
        v = take(SCALAR[t])
        return F32(v) if t == 6 else v

    assert data[:4] == b'GGUF', path
    pos = 4
    version = take('I')
    n_tensors, n_kv = take('Q'), take('Q')
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(take('I'))
    tensors = []
    for _ in range(n_tensors):
        name = string()
        nd = take('I')
        shape = [take('Q') for _ in range(nd)]
        ttype = take('I')
        off = take('Q')
        tensors.append((name, ttype, shape, off))
    return version, meta.get('general.alignment', 32), meta, tensors


def same(a, b):
    if isinstance(a, F32) and isinstance(b, (int, float)) and not math.isnan(a):
        return struct.unpack('<f', struct.pack('<f', b))[0] == a
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        if isinstance(a, float) and math.isnan(a):
            return b is None
        return float(a) == float(b)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    return a == b


def check(inspect, path, type_names):
    version, alignment, meta, tensors = read_gguf(path)
    out = subprocess.run([inspect, '--json', path], capture_output=True,
                         text=True, check=True).stdout
    got = json.loads(out)
    errs = []
    if got['version'] != version:
        errs.append('version %r != %r' % (got['version'], version))
    if got['alignment'] != alignment:
        errs.append('alignment %r != %r' % (got['alignment'], alignment))
    if list(got['metadata'].keys()) != list(meta.keys()):
        errs.append('key order/set differs')
    for k, v in meta.items():
        if not same(v, got['metadata'].get(k)):
            errs.append('key %s: %r != %r' % (k, str(got['metadata'].get(k))[:80], str(v)[:80]))
    if len(got['tensors']) != len(tensors):
        errs.append('tensor count %d != %d' % (len(got['tensors']), len(tensors)))
    for g, (name, ttype, shape, off) in zip(got['tensors'], tensors):
        if (g['name'], g['type'], g['shape'], g['offset']) != (name, type_names.get(ttype), shape, off):
            errs.append('tensor %s differs: %r' % (name, g))
    for e in errs[:10]:
        print('%s: %s' % (path, e))
    return not errs


def main():
    inspect = sys.argv[1]
    type_names = {0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1',
                  8: 'Q8_0', 10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K',
                  14: 'Q6_K', 30: 'BF16'}
    files = []
    for p in sys.argv[2:]:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p)
                            if f.endswith('.gguf') or f.endswith('.bin'))
        elif os.path.exists(p):
            files.append(p)
        else:
            print('SKIPPED: %s not found (shared test data missing?)' % p)
    ok = sum(check(inspect, f, type_names) for f in files)
    # a bad file: non-zero exit and the library's message on stderr
    with tempfile.NamedTemporaryFile(suffix='.gguf') as t:
        t.write(b'GGUF\x03\x00\x00\x00' + b'\xff' * 16)
        t.flush()
        r = subprocess.run([inspect, t.name], capture_output=True, text=True)
        bad_ok = r.returncode != 0 and 'cannot fit' in r.stderr and not r.stdout
        if not bad_ok:
            print('bad file: exit %d, stderr %r' % (r.returncode, r.stderr))
    print('%d passed, %d failed' % (ok + bad_ok, len(files) - ok + (not bad_ok)))
    return 0 if ok == len(files) and bad_ok else 1


if __name__ == '__main__':
    sys.exit(main())
