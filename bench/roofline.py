#!/usr/bin/env python3
"""Decode speed as a share of the memory-bandwidth roofline, and a Markdown table.

usage: roofline.py RESULTS.jsonl --inspect build/examples/fwinfer-inspect \
                   --bandwidth build/bench/fwinfer-bandwidth --models DIR [--date TEXT]

RESULTS.jsonl: the output of ../shared/peer/compare.py --json (one line per model and thread
count). For every row: bytes read per decoded token = every weight tensor except the token
embedding (only one row of it is read; with a tied output it is read once as the output) plus
the F16 KV cache of the average decode position (P + G/2 positions, K and V, every layer);
roofline = that / the read bandwidth measured now by fwinfer-bandwidth with the same thread
count; share = decode tokens/s / roofline tokens/s. Prints a Markdown table.
"""
import argparse, json, os, subprocess, sys


def inspect(exe, path):
    out = subprocess.run([exe, '--json', path], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def bytes_per_token(info, prompt, gen):
    meta, tensors = info['metadata'], info['tensors']
    arch = meta['general.architecture']
    names = {t['name'] for t in tensors}
    tied = 'output.weight' not in names
    w = sum(t['size'] for t in tensors if t['name'] != 'token_embd.weight' or tied)
    n_layer = meta[arch + '.block_count']
    n_head = meta[arch + '.attention.head_count']
    n_kv = meta.get(arch + '.attention.head_count_kv', n_head)
    head_dim = meta.get(arch + '.attention.key_length', meta[arch + '.embedding_length'] // n_head)
    kv = n_layer * 2 * n_kv * head_dim * 2 * (prompt + gen / 2)
    return w + kv


def bandwidth(exe, threads):
    out = subprocess.run([exe, '-t', str(threads), '--json'], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])['read_gb_s'] * 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('results')
    ap.add_argument('--inspect', required=True)
    ap.add_argument('--bandwidth', required=True)
    ap.add_argument('--models', required=True)
    a = ap.parse_args()
    rows = [json.loads(l) for l in open(a.results) if l.strip()]
    bw = {t: bandwidth(a.bandwidth, t) for t in sorted({r['threads'] for r in rows})}
    print('| model | threads | prefill ours | llama.cpp | ratio | decode ours | llama.cpp | ratio '
          '| MB read / token | roofline tok/s | ours / roofline |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for r in rows:
        info = inspect(a.inspect, os.path.join(a.models, r['model']))
        b = bytes_per_token(info, r['prompt'], r['gen'])
        roof = bw[r['threads']] / b
        print(f"| {r['model'].removesuffix('.gguf')} | {r['threads']} | {r['prefill_ours']:.1f} | "
              f"{r['prefill_llamacpp']:.1f} | {r['prefill_ratio']:.2f} | {r['decode_ours']:.1f} | "
              f"{r['decode_llamacpp']:.1f} | {r['decode_ratio']:.2f} | {b / 1e6:.0f} | {roof:.1f} | "
              f"{r['decode_ours'] / roof:.0%} |")
    print()
    print('Read bandwidth (fwinfer-bandwidth, 1 GiB, median of 5): ' +
          ', '.join(f'{t} thread(s) {v / 1e9:.1f} GB/s' for t, v in bw.items()))


if __name__ == '__main__':
    sys.exit(main())
