#!/usr/bin/env python3
"""Open a model and reach the first token: libfwinfer against llama.cpp, whole processes.

usage: first_token.py MODEL.gguf [MODEL.gguf ...] --ours build/bench/fwinfer-bench
                      [--peer $PEER_DIR/llama_peer] [--threads 2] [--runs 7]

Each side runs as a fresh process doing the same work, timed from fork to exit:
  ours:      fwinfer-bench -m MODEL -t T -p 1 -n 1 -r 1
  llama.cpp: llama_peer bench MODEL --threads T --prompt 1 --gen 1 --reps 1
that is: start, load the model (llama.cpp: also its CPU backend), create a context, evaluate
7 single tokens (a warm-up of 1 + 4, then 1 + 1), free everything, exit. The runs alternate
(ours, llama.cpp, ours, ...) after one untimed run of each (page cache warm); the medians are
printed. Both sides do the same 6 evaluations after the first token, so "ours < half of
llama.cpp's" on these totals implies it for load + first token alone (adding the same time
to both sides only makes the ratio closer to 1). Also prints each side's own in-process
figures: ours `load_s` and `ttft_s` (load start to the logits of the first prompt),
llama.cpp's `load_s`.
"""
import argparse, json, os, statistics, subprocess, sys, time


def timed(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    line = [l for l in p.stdout.splitlines() if l.startswith('{')][-1]
    return dt, json.loads(line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('models', nargs='+')
    ap.add_argument('--ours', required=True)
    ap.add_argument('--peer', default=os.path.join(
        os.environ.get('PEER_DIR', os.path.expanduser('~/.cache/llama-peer')), 'llama_peer'))
    ap.add_argument('--threads', default='2')
    ap.add_argument('--runs', type=int, default=7)
    a = ap.parse_args()
    print(f"{'model':26} {'t':>2} {'ours s':>8} {'llama.cpp s':>11} {'ratio':>6}   "
          f"{'ours load':>9} {'ours ttft':>9} {'llama load':>10}")
    for m in a.models:
        ours = [a.ours, '-m', m, '-t', a.threads, '-p', '1', '-n', '1', '-r', '1', '--json']
        peer = [a.peer, 'bench', m, '--threads', a.threads, '--prompt', '1', '--gen', '1',
                '--reps', '1']
        timed(ours), timed(peer)  # page cache warm, untimed
        o, p = [], []
        for _ in range(a.runs):
            o.append(timed(ours))
            p.append(timed(peer))
        mo = statistics.median(x[0] for x in o)
        mp = statistics.median(x[0] for x in p)
        print(f"{os.path.basename(m)[:26]:26} {a.threads:>2} {mo:8.3f} {mp:11.3f} {mo / mp:6.2f}   "
              f"{statistics.median(x[1]['load_s'] for x in o):9.3f} "
              f"{statistics.median(x[1]['ttft_s'] for x in o):9.3f} "
              f"{statistics.median(x[1]['load_s'] for x in p):10.3f}", flush=True)


if __name__ == '__main__':
    main()
