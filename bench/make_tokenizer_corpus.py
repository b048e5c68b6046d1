#!/usr/bin/env python3
"""Write a deterministic mixed-text corpus for tokenizer throughput benchmarks.

    make_tokenizer_corpus.py DATA_DIR OUT_FILE [--mb N] [--seed S]

DATA_DIR is the directory holding ggml-vocab-gpt-2.gguf.inp (llama.cpp's
tokenizer test inputs; a "vocab/" subdirectory of DATA_DIR is also tried).
Its 46 test texts (split on "\\n__ggml_vocab_test__\\n") are written in turn,
over and over, each followed by a chunk of generated text of a randomly
chosen kind: English-like prose, code, numbers, whitespace runs, CJK,
Cyrillic, emoji and accented Latin.  Output is UTF-8, at least N MB
(10^6 bytes, default 2) and identical for the same seed, inputs and N.
Standard library only.
"""

import argparse
import os
import random
import sys

SEP = "\n__ggml_vocab_test__\n"

WORDS = (
    "the of and to in is was that for it with as his on be at by had are but from or have an they "
    "which one you were her all she there would their we him been has when who will more no if out "
    "so said what up its about into than them can only other new some could time these two may then "
    "do first any my now such like our over man me even most made after also did many before must "
    "through back years where much your way well down should because each just those people how too "
    "little state good very make world still own see men work long get here between both life being "
    "under never day same another know while last might us great old year off come since against go "
    "came right used take three tokenizer inference model layer attention vector matrix kernel cache "
    "benchmark throughput latency memory thread buffer parameter gradient embedding transformer "
    "question answer history science government company system program problem number however"
).split()

CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'LL")
PUNCT = (".", ".", ".", ",", ",", ",", ";", ":", "!", "?", "...", " -", " --", "")

SYLLABLES = ("ka ri to mo na shi ve lo an ter pre con ex un de ing tion ly er est ous al ic ism "
             "ph th qu str spl ch ck gr bl").split()

IDENTS = ("i j n len buf ptr count total result value index node tree list map key data size cap "
          "tokens vocab merges rank score text out err ctx model layer head dim").split()
TYPES = ("int", "size_t", "uint32_t", "float", "double", "char *", "const char *", "int64_t")

CODE_TEMPLATES = (
    "static {t} {f}({t} {a}, {t} {b})\n{{\n    {t} {c} = {a} + {b} * {n};\n"
    "    if ({c} > {m}) {{\n        return {c} - {m};\n    }}\n    return {c};\n}}\n",
    "for (size_t {a} = 0; {a} < {b}; {a}++) {{\n\t{c}[{a}] = ({t}){a} * {n}.{m}f;\n}}\n",
    "def {f}({a}, {b}={n}):\n    \"\"\"Return the {c} of {a}.\"\"\"\n    {c} = [{a}[i] ** 2 for i in range({b})]\n"
    "    return sum({c}) / max(len({c}), 1)\n\n",
    "const {f} = async ({a}, {b}) => {{\n  const {c} = await fetch(`/api/{a}/${{{b}}}`);\n"
    "  return {c}.json();\n}};\n",
    "#include <stdio.h>\n#define {F}_MAX {n}\nstruct {f} {{ {t} {a}; {t} {b}[{m}]; }};\n",
    "    if ({a} != NULL && {a}->{b} >= {n}) {{ fprintf(stderr, \"{f}: %d\\n\", {a}->{b}); }}\n",
    "SELECT {a}, COUNT(*) AS {c} FROM {f} WHERE {b} > {n} GROUP BY {a} ORDER BY {c} DESC;\n",
    "<div class=\"{f}\" id=\"{a}-{n}\"><span>{b}</span>&nbsp;&lt;{c}&gt;</div>\n",
    "{{\"{a}\": {n}, \"{b}\": [{m}, {n}.5, null, true], \"{c}\": \"{f}\"}}\n",
    "fn {f}(&mut self, {a}: usize) -> Result<Vec<u32>, Error> {{ Ok(vec![{n}; {a}]) }}\n",
)

CYRILLIC_WORDS = ("привет мир как дела хорошо спасибо пожалуйста сегодня завтра время человек "
                  "работа город страна книга язык модель данные токен текст число память поток "
                  "Москва Россия Украина Беларусь очень большой маленький новый старый").split()
