#!/usr/bin/env python3
"""fwinfer-cli end to end on stories260K: the README's run command gives
the llama2.c golden text; every request field is accepted as a flag; bad
values are refused with the field named; --json, --stream, --request with
flags overriding the body; chat: --messages, the chat.completion shape,
--echo --max-tokens 0, --chat over piped stdin, --chat-template, --verbose.

usage: check_cli.py FWINFER_CLI DATA_DIR
"""
import json
import os
import pty
import subprocess
import sys
import tempfile


def run(exe, *args, stdin=None):
    return subprocess.run([exe, *args], capture_output=True, text=True, input=stdin)


def drive_pty(exe, args, lines, timeout=60.0):
    """Run exe with stdin, stdout and stderr on a pseudo-terminal, as a user
    would: wait for each "> " prompt, type the next line. Returns (exit
    status, everything the terminal showed, with CR removed)."""
    import select
    import time
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(exe, [exe, *args])
    out = b''
    deadline = time.monotonic() + timeout
    todo = list(lines)
    prompts_seen = 0
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            if todo and out.count(b'> ') > prompts_seen:
                prompts_seen = out.count(b'> ')
                os.write(fd, (todo.pop(0) + '\n').encode())
    finally:
        try:
            _, status = os.waitpid(pid, 0 if not todo else os.WNOHANG)
        except ChildProcessError:
            status = -1
        os.close(fd)
    if todo:  # timed out: do not leave the child behind
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except OSError:
            pass
        return -1, out.decode('utf-8', 'replace').replace('\r', '')
    return os.waitstatus_to_exitcode(status), out.decode('utf-8', 'replace').replace('\r', '')


def chatml(messages, add_generation_prompt=True):
    """llama.cpp's ChatML, the fallback of a model without a template."""
    s = ''.join('<|im_start|>%s\n%s<|im_end|>\n' % (m['role'], m['content'])
                for m in messages)
    return s + ('<|im_start|>assistant\n' if add_generation_prompt else '')


