#!/usr/bin/env python3
"""Differential test: C pre-tokenizers / regex engine vs Python's `regex` module.

Usage:
    pretok_vs_python.py --dump PATH/pretok_dump --inp PATH/ggml-vocab-gpt-2.gguf.inp
                        [--random N] [--seed S] [--verbose]

Checks
  1. property tables: category, \\s and \\w of every code point against
     `regex` (code points whose properties differ only because the two sides
     use different Unicode versions are reported and excluded from step 3's
     generated texts; a difference on a code point assigned in both is an
     error);
  2. the regex engine alone on hand-written patterns (quantifiers, lazy,
     possessive, atomic, lookahead, anchors, classes, case-insensitive,
     empty matches) over small texts;
  3. every pre-tokenizer (each distinct regex list) on every test case of the
     .inp file (split on "\\n__ggml_vocab_test__\\n") plus generated hard
     texts, with llama.cpp's split semantics emulated on top of `regex`.
Exits non-zero on any mismatch and prints the first differences.
"""

import argparse
import random
import subprocess
import sys
import tempfile
import os

import regex

SEP = b"\x00\xff\xfe<<case-separator>>\xfe\xff\x00"
# General category changes between Unicode 15.0 (our tables) and newer versions.
KNOWN_CATEGORY_CHANGES = {0x0295: "Ll -> Lo (Unicode 16)", 0x1171E: "Mn -> Mc (Unicode 16)"}
GC_ORDER = [
    "Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No",
    "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So",
    "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co",
]


# ---------------------------------------------------------------- helpers

def llama_decode(data):
    """llama.cpp unicode_cpts_from_utf8 (with the >U+10FFFF rule of unicode.h)."""
    cps = []
    i, n = 0, len(data)
    while i < n:
        b0 = data[i]
        cp, ln = 0xFFFD, 1
        if b0 < 0x80:
            cp = b0
        elif b0 & 0xE0 == 0xC0:
            if i + 1 < n and data[i + 1] & 0xC0 == 0x80:
                cp, ln = ((b0 & 0x1F) << 6) | (data[i + 1] & 0x3F), 2
        elif b0 & 0xF0 == 0xE0:
            if i + 2 < n and all(data[i + k] & 0xC0 == 0x80 for k in (1, 2)):
                cp, ln = ((b0 & 0x0F) << 12) | ((data[i + 1] & 0x3F) << 6) | (data[i + 2] & 0x3F), 3
        elif b0 & 0xF8 == 0xF0:
            if i + 3 < n and all(data[i + k] & 0xC0 == 0x80 for k in (1, 2, 3)):
                v = ((b0 & 0x07) << 18) | ((data[i + 1] & 0x3F) << 12) | ((data[i + 2] & 0x3F) << 6) | (data[i + 3] & 0x3F)
                if v <= 0x10FFFF:
                    cp, ln = v, 4
        cps.append(cp)
        i += ln
    return "".join(chr(c) for c in cps)


def enc(piece):
    return piece.encode("utf-8", "surrogatepass").hex()


def py_split(text, patterns):
    pieces = [text] if text else []
    for pat in patterns:
        out = []
        for p in pieces:
            last = 0
            for m in pat.finditer(p):
                s, e = m.span()
                if s > last:
                    out.append(p[last:s])
                if e > s:
                    out.append(p[s:e])
                last = e
            if last < len(p):
                out.append(p[last:])
        pieces = out
    return [enc(p) for p in pieces]


