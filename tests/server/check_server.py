#!/usr/bin/env python3
"""fwinfer-server end to end on stories260K, with the Python standard
library only (http.client and raw sockets, no network beyond 127.0.0.1):
/health, /v1/models, completions and chat completions (plain and streamed,
the stream's text equal to the plain answer with the same seed), the
fireworks-sampling-options header, the request fields over HTTP (n,
logprobs, echo, raw_output, ignore_eos, stop, logit_bias), the documented
error answers (404 for another model, 400 naming the field for bad JSON,
wrong types and out-of-range values, 413, 411, 431, 408, 404/405 for
unknown endpoints and methods, 429 when the queue is full), truncated and
slow requests that leave the server answering, and SIGTERM (also with a
request in flight) ending the server with status 0.

usage: check_server.py FWINFER_SERVER DATA_DIR
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

MODEL_NAME = 'stories260K'


class Server:
    """fwinfer-server on a free port (--port 0: it prints where it listens)."""

    def __init__(self, exe, model, *args):
        self.proc = subprocess.Popen([exe, '-m', model, '--port', '0', '-t', '1', *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.log = []
        self.port = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            m = re.search(r'listening on http://127\.0\.0\.1:(\d+)', line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError('the server did not start: ' + ''.join(self.log))
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        c.request(method, path, body=data, headers=headers or
                  ({'Content-Type': 'application/json'} if data is not None else {}))
        r = c.getresponse()
        raw = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, raw

    def json(self, method, path, body=None, **kw):
        st, h, raw = self.request(method, path, body, **kw)
        try:
            return st, h, json.loads(raw)
        except ValueError:
            return st, h, raw

    def raw(self, data, read=True, timeout=10, shut=False):
        """Send bytes on a fresh connection; return what comes back."""
        s = socket.create_connection(('127.0.0.1', self.port), timeout=timeout)
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
            if not read:
                return b''
            out = b''
            while True:
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not chunk:
                    break
                out += chunk
            return out
        finally:
            s.close()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = 'hung'
        self.drain.join(5)
        return rc


def sse_events(raw):
    """The data lines of a server-sent event stream."""
    text = raw.decode()
    assert text.endswith('\n\n'), text[-200:]
    return [block[len('data: '):] for block in text.split('\n\n') if block]


def status_of(raw):
    m = re.match(rb'HTTP/1\.[01] (\d{3}) ', raw)
    return int(m.group(1)) if m else None


def body_of(raw):
    return raw.split(b'\r\n\r\n', 1)[1] if b'\r\n\r\n' in raw else b''


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
            print('FAIL %s %s' % (name, str(detail)[:2000]))

    def check_error(name, st, body, want_status, param=None, code=None, in_message=None):
        ok = st == want_status and isinstance(body, dict) and isinstance(body.get('error'), dict)
        e = body.get('error', {}) if isinstance(body, dict) else {}
        ok = ok and isinstance(e.get('message'), str) and e.get('message') != ''
        ok = ok and set(e) >= {'message', 'type', 'param', 'code'}
        if param is not None:
            ok = ok and e.get('param') == param
        if code is not None:
            ok = ok and e.get('code') == code
        if in_message is not None:
            ok = ok and in_message in e.get('message', '')
        check(name, ok, (st, body))

    srv = Server(exe, model, '--parallel', '2', '--max-body', '65536', '--timeout', '2')
    try:
        # ---- health, models
        st, _, b = srv.json('GET', '/health')
        check('health', st == 200 and b == {'status': 'ok'}, (st, b))
        st, _, b = srv.json('GET', '/v1/models')
        check('models', st == 200 and b.get('object') == 'list' and
              [m['id'] for m in b['data']] == [MODEL_NAME] and
              b['data'][0]['object'] == 'model', b)
        st, _, b = srv.json('GET', '/v1/models/' + MODEL_NAME)
        check('model', st == 200 and b.get('id') == MODEL_NAME, b)
        st, _, b = srv.json('GET', '/v1/models/gpt-4')
        check_error('model 404', st, b, 404, code='model_not_found')

        # ---- completions
        req = {'model': MODEL_NAME, 'prompt': 'Once upon a time', 'max_tokens': 24,
               'seed': 7, 'temperature': 0.8}
        st, h, b = srv.json('POST', '/v1/completions', req)
        check('completion', st == 200 and b.get('object') == 'text_completion' and
              isinstance(b['choices'][0]['text'], str) and b['choices'][0]['text'] and
              b['model'] == MODEL_NAME and b['usage']['prompt_tokens'] > 0, (st, b))
        check('sampling header', json.loads(h.get('fireworks-sampling-options', 'x')) == {}, h)
        plain_text = b['choices'][0]['text'] if st == 200 else None
        st, h, raw = srv.request('POST', '/v1/completions', dict(req, stream=True))
        ev = sse_events(raw) if st == 200 else []
        check('stream content type', st == 200 and
              h.get('content-type', '').startswith('text/event-stream'), (st, h))
        check('stream ends with [DONE]', ev and ev[-1] == '[DONE]', ev[-3:])
        chunks = [json.loads(e) for e in ev[:-1]]
        check('stream chunk shape', chunks and all(
            c['object'] == 'text_completion' and c['model'] == MODEL_NAME and
            c['id'] == chunks[0]['id'] and len(c['choices']) == 1 for c in chunks), chunks[:2])
        text = ''.join(c['choices'][0]['text'] for c in chunks)
        check('stream text == plain text (same seed)', text == plain_text, (text, plain_text))
        check('stream finish_reason', chunks and chunks[-1]['choices'][0]['finish_reason'] ==
              'length' and all(c['choices'][0]['finish_reason'] is None for c in chunks[:-1]),
              chunks[-2:])

        # ---- chat
        chat = {'model': MODEL_NAME, 'messages': [{'role': 'user', 'content': 'Tell a story'}],
                'max_tokens': 20, 'seed': 3}
        st, h, b = srv.json('POST', '/v1/chat/completions', chat)
        check('chat', st == 200 and b.get('object') == 'chat.completion' and
              b['choices'][0]['message']['role'] == 'assistant' and
              isinstance(b['choices'][0]['message']['content'], str), (st, b))
        check('chat header', 'fireworks-sampling-options' in h, h)
        plain_chat = b['choices'][0]['message']['content'] if st == 200 else None
        st, h, raw = srv.request('POST', '/v1/chat/completions',
                                 dict(chat, stream=True, stream_options={'include_usage': True}))
        ev = sse_events(raw) if st == 200 else []
        chunks = [json.loads(e) for e in ev[:-1]]
        deltas = [c['choices'][0]['delta'] for c in chunks if c['choices']]
        check('chat stream shape', chunks and all(c['object'] == 'chat.completion.chunk'
                                                  for c in chunks) and
              deltas[0].get('role') == 'assistant' and ev[-1] == '[DONE]', chunks[:2])
        check('chat stream text == plain', ''.join(d.get('content', '') for d in deltas) ==
              plain_chat, (deltas, plain_chat))
        check('chat stream usage chunk', chunks and chunks[-1]['choices'] == [] and
              chunks[-1]['usage']['completion_tokens'] == 20, chunks[-1:])

        # ---- request fields over HTTP
        st, _, b = srv.json('POST', '/v1/completions',
                            {'model': MODEL_NAME, 'prompt': 'Once', 'n': 3, 'max_tokens': 8,
                             'seed': 1, 'ignore_eos': True, 'logprobs': 2, 'echo': True,
                             'raw_output': True})
        ok = st == 200 and len(b['choices']) == 3 and b['usage']['completion_tokens'] == 24
        check('n=3, ignore_eos', ok, (st, b))
        if ok:
            c0 = b['choices'][0]
            # (the echoed prompt is its tokens' pieces: SPM's leading space too)
            check('echo', c0['text'].lstrip().startswith('Once'), c0['text'])
            check('logprobs', len(c0['logprobs']['top_logprobs'][-1]) == 2 and
                  c0['logprobs']['token_logprobs'][0] is None, c0['logprobs'])
            check('raw_output', len(c0['raw_output']['completion_token_ids']) == 8, c0)
        st, _, b = srv.json('POST', '/v1/chat/completions',
                            dict(chat, logprobs=True, top_logprobs=3, max_tokens=4))
        check('chat logprobs', st == 200 and
              len(b['choices'][0]['logprobs']['content']) == 4 and
              len(b['choices'][0]['logprobs']['content'][0]['top_logprobs']) == 3, (st, b))
        st, _, raw = srv.request('POST', '/v1/chat/completions',
                                 dict(chat, stream=True, logprobs=True, top_logprobs=2))
        chunks = [json.loads(e) for e in sse_events(raw)[:-1]] if st == 200 else []
        lp = [c['choices'][0]['logprobs'] for c in chunks if c['choices'][0]['logprobs']]
        check('chat stream logprobs', lp and all(len(x['content']) == 1 and
                                                 len(x['content'][0]['top_logprobs']) == 2
                                                 for x in lp), chunks[:2])
        st, _, raw = srv.request('POST', '/v1/completions',
                                 dict(req, stream=True, logprobs=1))
        chunks = [json.loads(e) for e in sse_events(raw)[:-1]] if st == 200 else []
        lp = [c['choices'][0]['logprobs'] for c in chunks if c['choices'][0]['logprobs']]
        check('completion stream logprobs', len(lp) == 24 and
              all(len(x['tokens']) == 1 and len(x['top_logprobs'][0]) == 1 for x in lp),
              chunks[:2])
        st, _, raw = srv.request('POST', '/v1/completions',
                                 {'model': MODEL_NAME, 'prompt': 'Once upon', 'echo': True,
                                  'max_tokens': 4, 'seed': 2, 'stream': True})
        chunks = [json.loads(e) for e in sse_events(raw)[:-1]] if st == 200 else []
        check('echo stream', chunks and ''.join(c['choices'][0]['text'] for c in chunks)
              .lstrip().startswith('Once upon'), chunks)
        st, _, b = srv.json('POST', '/v1/completions',
                            {'model': MODEL_NAME, 'prompt': 'Once', 'max_tokens': 5,
                             'logit_bias': {'300': 100}, 'seed': 5, 'raw_output': True})
        check('logit_bias ids', st == 200 and
              b['choices'][0]['raw_output']['completion_token_ids'] == [300] * 5, (st, b))
        st, _, b = srv.json('POST', '/v1/completions',
                            {'model': MODEL_NAME, 'prompt': 'Once upon a time', 'seed': 9,
                             'max_tokens': 60, 'stop': ['.']})
        check('stop', st == 200 and '.' not in b['choices'][0]['text'], (st, b))
        st, _, b = srv.json('POST', '/v1/completions',
                            {'model': MODEL_NAME, 'prompt': 'Once', 'max_tokens': 10,
                             'mirostat_target': 3.0, 'mirostat_lr': 0.2, 'seed': 4})
        check('mirostat', st == 200 and b['sampling']['mirostat_target'] == 3, (st, b))

        # ---- errors: model, JSON, types, ranges, endpoint kinds
        st, _, b = srv.json('POST', '/v1/completions', dict(req, model='gpt-4'))
        check_error('wrong model', st, b, 404, param='model', code='model_not_found')
        st, _, b = srv.json('POST', '/v1/chat/completions', dict(chat, model='llama'))
        check_error('wrong model (chat)', st, b, 404, param='model', code='model_not_found')
        st, _, b = srv.json('POST', '/v1/completions', {'prompt': 'x'})
        check_error('no model', st, b, 400, param='model')
        st, _, b = srv.json('POST', '/v1/completions', dict(req, model=7))
        check_error('model not a string', st, b, 400, param='model')
        for bad in (b'{"model": "stories260K", "prompt": ', b'not json', b'',
                    b'[1, 2]', b'{"model": "stories260K", "prompt": "x",}',
                    b'{"model": "stories260K", "prompt": "\xff\xfe"}'):
            st, _, b = srv.json('POST', '/v1/completions', bad)
            check_error('bad JSON %r' % bad[:20], st, b, 400)
        for field, value in (('temperature', 'hot'), ('max_tokens', 'many'), ('stop', 5),
                             ('n', 1.5), ('top_k', 'x'), ('echo', 'yes'), ('seed', -1),
                             ('logit_bias', [1]), ('logprobs', 'x'), ('stream', 'yes')):
            st, _, b = srv.json('POST', '/v1/completions', dict(req, **{field: value}))
            check_error('wrong type %s' % field, st, b, 400, param=field, in_message=field)
        for field, value in (('temperature', 3), ('temperature', -0.5), ('top_p', 1.5),
                             ('min_p', -1), ('typical_p', 2), ('top_k', -2),
                             ('frequency_penalty', 2.5), ('presence_penalty', -3),
                             ('repetition_penalty', 0), ('n', 0), ('n', 129),
                             ('max_tokens', -1), ('top_logprobs', 21), ('logprobs', 21),
                             ('mirostat_target', 0), ('mirostat_lr', -1),
                             ('logit_bias', {'100000': 1}), ('logit_bias', {'5': 101}),
                             ('stop', ['']), ('echo_last', -1)):
            st, _, b = srv.json('POST', '/v1/completions', dict(req, **{field: value}))
            check_error('out of range %s=%r' % (field, value), st, b, 400, param=field,
                        in_message=field)
        st, _, b = srv.json('POST', '/v1/completions', dict(req, prompt=[1, 2, 99999]))
        check_error('prompt token out of range', st, b, 400, param='prompt')
        st, _, b = srv.json('POST', '/v1/completions', dict(req, prompt='hello ' * 3000))
        check_error('prompt longer than the context', st, b, 400,
                    code='context_length_exceeded')
        st, _, b = srv.json('POST', '/v1/completions', dict(req, frobnicate=1))
        check_error('unknown field', st, b, 400, param='frobnicate')
        st, _, b = srv.json('POST', '/v1/completions', dict(req, messages=chat['messages']))
        check_error('messages on /v1/completions', st, b, 400, param='messages')
        st, _, b = srv.json('POST', '/v1/chat/completions', dict(chat, prompt='x'))
        check_error('prompt on chat', st, b, 400, param='prompt')
        st, _, b = srv.json('POST', '/v1/chat/completions', {'model': MODEL_NAME})
        check_error('chat without messages', st, b, 400, param='messages')
        st, _, b = srv.json('POST', '/v1/chat/completions', dict(chat, messages=[]))
        check_error('empty messages', st, b, 400, param='messages')
        st, _, b = srv.json('POST', '/v1/completions', {'model': MODEL_NAME})
        check_error('no prompt', st, b, 400)
        st, _, b = srv.json('GET', '/v1/nothing')
        check_error('unknown endpoint', st, b, 404)
        st, _, b = srv.json('GET', '/v1/completions')
        check_error('wrong method', st, b, 405)

        # ---- HTTP limits and malformed HTTP
        big = json.dumps(dict(req, prompt='x' * 70000)).encode()
        raw = srv.raw(b'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n'
                      b'Content-Type: application/json\r\n\r\n' % len(big))
        check('413 (announced)', status_of(raw) == 413 and
              json.loads(body_of(raw))['error']['message'], raw[:300])
        raw = srv.raw(b'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n'
                      b'\r\n' % len(big) + big)
        check('413 (sent)', status_of(raw) == 413, raw[:300])
        many = b''.join(b'X-H%d: v\r\n' % i for i in range(100))
        raw = srv.raw(b'GET /health HTTP/1.1\r\nHost: x\r\n' + many + b'\r\n')
        check('431 (header count)', status_of(raw) == 431 and
              json.loads(body_of(raw))['error']['message'], raw[:300])
        raw = srv.raw(b'GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 20000 + b'\r\n\r\n')
        check('431 (header size)', status_of(raw) == 431, raw[:300])
        raw = srv.raw(b'POST /v1/completions HTTP/1.1\r\nHost: x\r\n'
                      b'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n')
        check('chunked body: 411', status_of(raw) == 411, raw[:300])
        raw = srv.raw(b'POST /v1/completions HTTP/1.1\r\nHost: x\r\n\r\n')
        check('POST without Content-Length: 411', status_of(raw) == 411, raw[:300])
        for bad in (b'GARBAGE\r\n\r\n', b'GET /health\r\n\r\n', b'GET  /health HTTP/1.1\r\n\r\n',
                    b'GET /health HTTP/1.1\r\nno colon here\r\n\r\n',
                    b'GET /health HTTP/1.1\r\nContent-Length: -5\r\n\r\n',
                    b'GET /health HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
                    b'GET health HTTP/1.1\r\n\r\n', b'\x00\x01\x02\r\n\r\n'):
            raw = srv.raw(bad)
            check('malformed HTTP %r' % bad[:30], status_of(raw) == 400, raw[:300])
        raw = srv.raw(b'GET /health HTTP/2.0\r\n\r\n')
        check('HTTP/2.0: 505', status_of(raw) == 505, raw[:200])
        raw = srv.raw(b'GET /health HTTP/1.0\r\n\r\n')
        check('HTTP/1.0', status_of(raw) == 200, raw[:200])
        raw = srv.raw(b'POST /v1/completions HTTP/1.1\r\nContent-Length: 100\r\n'
                      b'Expect: 100-continue\r\n\r\n', read=False)
        # truncated requests: half a request line, half a body, then close
        for part in (b'GET /hea', b'POST /v1/completions HTTP/1.1\r\nContent-Len',
                     b'POST /v1/completions HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"mod'):
            srv.raw(part, read=False)
            raw = srv.raw(part, shut=True)
            check('truncated %r: answered or closed' % part[:20],
                  raw == b'' or status_of(raw) == 400, raw[:200])
        # a slow client (--timeout 2): 408 and the connection closed
        s = socket.create_connection(('127.0.0.1', srv.port), timeout=10)
        s.sendall(b'POST /v1/completions HTTP/1.1\r\nContent-Length: 50\r\n\r\n{"m')
        t0 = time.monotonic()
        raw = b''
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                raw += chunk
        except OSError:
            pass
        s.close()
        check('slow client: 408 after --timeout', status_of(raw) == 408 and
              1.5 < time.monotonic() - t0 < 8, (raw[:200], time.monotonic() - t0))
        s = socket.create_connection(('127.0.0.1', srv.port), timeout=10)
        s.sendall(b'GET /hea')  # and never more
        time.sleep(0.2)
        # the server still answers, in parallel with the slow one
        st, _, b = srv.json('GET', '/health')
        check('answers beside a slow client', st == 200, st)
        s.close()
        # two generations at once (--parallel 2)
        results = []

        def one(i):
            results.append(srv.json('POST', '/v1/completions',
                                    dict(req, seed=i, max_tokens=32))[0])
        threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check('6 requests on 2 contexts', results == [200] * 6, results)
        st, _, b = srv.json('GET', '/health')
        check('still healthy', st == 200, st)
    finally:
        rc = srv.stop()
    check('SIGTERM: exit 0', rc == 0, (rc, ''.join(srv.log)[-2000:]))
    check('SIGTERM: stopped', 'stopped' in ''.join(srv.log), ''.join(srv.log)[-500:])

    # ---- the queue: --parallel 1 --max-queue 0; a stream in flight that is
    # not read holds the only context
    srv = Server(exe, model, '--parallel', '1', '--max-queue', '0', '--alias', 'story')
    try:
        st, _, b = srv.json('GET', '/v1/models')
        check('alias listed', st == 200 and b['data'][0]['id'] == 'story', b)
        st, _, b = srv.json('POST', '/v1/completions',
                            {'model': 'story', 'prompt': 'Once', 'max_tokens': 2})
        check('alias accepted', st == 200 and b['model'] == 'story', (st, b))

        def hold():
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(30)
            s.connect(('127.0.0.1', srv.port))
            body = json.dumps({'model': MODEL_NAME, 'prompt': 'Once', 'n': 4, 'seed': 1,
                               'max_tokens': 2000, 'ignore_eos': True, 'stream': True,
                               'logprobs': 5}).encode()
            s.sendall(b'POST /v1/completions HTTP/1.1\r\nContent-Length: %d\r\n\r\n'
                      % len(body) + body)
            first = s.recv(64)  # the stream started: the context is taken
            return s, first
        s, first = hold()
        check('held stream started', status_of(first) == 200, first)
        st, _, b = srv.json('POST', '/v1/completions', req)
        check_error('queue full: 429', st, b, 429, code='rate_limit_exceeded')
        st, _, b = srv.json('GET', '/health')
        check('health while busy', st == 200, st)
        s.close()
        ok = False
        for _ in range(100):
            st, _, b = srv.json('POST', '/v1/completions', dict(req, max_tokens=4))
            if st == 200:
                ok = True
                break
            time.sleep(0.1)
        check('context freed after the client left', ok, (st, b))
        # SIGTERM with a request in flight: cancelled, exit 0
        s, first = hold()
        check('held stream started again', status_of(first) == 200, first)
        t0 = time.monotonic()
        rc = srv.stop()
        check('SIGTERM in flight: exit 0 promptly', rc == 0 and time.monotonic() - t0 < 10,
              (rc, time.monotonic() - t0, ''.join(srv.log)[-1000:]))
        s.close()
    finally:
        if srv.proc.poll() is None:
            srv.stop()

    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