def check_chat(exe, data, model, check):
    msgs = [{'role': 'system', 'content': 'You tell stories.'},
            {'role': 'user', 'content': 'Tell me about "Lily"'}]
    greedy = ['--temperature', '0', '--max-tokens', '8', '--ignore-eos']
    # --messages: the reply alone (no prompt) on stdout; --json: the chat shape
    r = run(exe, '-m', model, '--messages', json.dumps(msgs), *greedy)
    rj = run(exe, '-m', model, '--messages', json.dumps(msgs), *greedy, '--json',
             '--raw-output', '--logprobs', '1')
    ok = r.returncode == 0 and rj.returncode == 0
    if ok:
        j = json.loads(rj.stdout)
        c = j['choices'][0]
        raw = c['raw_output']
        ok = (j['object'] == 'chat.completion' and j['id'].startswith('chatcmpl-') and
              'text' not in c and c['message']['role'] == 'assistant' and
              r.stdout == c['message']['content'] + '\n' and
              c['finish_reason'] == 'length' and j['usage']['completion_tokens'] == 8 and
              len(c['logprobs']['content']) == 8 and
              all(set(e) >= {'token', 'logprob', 'bytes', 'top_logprobs'}
                  for e in c['logprobs']['content']) and
              raw['chat_template'] == 'chatml' and
              raw['prompt_fragments'] == [1, chatml(msgs)] and
              raw['prompt_token_ids'][0] == 1 and
              len(raw['prompt_token_ids']) == j['usage']['prompt_tokens'])
    check('--messages / --json chat shape', ok, r.stdout + rj.stdout[:300] + rj.stderr)
    # --echo --max-tokens 0: the content is the rendered prompt, exactly
    r = run(exe, '-m', model, '--messages', json.dumps(msgs), '--echo', '--max-tokens', '0',
            '--json')
    ok = r.returncode == 0 and json.loads(r.stdout)['choices'][0]['message']['content'] == \
        chatml(msgs)
    check('--echo --max-tokens 0 = rendered prompt', ok, r.stdout[:300] + r.stderr)
    r = run(exe, '-m', model, '--messages', json.dumps(msgs), '--echo', '--max-tokens', '0')
    check('--echo text output', r.returncode == 0 and r.stdout == chatml(msgs) + '\n',
          repr(r.stdout))
    # streaming chunks of a chat request
    r = run(exe, '-m', model, '--messages', json.dumps(msgs), *greedy, '--json', '--stream')
    lines = [json.loads(l) for l in r.stdout.splitlines()] if r.returncode == 0 else []
    ok = (len(lines) == 9 and all(l['object'] == 'chat.completion.chunk' for l in lines) and
          lines[0]['choices'][0]['delta']['role'] == 'assistant' and
          lines[-1]['choices'][0]['finish_reason'] == 'length' and
          ''.join(l['choices'][0]['delta']['content'] for l in lines) ==
          json.loads(rj.stdout)['choices'][0]['message']['content'])
    check('--messages --stream --json', ok, r.stdout[:300] + r.stderr)
    # errors: prompt and messages, malformed messages, --system without --chat
    r = run(exe, '-m', model, '-p', 'x', '--messages', json.dumps(msgs))
    check('-p with --messages', r.returncode == 1 and "'messages'" in r.stderr, r.stderr)
    r = run(exe, '-m', model, '--messages', '{"role":"user"}')
    check('--messages not an array', r.returncode == 1 and 'messages' in r.stderr, r.stderr)
    r = run(exe, '-m', model, '--messages', json.dumps(msgs), '--system', 'x')
    check('--system needs --chat', r.returncode == 2 and '--system' in r.stderr, r.stderr)

    # --chat-template FILE: the template instead of the model's (none here)
    gemma = os.path.join(data, 'chat_templates', 'google-gemma-2-2b-it.jinja')
    user = [{'role': 'user', 'content': 'Hi'}]
    r = run(exe, '-m', model, '--messages', json.dumps(user), '--chat-template', gemma,
            '--echo', '--max-tokens', '0', '--json', '--raw-output')
    ok = r.returncode == 0
    if ok:
        c = json.loads(r.stdout)['choices'][0]
        ids = c['raw_output']['prompt_token_ids']
        ok = (c['message']['content'] ==
              '<s><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n' and
              c['raw_output']['chat_template'] == 'override' and ids[0] == 1 and ids[1] != 1)
    check('--chat-template', ok, r.stdout[:300] + r.stderr)
    r = run(exe, '-m', model, '--messages', json.dumps(msgs), '--chat-template', gemma)
    check('--chat-template raises', r.returncode == 1 and
          'System role not supported' in r.stderr, r.stderr)
    r = run(exe, '-m', model, '--messages', json.dumps(user), '--chat-template',
            os.path.join(data, 'no-such-template.jinja'))
    check('--chat-template missing file', r.returncode == 1 and 'no-such-template' in r.stderr,
          r.stderr)

    # --chat over piped stdin: two turns (an empty line is skipped, /exit
    # ends), the whole history rendered each turn
    stdin = 'Hello\n\nWhere is Lily?\n/exit\nnot read\n'
    r = run(exe, '-m', model, '--chat', '--system', 'Be brief.', *greedy, '--json',
            '--raw-output', stdin=stdin)
    turns = [json.loads(l) for l in r.stdout.splitlines()] if r.returncode == 0 else []
    ok = len(turns) == 2
    if ok:
        reply1 = turns[0]['choices'][0]['message']['content']
        hist1 = [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hello'}]
        hist2 = hist1 + [{'role': 'assistant', 'content': reply1},
                         {'role': 'user', 'content': 'Where is Lily?'}]
        ok = (turns[0]['choices'][0]['raw_output']['prompt_fragments'] == [1, chatml(hist1)] and
              turns[1]['choices'][0]['raw_output']['prompt_fragments'] == [1, chatml(hist2)])
    check('--chat two turns (--json)', ok, r.stdout[:600] + r.stderr)
    r2 = run(exe, '-m', model, '--chat', '--system', 'Be brief.', *greedy, stdin=stdin)
    ok = r2.returncode == 0 and len(turns) == 2 and r2.stdout == ''.join(
        t['choices'][0]['message']['content'] + '\n' for t in turns)
    check('--chat two turns (text)', ok, repr(r2.stdout) + r2.stderr)
    # --chat under a pseudo-terminal (interactive: "> " prompts, streamed
    # replies): the same two replies as with piped stdin
    code, shown = drive_pty(exe, ['-m', model, '--chat', '--system', 'Be brief.', *greedy],
                            ['Hello', 'Where is Lily?', '/exit'])
    ok = code == 0 and len(turns) == 2 and shown.count('> ') >= 3
    if ok:
        r1 = turns[0]['choices'][0]['message']['content']
        r2t = turns[1]['choices'][0]['message']['content']
        i1 = shown.find('> Hello\n' + r1)
        i2 = shown.find('> Where is Lily?\n' + r2t)
        ok = 0 <= i1 < i2 and shown.rstrip().endswith('> /exit')
    check('--chat under a pseudo-terminal', ok, repr(shown[-600:]))
    r = run(exe, '-m', model, '--chat', '-p', 'x')
    check('--chat with -p refused', r.returncode == 2, r.stderr)

    # --verbose: speeds on stderr; stdout unchanged; no progress bar when
    # stderr is not a terminal
    r = run(exe, '-m', model, '-p', 'Once upon a time', '-n', '10', '--temperature', '0',
            '--verbose')
    ok = (r.returncode == 0 and 'prompt: 5 tokens' in r.stderr and
          'generation: 10 tokens' in r.stderr and r.stderr.count('tokens/s') == 2 and
          '\r' not in r.stderr)
    check('--verbose', ok, r.stderr)
    # stderr on a terminal: the output is the same (the bar is cleared)
    master, slave = pty.openpty()
    try:
        p = subprocess.run([exe, '-m', model, '-p', 'Once upon a time', '-n', '10',
                            '--temperature', '0'], stdout=subprocess.PIPE, stderr=slave,
                           text=True)
    finally:
        os.close(slave)
        os.close(master)
    check('stderr on a terminal', p.returncode == 0 and
          p.stdout.startswith('Once upon a time, there was'), repr(p.stdout))


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
    check_chat(exe, data, model, check)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
