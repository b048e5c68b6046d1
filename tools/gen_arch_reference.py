#!/usr/bin/env python3
"""Make the llama.cpp reference logits of the architecture tests
(tests/e2e/data/ref_arch_<CASE>.json, read by tests/e2e/test_arch.c).

Every case is a small synthetic model written by the project's own
fwinfer-mkgguf (deterministic: tiny shapes, seed 1, the options below) and
evaluated by llama.cpp through ../shared/peer's llama_peer (llama.cpp
release v0.4.0 from npm node-llama-cpp 3.21.1, prebuilt CPU build; its
contexts have n_ctx = prompt + 512 + 48 >= 640).  The test rebuilds the
same model in memory with the same options (keep the table in test_arch.c
in step with CASES), so only the logits are committed.

usage: gen_arch_reference.py MKGGUF LLAMA_PEER OUT_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

PROMPT = 'hello world, this is a test'

# name -> fwinfer-mkgguf options
CASES = {
    # Llama 3.1 style rope_freqs.weight plus linear rope scaling (factor 2)
    'llama_rope_F32': '--rope-freqs --rope-scale 2 --rope-base 500000',
    'llama_rope_Q4_0': '--rope-freqs --rope-scale 2 --rope-base 500000 --type Q4_0',
    'qwen2_F32': '--arch qwen2',
    'qwen2_Q8_0': '--arch qwen2 --type Q8_0',
    'qwen3_F32': '--arch qwen3 --head-dim 64',
    'qwen3_Q8_0': '--arch qwen3 --head-dim 64 --type Q8_0 --tied',
    # original context 512 < llama.cpp's n_ctx: the long rope factors
    'phi3_F32': '--arch phi3 --ctx 4096 --ctx-orig 512',
    'phi3_Q8_0': '--arch phi3 --ctx 4096 --ctx-orig 512 --type Q8_0',
    # window 4 < the 23 prompt tokens; layer 0 slides, layer 1 is global
    'gemma2_F32': '--arch gemma2 --head-dim 64 --swa 4 --attn-softcap 1 --final-softcap 2 --tied',
    'gemma2_Q8_0': '--arch gemma2 --head-dim 64 --swa 4 --attn-softcap 1 --final-softcap 2 --tied --type Q8_0',
    'gemma3_F32': '--arch gemma3 --head-dim 64 --swa 4 --swa-pattern 2 --rope-base 1000000 --tied',
    'gemma3_Q8_0': '--arch gemma3 --head-dim 64 --swa 4 --swa-pattern 2 --rope-base 1000000 --tied --type Q8_0',
}


def main():
    mkgguf, peer, out_dir = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        for name, opts in CASES.items():
            path = os.path.join(tmp, name + '.gguf')
            subprocess.run([mkgguf, path] + opts.split(), check=True)
            r = subprocess.run([peer, 'logits', path, PROMPT, '--gen', '0',
                                '--threads', '1'],
                               check=True, capture_output=True, text=True)
            d = json.loads(r.stdout)
            ref = {
                'generator': 'tools/gen_arch_reference.py',
                'llama_cpp': 'release v0.4.0 (npm node-llama-cpp 3.21.1, prebuilt CPU build) via ../shared/peer/llama_peer',
                'model': 'fwinfer-mkgguf %s (tiny preset, seed 1)' % opts,
                'prompt': PROMPT,
                'prompt_ids': d['prompt_ids'],
                'logits': [float('%.7g' % x) for x in d['logits']],
            }
            with open(os.path.join(out_dir, 'ref_arch_%s.json' % name), 'w') as f:
                json.dump(ref, f, separators=(',', ':'))
                f.write('\n')
            print('%s: %d ids, %d logits' % (name, len(ref['prompt_ids']), len(ref['logits'])))


if __name__ == '__main__':
    sys.exit(main())
