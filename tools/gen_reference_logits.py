#!/usr/bin/env python3
"""Make the llama.cpp reference logits the synthetic-model tests compare
against (tests/e2e/data/ref_<TYPE>.json).

For every weight type, the model is written by the project's own
fwinfer-mkgguf (deterministic: default tiny shapes, seed 1) and evaluated by
llama.cpp through ../shared/peer's llama_peer (see its README for the
install; llama.cpp release v0.4.0 from node-llama-cpp 3.21.1).  The test
rebuilds the same model in memory, so only the logits are committed.

usage: gen_reference_logits.py MKGGUF LLAMA_PEER OUT_DIR [TYPE ...]
(only the TYPEs named, default all; the K-quants use n_embd 256 / n_ff 512,
see SHAPES, so that every matrix row is a multiple of 256 and really is a
K-quant; Q4_K_M here is Q4_K with a Q6_K output matrix)
"""
import json
import os
import subprocess
import sys
import tempfile

TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q5_K', 'Q6_K', 'Q4_K_M',
         'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K']
# extra fwinfer-mkgguf arguments per type (default: tiny preset)
K_SHAPE = ['--dim', '256', '--ffn', '512']
SHAPES = {'Q4_K': K_SHAPE, 'Q5_K': K_SHAPE, 'Q6_K': K_SHAPE,
          'Q4_K_M': ['--type', 'Q4_K', '--output-type', 'Q6_K'] + K_SHAPE,
          'Q2_K': K_SHAPE, 'Q3_K': K_SHAPE}
PROMPT = 'hello world, this is a test'


def main():
    mkgguf, peer, out_dir = sys.argv[1:4]
    types = sys.argv[4:] or TYPES
    for t in types:
        if t not in TYPES:
            sys.exit('unknown type %s (known: %s)' % (t, ' '.join(TYPES)))
    with tempfile.TemporaryDirectory() as tmp:
        for t in types:
            path = os.path.join(tmp, 'm-%s.gguf' % t)
            args = SHAPES.get(t, ['--type', t])
            if '--type' not in args:
                args = ['--type', t] + args
            subprocess.run([mkgguf, path] + args, check=True)
            r = subprocess.run([peer, 'logits', path, PROMPT, '--gen', '0',
                                '--threads', '1'],
                               check=True, capture_output=True, text=True)
            d = json.loads(r.stdout)
            ref = {
                'generator': 'tools/gen_reference_logits.py',
                'llama_cpp': 'release v0.4.0 (npm node-llama-cpp 3.21.1, prebuilt CPU build) via ../shared/peer/llama_peer',
                'model': 'fwinfer-mkgguf %s (tiny preset, seed 1)' % ' '.join(args),
                'prompt': PROMPT,
                'prompt_ids': d['prompt_ids'],
                'logits': [float('%.7g' % x) for x in d['logits']],
            }
            with open(os.path.join(out_dir, 'ref_%s.json' % t), 'w') as f:
                json.dump(ref, f, separators=(',', ':'))
                f.write('\n')
            print('%s: %d ids, %d logits' % (t, len(ref['prompt_ids']), len(ref['logits'])))


if __name__ == '__main__':
    sys.exit(main())
