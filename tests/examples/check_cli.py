#!/usr/bin/env python3
"""fwinfer-cli end to end on stories260K: the README's run command gives
the llama2.c golden text; every request field is accepted as a flag; bad
values are refused with the field named; --json, --stream, --request with
flags overriding the body.

usage: check_cli.py FWINFER_CLI DATA_DIR
"""
import json
import os
import subprocess
import sys
import tempfile


def run(exe, *args, stdin=None):
    return subprocess.run([exe, *args], capture_output=True, text=True, input=stdin)


def main():
    exe, data = sys.argv[1], sys.argv[2]
    model = os.path.join(data, 'models', 'stories260K.gguf')
    if not os.path.exists(model):
        print('SKIPPED: %s not found' % model)
        return 0
    passed = failed = 0

    def check(name, cond, detail=''):
        nonlocal passed, failed
        if cond:
            passed += 1
        else:
            failed += 1
            print('FAIL %s %s' % (name, detail))

    golden = ('Once upon a time, there was a little girl named Lily. She loved to play '
              'outside in the park. One day, she saw a big, red ball. She wanted to play '
              'with it, but it was too high.\nLily')
    r = run(exe, '-m', model, '-p', 'Once upon a time', '-n', '60', '--temperature', '0')
    check('golden', r.returncode == 0 and r.stdout == golden + '\n', repr(r.stdout[-80:]))

    every = ['-m', model, '-p', 'Once upon a time', '--max-tokens', '8', '--n', '2',
             '--temperature', '0.8', '--top-k', '40', '--top-p', '0.95', '--min-p', '0.01',
             '--typical-p', '0.99', '--frequency-penalty', '0.1', '--presence-penalty', '0.1',
             '--repetition-penalty', '1.05', '--logit-bias', '2=-100', '--logit-bias', '13=1',
             '--logprobs', '2', '--top-logprobs', '2', '--echo', '--echo-last', '2',
             '--raw-output', '--ignore-eos', '--stop', 'zzz', '--stop', 'qq', '--seed', '9',
             '--json']
    r = run(exe, *every)
    ok = r.returncode == 0
    if ok:
        j = json.loads(r.stdout)
        s = j['sampling']
        ok = (len(j['choices']) == 2 and j['usage']['prompt_tokens_evaluated'] == 5 and
              s['top_k'] == 40 and s['seed'] == 9 and
              j['choices'][0]['logprobs']['token_logprobs'][0] is not None and
              'raw_output' in j['choices'][0] and
              j['choices'][0]['raw_output']['prompt_token_ids'] == [1, 403, 407, 261, 378])
    check('every field', ok, r.stderr[-300:])
    r = run(exe, '-m', model, '-p', 'Once', '--mirostat-target', '3', '--mirostat-lr', '0.2',
            '-n', '5', '--json')
    check('mirostat', r.returncode == 0 and json.loads(r.stdout)['sampling']['mirostat_target'] == 3)

    bad = [('--temperature', '5', 'temperature'), ('--top-k', '-2', 'top_k'),
           ('--top-p', '1.5', 'top_p'), ('--min-p', '-1', 'min_p'),
           ('--typical-p', '3', 'typical_p'), ('--frequency-penalty', '9', 'frequency_penalty'),
           ('--presence-penalty', '-9', 'presence_penalty'),
           ('--repetition-penalty', '0', 'repetition_penalty'),
           ('--mirostat-target', '0', 'mirostat_target'), ('--mirostat-lr', '-1', 'mirostat_lr'),
           ('--max-tokens', '-1', 'max_tokens'), ('--n', '0', 'n'),
           ('--logprobs', '50', 'logprobs'), ('--top-logprobs', '50', 'top_logprobs'),
           ('--echo-last', '-3', 'echo_last'), ('--stop', '', 'stop'),
           ('--logit-bias', '99999=1', '99999'), ('--logit-bias', '5=500', 'logit_bias'),
           ('--seed', '-4', 'seed'), ('--temperature', 'abc', '--temperature')]
    for flag, value, name in bad:
        r = run(exe, '-m', model, '-p', 'x', flag, value)
        check('bad %s %s' % (flag, value), r.returncode != 0 and name in r.stderr, r.stderr)

    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
        json.dump({'model': 'whatever', 'prompt': 'Once upon a time', 'max_tokens': 50,
                   'temperature': 0, 'stream': False, 'user': 'u'}, f)
        req = f.name
    r = run(exe, '-m', model, '--request', req, '--max-tokens', '3', '--json')
    ok = r.returncode == 0 and json.loads(r.stdout)['usage']['completion_tokens'] == 3
    check('request file with override', ok, r.stderr)
    r = run(exe, '-m', model, '--request', '-', '--json',
            stdin='{"prompt":"Once upon a time","max_tokens":2,"temperature":0}')
    check('request on stdin', r.returncode == 0 and
          json.loads(r.stdout)['choices'][0]['text'] == ', there')
    r = run(exe, '-m', model, '--request', '-', stdin='{"prompt":"a","foo":1}')
    check('unknown field', r.returncode != 0 and "'foo'" in r.stderr, r.stderr)
    os.unlink(req)

    r = run(exe, '-m', model, '-p', 'Once upon a time', '-n', '12', '--temperature', '0',
            '--stream', '--json')
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    text = ''.join(l['choices'][0]['text'] for l in lines)
    ok = (r.returncode == 0 and lines[-1]['choices'][0]['finish_reason'] == 'length' and
          all(l['object'] == 'text_completion' for l in lines) and
          text == golden[len('Once upon a time'):][:len(text)] and len(text) > 20)
    check('stream json', ok, r.stdout[-300:])
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
