#!/usr/bin/env python3
"""Make the llama.cpp reference logits the synthetic-model tests compare
against (tests/e2e/data/ref_<TYPE>.json).

For every weight type, the model is written by the project's own
fwinfer-mkgguf (deterministic: default tiny shapes, seed 1) and evaluated by
llama.cpp through ../shared/peer's llama_peer (see its README for the
install; llama.cpp release v0.4.0 from node-llama-cpp 3.21.1).  The test
rebuilds the same model in memory, so only the logits are committed.

usage: gen_reference_logits.py MKGGUF LLAMA_PEER OUT_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0']
PROMPT = 'hello world, this is a test'


def main():
    mkgguf, peer, out_dir = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        for t in TYPES:
            path = os.path.join(tmp, 'm-%s.gguf' % t)
            subprocess.run([mkgguf, path, '--type', t], check=True)
            r = subprocess.run([peer, 'logits', path, PROMPT, '--gen', '0',
                                '--threads', '1'],
                               check=True, capture_output=True, text=True)
            d = json.loads(r.stdout)
            ref = {
                'generator': 'tools/gen_reference_logits.py',
                'llama_cpp': 'release v0.4.0 (npm node-llama-cpp 3.21.1, prebuilt CPU build) via ../shared/peer/llama_peer',
                'model': 'fwinfer-mkgguf --type %s (tiny preset, seed 1)' % t,
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