def run_dump(dump, args, cases):
    """Run pretok_dump in batch mode over cases; returns list of piece lists or an error string."""
    for c in cases:
        assert SEP not in c
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(SEP.join(cases))
        path = f.name
    try:
        res = subprocess.run([dump] + args + [path, SEP.hex()], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    finally:
        os.unlink(path)
    out = res.stdout.decode()
    if res.returncode == 3:
        return out.strip()
    if res.returncode != 0:
        raise SystemExit("pretok_dump failed (%d): %s" % (res.returncode, res.stderr.decode()))
    results, cur = [], []
    for line in out.split("\n"):
        if line == "=":
            results.append(cur)
            cur = []
        elif line:
            cur.append(line)
    if len(results) != len(cases):
        raise SystemExit("pretok_dump returned %d cases, expected %d" % (len(results), len(cases)))
    return results


def show(hexes):
    return [bytes.fromhex(h).decode("utf-8", "surrogatepass") for h in hexes]


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


# ---------------------------------------------------------------- 1. tables

def check_tables(dump):
    out = subprocess.run([dump, "--info"], stdout=subprocess.PIPE, check=True).stdout.decode()
    n = 0x110000
    c_info = bytearray(n)
    for line in out.strip().split("\n"):
        a, b, v = (int(x, 16) for x in line.split())
        c_info[a:b + 1] = bytes([v]) * (b - a + 1)
    allchars = "".join(chr(c) for c in range(n))
    py_gc = bytearray(n)
    for gi, g in enumerate(GC_ORDER):
        if g == "Cn":
            continue
        for m in regex.finditer(r"\p{%s}+" % g, allchars):
            py_gc[m.start():m.end()] = bytes([gi]) * (m.end() - m.start())
    py_ws = bytearray(n)
    for m in regex.finditer(r"\s+", allchars):
        py_ws[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    py_w = bytearray(n)
    for m in regex.finditer(r"\w+", allchars):
        py_w[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    skew, errors = set(), []
    for cp in range(n):
        v = c_info[cp]
        cg, cws, cw = v & 0x1F, bool(v & 0x20), bool(v & 0x40)
        if cg == py_gc[cp] and cws == bool(py_ws[cp]) and cw == bool(py_w[cp]):
            continue
        skew.add(cp)
        if cg != 0 and py_gc[cp] != 0 and cp not in KNOWN_CATEGORY_CHANGES:
            errors.append(cp)
    print("tables: %d code points differ from regex %s (newer Unicode assignments), %d real mismatches"
          % (len(skew), regex.__version__, len(errors)))
    for cp in errors[:10]:
        v = c_info[cp]
        print("  U+%04X C: %s ws=%d w=%d  Python: %s ws=%d w=%d"
              % (cp, GC_ORDER[v & 0x1F], bool(v & 0x20), bool(v & 0x40), GC_ORDER[py_gc[cp]], py_ws[cp], py_w[cp]))
    return skew, len(errors) == 0


# ---------------------------------------------------------------- 2. regex engine

ENGINE_PATTERNS = [
    r"a*", r"a+?", r"a{2,3}", r"a{2,3}?", r"a{,2}", r"a{2,}", r"x{2}y", r"a{1,3}+a", r"(?:ab)+", r"(?:ab){2,3}",
    r"(?:ab)*?b", r"(?>a+)a", r"(?>ab|a)b", r"a++b", r"(?:a|ab)c", r"\d*", r"\d*|a", r"(?=a)", r"(?!a)",
    r"\w+", r"\W+", r"\b\w", r"\B.", r"\bfoo\b", r"^a", r"a$", r"\s+$", r"$", r"^", r"\Aa", r"a\Z",
    r".", r".+", r"[^a-c]+", r"[a\-c]+", r"[-a]+", r"[a-]+", r"[]a]+", r"[^]a]+", r"[\]]", r"[\\]+",
    r"[\s\d]+", r"[^\S\n]+", r"[\P{L}]+", r"\P{L}+", r"\pL+", r"\PN+", r"[\p{Lu}\p{Nd}]+", r"\p{Lt}", r"\p{Lm}+",
    r"\p{Mn}+", r"\p{Z}+", r"\p{Zs}", r"\p{C}+", r"\p{Cf}", r"\p{Co}", r"\p{Cs}", r"\p{Cn}+", r"\p{S}+",
    r"\p{Sm}", r"\p{Sc}", r"\p{Sk}", r"\p{So}+", r"\p{P}+", r"\p{Pd}", r"\p{Ps}\p{Pe}", r"\p{Pi}|\p{Pf}",
    r"\p{No}", r"\p{Nl}", r"\D+", r"\S+",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)", r"(?i)hello", r"(?i:k)", r"(?i:\u00e9)+", r"\x41\u00e9\U0001F600",
    r"\t|\n|\r|\f|\v", r"\0", r"a{", r"a{1", r"a{,}", r"{", r"}", r"a|", r"|a", r"()", r"(|a)",
    r"(?:a|)b", r"a??b", r"(a|b)*c", r"((?=[\p{L}])([^a-z]))+", r"(?=\p{L})[^A-Z]", r"(?=(\d{3})+(?!\d))",
    r"\d{1,3}(?=(?:\d{3})*\b)", r"(?P<x>a)b", r"(?<y>a)+", r"(?#comment)a", r"[\u4e00-\u9fa5]+",
    r"\s{2}(?!\S)|\s", r" ?[^(\s|.,!?)]+",
    # errors (must be rejected, compared only by "rejected" status)
    r"(", r")", r"[a", r"*", r"a**", r"a{3,2}", r"\p{Foo}", r"\q", r"(?<=a)b", r"(?<!a)b", r"\1", r"(a)\1",
    r"\x{1F600}", r"[z-a]", r"\p{L", r"(?i:[a-z])", r"(?:a*)*", r"(?:)+",
]

ENGINE_TEXTS = [
    "", "a", "aa", "aaa", "aaaa", "aaab", "ab", "abab", "ababab", "abc", "xxy", "ac", "abc abc", "12a345b",
    "foo bar foobar", "Hello World", "IT'S YOU'LL 'Re ''s 'ſ 'K", "héllo\nworld\n", "a\n", "\n", " \n\n \t ",
    "ÉCOLE école Ǆ ǅ ǆ", "1234567", "12345 678 9", "a  b   c", "x\u00a0\u2028y\u3000", "😀👍🏽 🇺🇸",
    "e\u0301\u0302 \u0915\u093f", "\u00bd\u2162\u0663", "[a]b]-c\\d", "\ud800x", "\ue000\U0010fffd\u0378",
    "$+<=>^`|~ ¢£ ±", "«»“”()", "a\u200db\u00adc", "Ab,Cd.Ef!?Gh", "ｱｲ", "ǅungla", "ℌ𝔥",
]


def check_engine(dump, verbose):
    cases = [t.encode("utf-8", "surrogatepass") for t in ENGINE_TEXTS]
    fails = 0
    errors_expected = ENGINE_PATTERNS[ENGINE_PATTERNS.index(r"("):]
    for pat in ENGINE_PATTERNS:
        try:
            cre = regex.compile(pat)
            py_err = None
        except regex.error as e:
            cre, py_err = None, str(e)
        res = run_dump(dump, ["--regex", pat.encode("utf-8").hex()], cases)
        c_err = res if isinstance(res, str) else None
        if pat in errors_expected:
            if c_err is None:
                print("ENGINE: pattern %r should be rejected (Python: %s)" % (pat, py_err))
                fails += 1
            continue
        if py_err is not None or c_err is not None:
            print("ENGINE: pattern %r: Python error %r, C error %r" % (pat, py_err, c_err))
            fails += 1
            continue
        for text, got in zip(ENGINE_TEXTS, res):
            exp = py_split(llama_decode(text.encode("utf-8", "surrogatepass")), [cre])
            if got != exp:
                fails += 1
                if fails <= 10:
                    print("ENGINE MISMATCH pattern %r text %r\n  Python %r\n  C      %r"
                          % (pat, text, show(exp), show(got)))
    n_ok = len(ENGINE_PATTERNS) - len(errors_expected)
    print("engine: %d patterns x %d texts, %d rejected-as-expected checks, %d failures"
          % (n_ok, len(ENGINE_TEXTS), len(errors_expected), fails))
    return fails == 0


# ---------------------------------------------------------------- 3. pre-tokenizers

FIXED_TEXTS = [
    "Hello World", " Hello World!", "HELLO WORLD", "HelloWorld iPhone McDonald's XMLHttpRequest",
    "I'M YOU'LL WE'VE THEY'RE IT'S HE'D 'S 's 'Ll ''m '", "don't won't y'all ma'am",
    "Привет мир! Ελληνικά Ωμέγα", "مرحبا بالعالم ١٢٣٤٥", "नमस्ते दुनिया", "สวัสดีชาวโลก",
    "你好，世界！这是一个测试。", "こんにちは、世界。カタカナ ｶﾀｶﾅ", "안녕하세요 세계 ㄱㄴㄷ",
    "Tiếng Việt có dấu: Cửa Việt", "e\u0301 a\u0308\u0323 \u0301start",
    "😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇺🇸🇩🇪 ❤️ ☺︎", "🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 🦙🦙",
    "0 12 123 1234 12345 123456 1234567 12345678 123456789 1234567890",
    "٠١٢٣٤٥٦٧٨٩ ０１２３４ ²³¹ ½¾ Ⅻⅻ ①②", "3.14159 1,000,000 -42 +7 1e10 0x1F",
    "   leading", "trailing   ", "a  b   c    d", "\t\tindent\t", " \u00a0\u2003\u3000 x \u2028\u2029\u0085y",
    "line1\r\nline2\r\n\r\nline3\n\n\nline4\r\r", " \n \r\n \t\n  \n", "a\n b\n  c\n   d",
    "\x0b\x0c\x1c\x1d\x1e\x1f end", "tab\there\u200bzero\u200dwidth\u00adsoft",
    "def f(x):\n    return x**2 + 1  # comment\n\n\nclass A: pass\n",
    "<sentinel:12> IMGIMGABCDZ IMGIMGAAAAAZ <tag attr=\"v\">", "$+<=>^`|~ ¢£€¥ ±×÷ §¶ ©®™",
    "«quoted» “double” ‘single’ — – … 。，、 ！？ ：；",
    "' era", "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～",
    "CamelCaseWordsAndACRONYMSLikeHTTPServer ǅungla ǈ", "ﬁﬂ ŉ ẞß ΐ",
    "a" * 3000, " " * 3000 + "x", "1" * 1000, "\n" * 500 + "x", "!" * 2000, "ab " * 700,
]

INVALID_BYTES = [
    b"\xff", b"\xc3", b"a\x80b", b"\xe2\x82", b"\xe2\x82 x", b"\xf0\x9f\x98", b"\xf0\x9f\x98a",
    b"\xed\xa0\x80 surrogate", b"\xc0\x80 overlong \xe0\x80\xaf", b"\xf4\x90\x80\x80 big",
    b"\xf8\x88\x80\x80\x80", b"\xfe\xfe\xff\xff", b"ok \xc3\xa9 \xc3 \xa9 x\x80\x80y",
    b"Hello\xc3(World) 12\xe2\x82\xac34", b"\xc3\x28\xa0\xa1\xe2\x28\xa1\xe2\x82\x28\xf0\x28\x8c\xbc",
]


def random_pool(skew):
    pool = []
    pool += [chr(c) for c in range(0x20, 0x7F)] * 4
    pool += list("     \t\n\r\n'''sStTmMdDlLrReEvV") * 3
    pool += list("0123456789") * 2
    ranges = [(0x80, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
              (0xE00, 0xE7F), (0x1100, 0x11FF), (0x1E00, 0x1FFF), (0x2000, 0x206F), (0x2070, 0x218F),
              (0x2190, 0x2BFF), (0x3000, 0x30FF), (0x3130, 0x318F), (0x4E00, 0x4E80), (0xAC00, 0xAC80),
              (0xD7B0, 0xD7FF), (0xE000, 0xE010), (0xF900, 0xF910), (0xFB00, 0xFB4F), (0xFE00, 0xFE6F),
              (0xFF00, 0xFFEF), (0xFFF0, 0xFFFF), (0x10400, 0x1044F), (0x1D400, 0x1D4FF), (0x1F300, 0x1F6FF),
              (0x1F900, 0x1F9FF), (0xE0000, 0xE007F), (0x10FFF0, 0x10FFFF)]
    for a, b in ranges:
        pool += [chr(c) for c in range(a, b + 1) if c not in skew]
    return pool


def generated_cases(skew, n_random, seed):
    rnd = random.Random(seed)
    pool = random_pool(skew)
    cases = []
    for _ in range(n_random):
        k = rnd.choice([1, 2, 3, 5, 8, 13, 30, 60, 120])
        text = "".join(rnd.choice(pool) for _ in range(k))
        cases.append(text.encode("utf-8", "surrogatepass"))
    # random byte soup (mostly valid UTF-8 with corruption)
    for _ in range(n_random // 4):
        text = "".join(rnd.choice(pool) for _ in range(rnd.randint(1, 40))).encode("utf-8", "surrogatepass")
        b = bytearray(text)
        for _ in range(rnd.randint(1, 3)):
            b.insert(rnd.randint(0, len(b)), rnd.randint(0x80, 0xFF))
        if any(ord(ch) in skew for ch in llama_decode(bytes(b))):
            continue  # corruption formed a code point of a newer Unicode version
        cases.append(bytes(b))
    return cases


def check_pretoks(dump, inp_path, skew, n_random, seed, verbose):
    data = open(inp_path, "rb").read()
    inp_cases = data.split(b"\n__ggml_vocab_test__\n")
    if inp_cases and inp_cases[-1] == b"":
        inp_cases.pop()
    cases = list(inp_cases)
    skipped = 0
    for t in FIXED_TEXTS:
        if any(ord(ch) in skew for ch in t):
            skipped += 1
            continue
        cases.append(t.encode("utf-8", "surrogatepass"))
    cases += INVALID_BYTES
    cases += generated_cases(skew, n_random, seed)
    print("pretok: %d cases (%d from %s, %d fixed skipped for Unicode version skew)"
          % (len(cases), len(inp_cases), os.path.basename(inp_path), skipped))

    lines = subprocess.run([dump, "--names"], stdout=subprocess.PIPE, check=True).stdout.decode().strip().split("\n")
    defs = {}
    for line in lines:
        f = line.split("\t")
        name, ident, regexes = f[0], f[1], tuple(bytes.fromhex(h).decode() for h in f[3:])
        defs.setdefault((ident, regexes), []).append(name)
    texts = [llama_decode(c) for c in cases]
    total_fail = 0
    for (ident, regexes), names in defs.items():
        pats = [regex.compile(r) for r in regexes]
        got = run_dump(dump, [names[0]], cases)
        if isinstance(got, str):
            print("FAIL %s: %s" % (ident, got))
            total_fail += 1
            continue
        fails = 0
        for case, text, g in zip(cases, texts, got):
            exp = py_split(text, pats)
            if g != exp:
                fails += 1
                if fails <= 3:
                    i = first_diff(g, exp)
                    print("MISMATCH %s on %r\n  first difference at piece %d\n  Python %r\n  C      %r"
                          % (ident, case[:120], i, show(exp[max(0, i - 2):i + 3]), show(g[max(0, i - 2):i + 3])))
        status = "ok" if fails == 0 else "FAIL (%d cases)" % fails
        print("  %-24s %-6s %d regex(es), names: %s" % (ident, status, len(regexes), ", ".join(names)))
        total_fail += fails != 0
    return total_fail == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--inp", required=True)
    ap.add_argument("--random", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    skew, ok_tables = check_tables(a.dump)
    ok_engine = check_engine(a.dump, a.verbose)
    ok_pretok = check_pretoks(a.dump, a.inp, skew, a.random, a.seed, a.verbose)
    ok = ok_tables and ok_engine and ok_pretok
    print("RESULT: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