CYRILLIC_LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЭЮЯ"

CJK_COMMON = ("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对"
              "可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同"
              "三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定"
              "女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由")
KANA = ("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
        "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンー")
CJK_PUNCT = "。、！？「」（）・：；"

ACCENTED_WORDS = ("café naïve résumé façade über Straße Grüße Mädchen señor niño año mañana "
                  "corazón canción élève être forêt déjà où garçon crème brûlée Ærø smørrebrød "
                  "Łódź Kraków żółw zażółć gęślą jaźń Dvořák Škoda příliš žluťoučký kůň "
                  "Tiếng Việt Hà Nội Nguyễn phở São Paulo ação coração Ísland Reykjavík").split()
ACCENTED_LETTERS = "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿāăąćčďđēėęěğīįıłńňōőœřśşšťūůűųźżžẞ"

EMOJI_SINGLE = [chr(c) for c in range(0x1F600, 0x1F650)] + [chr(c) for c in range(0x1F300, 0x1F330)]
SKIN = [chr(c) for c in range(0x1F3FB, 0x1F400)]
ZWJ_SEQS = ("\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466",
            "\U0001F3F3\uFE0F\u200D\U0001F308", "\U0001F469\u200D\U0001F4BB",
            "\u2764\uFE0F", "\u2705", "\U0001F44D", "\U0001F999")


def gen_prose(r):
    out = []
    for _ in range(r.randint(2, 8)):
        words = []
        for k in range(r.randint(4, 18)):
            if r.random() < 0.08:
                w = "".join(r.choice(SYLLABLES) for _ in range(r.randint(2, 4)))
            else:
                w = r.choice(WORDS)
            if k == 0 or r.random() < 0.05:
                w = w.capitalize()
            if r.random() < 0.02:
                w = w.upper()
            if r.random() < 0.05:
                w += r.choice(CONTRACTIONS)
            if r.random() < 0.04:
                w = '"' + w + '"'
            words.append(w)
        out.append(" ".join(words) + r.choice(PUNCT))
    sep = r.choice((" ", " ", "\n", "\n\n"))
    return sep.join(out) + "\n"


def gen_code(r):
    parts = []
    for _ in range(r.randint(1, 3)):
        tpl = r.choice(CODE_TEMPLATES)
        f = r.choice(IDENTS) + "_" + r.choice(IDENTS)
        parts.append(tpl.format(t=r.choice(TYPES), f=f, F=f.upper(), a=r.choice(IDENTS),
                                b=r.choice(IDENTS), c=r.choice(IDENTS),
                                n=r.randint(0, 100000), m=r.randint(1, 999)))
    return "".join(parts)


def gen_numbers(r):
    items = []
    for _ in range(r.randint(5, 30)):
        k = r.randint(0, 7)
        if k == 0:
            items.append(str(r.randint(0, 10 ** r.randint(1, 15))))
        elif k == 1:
            items.append("%d.%0*d" % (r.randint(0, 99999), r.randint(1, 6), r.randint(0, 999)))
        elif k == 2:
            items.append("%04d-%02d-%02d" % (r.randint(1900, 2099), r.randint(1, 12), r.randint(1, 28)))
        elif k == 3:
            items.append("0x%0*X" % (r.choice((2, 4, 8, 16)), r.getrandbits(64) & ((1 << 64) - 1)))
        elif k == 4:
            items.append("+1 (%03d) %03d-%04d" % (r.randint(200, 999), r.randint(0, 999), r.randint(0, 9999)))
        elif k == 5:
            items.append("%d,%03d,%03d" % (r.randint(1, 999), r.randint(0, 999), r.randint(0, 999)))
        elif k == 6:
            items.append("%d%%" % r.randint(0, 100))
        else:
            items.append("v%d.%d.%d" % (r.randint(0, 9), r.randint(0, 30), r.randint(0, 200)))
    return r.choice((" ", ", ", "\t", "\n")).join(items) + "\n"


def gen_whitespace(r):
    out = []
    for _ in range(r.randint(3, 12)):
        ws = "".join(r.choice((" ", " ", " ", "\t", "\n", "\r\n")) for _ in range(r.randint(1, 40)))
        out.append(ws)
        out.append(r.choice(WORDS))
    return "".join(out) + "\n"


