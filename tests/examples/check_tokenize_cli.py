#!/usr/bin/env python3
"""fwinfer-tokenize against llama.cpp's test vectors, through the command
line: every case of every shared vocabulary via --file (raw bytes,
--no-special), the Llama 3 / Qwen2 vectors via --tiktoken, stories260K with
the model's special tokens, --pieces, and several TEXT words joined.

usage: check_tokenize_cli.py FWINFER_TOKENIZE DATA_DIR
"""
import os
import subprocess
import sys
import tempfile

SEP = b'\n__ggml_vocab_test__\n'


def run(exe, *args):
    r = subprocess.run([exe, *args], capture_output=True)
    if r.returncode != 0:
        raise RuntimeError('%s failed: %s' % (args, r.stderr.decode()))
    return r.stdout.decode()


def main():
    exe, data = sys.argv[1], sys.argv[2]
    vocab = os.path.join(data, 'vocab')
    if not os.path.isdir(vocab):
        print('SKIPPED: %s not found' % vocab)
        return 0
    passed = failed = 0
    jobs = []
    for f in sorted(os.listdir(vocab)):
        if f.endswith('.gguf') and os.path.exists(os.path.join(vocab, f + '.out')) \
                and 'bert' not in f:
            jobs.append((f, ['-m', os.path.join(vocab, f), '--no-special']))
    jobs.append(('ggml-vocab-llama-bpe.gguf',
                 ['--tiktoken', os.path.join(vocab, 'llama3.tiktoken'), '--pre', 'llama-bpe']))
    jobs.append(('ggml-vocab-qwen2.gguf',
                 ['--tiktoken', os.path.join(vocab, 'qwen.tiktoken'), '--pre', 'qwen2']))
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in jobs:
            inp = open(os.path.join(vocab, name + '.inp'), 'rb').read()
            cases = inp.split(SEP)[:-1]
            want = open(os.path.join(vocab, name + '.out')).read().split('\n')
            bad = 0
            # every 4th case per vocabulary (the library test covers them
            # all; this one checks the program's input and output paths)
            for i, text in list(enumerate(cases))[::4]:
                path = os.path.join(tmp, 'case')
                open(path, 'wb').write(text)
                got = run(exe, *args, '--file', path).split()
                if got != want[i].split():
                    bad += 1
                    print('%s case %d: got %s want %s' % (name, i, got[:12], want[i].split()[:12]))
            if bad:
                failed += 1
            else:
                passed += 1
    model = os.path.join(data, 'models', 'stories260K.gguf')
    checks = [
        (run(exe, '-m', model, 'Once', 'upon', 'a', 'time').split(), ['1', '403', '407', '261', '378']),
        (run(exe, '-m', model, '--no-special', 'Once upon a time').split(), ['403', '407', '261', '378']),
        (run(exe, '-m', model, '--pieces', 'Once').split('\n')[:2], ['1\t<s>', '403\t Once']),
    ]
    for got, want in checks:
        if got == want:
            passed += 1
        else:
            failed += 1
            print('got %r want %r' % (got, want))
    r = subprocess.run([exe, '-m', os.path.join(data, 'nope.gguf'), 'x'], capture_output=True)
    if r.returncode != 0 and b'nope.gguf' in r.stderr:
        passed += 1
    else:
        failed += 1
        print('missing model: exit %d, %r' % (r.returncode, r.stderr))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
