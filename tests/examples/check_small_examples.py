#!/usr/bin/env python3
"""The small example programs (examples/simple.c, stream.c, choices.c) on
stories260K: simple's greedy loop gives llama.cpp's reference continuation
and fwinfer-cli's greedy text; stream prints what fwinfer-cli prints for the
same request, one event per token; choices prints n distinct choices whose
tokens, texts and logprobs (all <= 0) match fwinfer-cli --json.

usage: check_small_examples.py SIMPLE STREAM CHOICES FWINFER_CLI DATA_DIR
"""
import json
import math
import os
import re
import subprocess
import sys


def run(exe, *args):
    return subprocess.run([exe, *args], capture_output=True, text=True)


def main():
    simple, stream, choices, cli, data = sys.argv[1:6]
    model = os.path.join(data, 'models', 'stories260K.gguf')
    ref_path = os.path.join(data, 'reference', 'stories260K_once_upon_a_time.json')
    if not os.path.exists(model) or not os.path.exists(ref_path):
        print('SKIPPED: %s or %s not found' % (model, ref_path))
        return 0
    with open(ref_path, encoding='utf-8') as f:
        ref = json.load(f)['prompts'][0]
    prompt = ref['prompt']
    passed = failed = 0

    def check(name, cond, detail=''):
        nonlocal passed, failed
        if cond:
            passed += 1
        else:
            failed += 1
            print('FAIL %s %s' % (name, detail))

    # simple: greedy token by token = llama.cpp's greedy reference (48 ids)
    r = run(simple, model, prompt, str(len(ref['generated_ids'])))
    check('simple = reference', r.returncode == 0 and
          r.stdout == prompt + ref['generated_text'] + '\n', repr(r.stdout) + r.stderr)
    # ... and fwinfer-cli's greedy text, past the first end-of-line
    r = run(simple, model, prompt, '60')
    c = run(cli, '-m', model, '-p', prompt, '-n', '60', '--temperature', '0')
    check('simple = cli greedy', r.returncode == 0 and c.returncode == 0 and
          r.stdout == c.stdout and '\n' in r.stdout.rstrip('\n'), repr(r.stdout))
    r = run(simple, os.path.join(data, 'no-such-model.gguf'), prompt)
    check('simple: bad path', r.returncode == 1 and 'no-such-model.gguf' in r.stderr, r.stderr)

    # stream: the callback's deltas make fwinfer-cli's text for the same
    # request (temperature 0.8, seed 42); one event per token, plus the last
    r = run(stream, model, prompt, '40')
    c = run(cli, '-m', model, '-p', prompt, '-n', '40', '--temperature', '0.8',
            '--seed', '42')
    check('stream = cli', r.returncode == 0 and r.stdout == c.stdout and
          len(r.stdout) > len(prompt) + 40, repr(r.stdout) + repr(c.stdout))
    m = re.search(r'\[(\w+): (\d+) events, (\d+) prompt tokens, (\d+) generated, seed 42\]',
                  r.stderr)
    check('stream summary', m is not None and m.group(1) == 'length' and
          m.group(2) == '41' and m.group(3) == '5' and m.group(4) == '40', r.stderr)

    # choices: n blocks, distinct texts, logprobs <= 0, all as fwinfer-cli --json
    n, max_tokens = 3, 8
    r = run(choices, model, prompt, str(n), str(max_tokens))
    blocks = []
    for line in r.stdout.splitlines():
        mc = re.fullmatch(r'choice (\d+) finish=(\w+) text=(".*")', line)
        mt = re.fullmatch(r'  token (\d+) logprob (\S+) piece=(".*")', line)
        if mc:
            blocks.append({'index': int(mc.group(1)), 'finish': mc.group(2),
                           'text': json.loads(mc.group(3)), 'ids': [], 'lps': [],
                           'pieces': []})
        elif mt and blocks:
            blocks[-1]['ids'].append(int(mt.group(1)))
            blocks[-1]['lps'].append(float(mt.group(2)))
            blocks[-1]['pieces'].append(json.loads(mt.group(3)))
        else:
            check('choices: line format', False, repr(line))
    check('choices: n blocks', r.returncode == 0 and
          [b['index'] for b in blocks] == list(range(n)), r.stdout + r.stderr)
    check('choices: distinct', len({b['text'] for b in blocks}) == n,
          [b['text'] for b in blocks])
    for b in blocks:
        check('choices %d: tokens' % b['index'],
              len(b['ids']) == max_tokens and b['finish'] == 'length' and
              ''.join(b['pieces']) == b['text'], b)
        check('choices %d: logprobs <= 0' % b['index'],
              all(math.isfinite(x) and x <= 0 for x in b['lps']) and
              any(x < -0.1 for x in b['lps']), b['lps'])
    c = run(cli, '-m', model, '-p', prompt, '--n', str(n), '--max-tokens', str(max_tokens),
            '--temperature', '1', '--seed', '7', '--logprobs', '1', '--json')
    ok = c.returncode == 0 and len(blocks) == n
    if ok:
        for b, cc in zip(blocks, json.loads(c.stdout)['choices']):
            lp = cc['logprobs']
            ok = ok and (cc['text'] == b['text'] and lp['token_ids'] == b['ids'] and
                         all(abs(x - y) < 1e-5 for x, y in zip(lp['token_logprobs'], b['lps'])))
    check('choices = cli --json', ok, c.stdout[:400] + c.stderr)
    r = run(choices, model, prompt, '0')
    check('choices: n = 0 refused', r.returncode == 1 and 'n = 0' in r.stderr, r.stderr)

    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