def gen_cjk(r):
    out = []
    for _ in range(r.randint(20, 200)):
        x = r.random()
        if x < 0.55:
            out.append(r.choice(CJK_COMMON))
        elif x < 0.75:
            out.append(r.choice(KANA))
        elif x < 0.85:
            out.append(chr(r.randint(0xAC00, 0xD7A3)))  # Hangul syllable
        elif x < 0.90:
            out.append(chr(r.randint(0x4E00, 0x9FFF)))  # any CJK ideograph
        elif x < 0.97:
            out.append(r.choice(CJK_PUNCT))
        else:
            out.append(r.choice((" ", "123", "AI", "GPU")))
    return "".join(out) + "\n"


def gen_cyrillic(r):
    words = []
    for k in range(r.randint(5, 40)):
        if r.random() < 0.8:
            w = r.choice(CYRILLIC_WORDS)
        else:
            w = "".join(r.choice(CYRILLIC_LETTERS) for _ in range(r.randint(2, 10)))
        if k == 0:
            w = w.capitalize()
        words.append(w)
    return " ".join(words) + r.choice((".", "!", "?", ",")) + "\n"


def gen_emoji(r):
    out = []
    for _ in range(r.randint(3, 25)):
        x = r.random()
        if x < 0.4:
            out.append(r.choice(EMOJI_SINGLE))
        elif x < 0.55:
            out.append(r.choice(EMOJI_SINGLE[:0x50]) + r.choice(SKIN))
        elif x < 0.7:
            out.append(r.choice(ZWJ_SEQS))
        elif x < 0.8:
            out.append(chr(0x1F1E6 + r.randint(0, 25)) + chr(0x1F1E6 + r.randint(0, 25)))
        else:
            out.append(" " + r.choice(WORDS) + " ")
    return "".join(out) + "\n"


def gen_accented(r):
    words = []
    for _ in range(r.randint(5, 30)):
        if r.random() < 0.75:
            w = r.choice(ACCENTED_WORDS)
        else:
            w = "".join(r.choice(ACCENTED_LETTERS + "aeiounrst") for _ in range(r.randint(2, 9)))
        words.append(w)
    return " ".join(words) + r.choice((".", ",", ";", "!")) + "\n"


GENERATORS = (
    (gen_prose, 30), (gen_code, 20), (gen_numbers, 8), (gen_whitespace, 6),
    (gen_cjk, 10), (gen_cyrillic, 8), (gen_emoji, 6), (gen_accented, 8),
)


def find_inp(data_dir):
    for d in (data_dir, os.path.join(data_dir, "vocab")):
        p = os.path.join(d, "ggml-vocab-gpt-2.gguf.inp")
        if os.path.isfile(p):
            return p
    sys.exit("ggml-vocab-gpt-2.gguf.inp not found in %s (or its vocab/)" % data_dir)


def build(tests, target, seed):
    r = random.Random(seed)
    gens = [g for g, w in GENERATORS for _ in range(w)]
    parts, size, i = [], 0, 0
    while size < target:
        for piece in (tests[i % len(tests)], "\n", r.choice(gens)(r)):
            b = piece.encode("utf-8")
            parts.append(b)
            size += len(b)
        i += 1
    return b"".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", help="directory with ggml-vocab-gpt-2.gguf.inp (or DATA/vocab/)")
    ap.add_argument("out", help="corpus file to write")
    ap.add_argument("--mb", type=float, default=2.0, help="minimum size in MB (10^6 bytes), default 2")
    ap.add_argument("--seed", type=int, default=20240501)
    a = ap.parse_args()
    if a.mb < 1.0:
        sys.exit("--mb must be >= 1")
    with open(find_inp(a.data_dir), "rb") as f:
        raw = f.read().decode("utf-8")
    tests = raw.split(SEP)
    if tests and tests[-1] == "":
        tests.pop()  # the file ends with a separator
    if len(tests) != 46:
        print("warning: %d test texts (expected 46)" % len(tests), file=sys.stderr)
    data = build(tests, int(a.mb * 1e6), a.seed)
    with open(a.out, "wb") as f:
        f.write(data)
    print("wrote %s: %d bytes (%d test texts interleaved with generated text, seed %d)"
          % (a.out, len(data), len(tests), a.seed))


if __name__ == "__main__":
    main()
