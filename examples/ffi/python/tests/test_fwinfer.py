"""Tests of the fwinfer Python binding on stories260K.

    FWINFER_LIB=build/lib/libfwinfer.so PYTHONPATH=examples/ffi/python \\
        python3 -m unittest discover -s examples/ffi/python/tests -v

The shared data folder is FWINFER_TEST_DATA, default ../shared/data next to
the repository; without the model every test is skipped.  The chat tests
need a library whose fw_generate_json accepts "messages".
"""
import gc
import math
import os
import subprocess
import sys
import threading
import time
import unittest

import fwinfer

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
DATA = os.environ.get('FWINFER_TEST_DATA') or os.path.join(REPO, '..', 'shared', 'data')
MODEL = os.path.join(DATA, 'models', 'stories260K.gguf')
PROMPT = 'Once upon a time'
# llama2.c's greedy golden for stories260K, 60 tokens (shared/data/MANIFEST.md)
GOLDEN = (', there was a little girl named Lily. She loved to play outside in the park. '
          'One day, she saw a big, red ball. She wanted to play with it, but it was too '
          'high.\nLily')

model = None


def setUpModule():
    global model
    if not os.path.exists(MODEL):
        raise unittest.SkipTest('%s not found (set FWINFER_TEST_DATA)' % MODEL)
    model = fwinfer.Model(MODEL)


def tearDownModule():
    if model is not None:
        model.close()


def text_of(r, i=0):
    return r['choices'][i]['text']


class TestLibrary(unittest.TestCase):
    def test_version(self):
        v = fwinfer.version()
        self.assertRegex(v, r'^\d+\.\d+\.\d+$')
        self.assertEqual(int(v.split('.')[0]), fwinfer.ABI_MAJOR)
        self.assertTrue(os.path.exists(fwinfer.library_path) or '/' not in fwinfer.library_path)

    def test_abi_mismatch_is_an_import_error(self):
        from fwinfer import _lib
        with self.assertRaisesRegex(ImportError, 'version 1.2.3.*ABI major 0'):
            _lib.check_version(10203)
        _lib.check_version(fwinfer.ABI_MAJOR * 10000 + 99)

    def test_bad_fwinfer_lib_is_an_import_error(self):
        env = dict(os.environ, FWINFER_LIB='/nonexistent/libfwinfer.so')
        r = subprocess.run([sys.executable, '-c', 'import fwinfer'], env=env,
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('ImportError', r.stderr)
        self.assertIn('FWINFER_LIB=/nonexistent/libfwinfer.so', r.stderr)


class TestModel(unittest.TestCase):
    def test_info(self):
        self.assertEqual(model.arch, 'llama')
        self.assertEqual(model.n_vocab, 512)
        self.assertEqual(model.n_ctx_train, 2048)
        self.assertEqual(model.name, 'stories260K')
        self.assertEqual(model.sampling_defaults, {})

    def test_load_error(self):
        with self.assertRaises(fwinfer.Error) as cm:
            fwinfer.Model(os.path.join(DATA, 'no-such.gguf'))
        self.assertEqual(cm.exception.name, 'FW_E_IO')
        self.assertEqual(cm.exception.status, -3)
        self.assertIn('no-such.gguf', cm.exception.message)

    def test_context_params(self):
        with fwinfer.Model(MODEL, n_ctx=64, n_threads=1) as m:
            self.assertEqual(m.n_ctx, 64)
            r = m.generate(PROMPT, max_tokens=100, temperature=0)
            self.assertEqual(r['usage']['completion_tokens'], 64 - 5)  # the context is full
            self.assertEqual(r['choices'][0]['finish_reason'], 'length')
        with self.assertRaises(ValueError):
            m.generate(PROMPT)  # closed
        with self.assertRaises(ValueError):
            fwinfer.Model(MODEL, n_ctx=-1)
        with self.assertRaises(fwinfer.Error) as cm:
            fwinfer.Model(MODEL, n_ctx=1 << 25)
        self.assertEqual(cm.exception.name, 'FW_E_RANGE')
        self.assertIn('n_ctx', cm.exception.message)

    def test_context_options_by_name(self):
        with fwinfer.Model(MODEL, n_seq_max=2, n_ctx=96, n_threads=1, isa='scalar',
                           kv_budget_bytes=1 << 24, use_mmap=False,
                           generation_config='') as m:
            self.assertEqual((m.n_seq_max, m.n_ctx, m.n_threads, m.isa), (2, 96, 1, 'scalar'))
            r = m.generate(PROMPT, n=2, max_tokens=4, seed=1)
            self.assertEqual([c['index'] for c in r['choices']], [0, 1])
            self.assertEqual(m.n_seq_max, 2)
        # n_seq_max 1: a request with n = 2 gets a context with 2 sequences
        with fwinfer.Model(MODEL, n_threads=1) as m:
            self.assertEqual(m.n_seq_max, 1)
            s = m.generate(PROMPT, stream=True, n=2, max_tokens=3, seed=1)
            self.assertEqual({c['choices'][0]['index'] for c in s}, {0, 1})
            self.assertEqual(len(s.result['choices']), 2)
            self.assertEqual(m.n_seq_max, 2)
        # an option the library does not know is named in the error
        for options, word in (({'n_seqs': 2}, '"n_seqs"'), ({'isa': 7}, '"isa"'),
                              ({'kv_budget_bytes': -1}, 'kv_budget_bytes')):
            with self.subTest(options=options):
                with self.assertRaises(fwinfer.Error) as cm:
                    fwinfer.Model(MODEL, **options)
                self.assertIn(cm.exception.name, ('FW_E_INVALID_ARG', 'FW_E_RANGE'))
                self.assertIn(word, cm.exception.message)
        with self.assertRaises(fwinfer.Error) as cm:
            fwinfer.Model(MODEL, generation_config=os.path.join(DATA, 'no-such.json'))
        self.assertIn('no-such.json', cm.exception.message)

    def test_tokenize(self):
        ids = model.tokenize(PROMPT)
        self.assertEqual(ids, [1, 403, 407, 261, 378])
        self.assertEqual(model.tokenize(PROMPT, add_special=False), ids[1:])
        self.assertEqual(model.tokenize(PROMPT.encode()), ids)
        self.assertEqual(model.detokenize(ids[1:]), PROMPT)
        self.assertEqual(model.detokenize([1], unparse_special=True), '<s>')
        self.assertEqual(model.piece(403), ' Once')
        self.assertEqual(model.tokenize(''), [1])
        with self.assertRaises(fwinfer.Error) as cm:
            model.detokenize([99999])
        self.assertIn('99999', str(cm.exception))


class TestGenerate(unittest.TestCase):
    def test_greedy_golden(self):
        r = model.generate(PROMPT, max_tokens=60, temperature=0)
        self.assertEqual(r['object'], 'text_completion')
        self.assertEqual(r['model'], 'stories260K')
        self.assertEqual(text_of(r), GOLDEN)
        self.assertEqual(r['choices'][0]['finish_reason'], 'length')
        self.assertEqual(r['usage'], {'prompt_tokens': 5, 'completion_tokens': 60,
                                      'total_tokens': 65, 'prompt_tokens_evaluated': 5})
        self.assertEqual(r['sampling']['temperature'], 0)

    def test_token_prompt_and_model_name(self):
        r = model.generate([1, 403, 407, 261, 378], max_tokens=8, temperature=0,
                           model='accounts/x/models/y')
        self.assertEqual(text_of(r), GOLDEN[:len(text_of(r))])
        self.assertEqual(r['model'], 'accounts/x/models/y')

    def test_fields(self):
        r = model.generate(PROMPT, max_tokens=6, n=3, temperature=1.0, top_p=0.95, top_k=40,
                           min_p=0.01, seed=7, logprobs=True, top_logprobs=2, echo=True,
                           repetition_penalty=1.1, frequency_penalty=0.1,
                           presence_penalty=0.1, logit_bias={13: -100}, stop=['zzz'],
                           user='u', ignore_eos=True)
        self.assertEqual(len(r['choices']), 3)
        self.assertEqual(len({c['text'] for c in r['choices']}), 3)  # seed 7: all differ
        s = r['sampling']
        self.assertEqual((s['seed'], s['top_k'], s['top_p']), (7, 40, 0.95))
        for c in r['choices']:
            self.assertTrue(c['text'].lstrip(' ').startswith(PROMPT))  # echo
            lp = c['logprobs']
            gen = [x for x in lp['token_logprobs'] if x is not None]
            self.assertTrue(all(x <= 0 and math.isfinite(x) for x in gen), lp)
            self.assertTrue(all(len(t) == 2 for t in lp['top_logprobs'] if t is not None))
            self.assertNotIn(13, lp['token_ids'])  # logit_bias -100
        # same seed, same choices
        r2 = model.generate(PROMPT, max_tokens=6, n=3, temperature=1.0, top_p=0.95, top_k=40,
                            min_p=0.01, seed=7, logprobs=True, top_logprobs=2, echo=True,
                            repetition_penalty=1.1, frequency_penalty=0.1,
                            presence_penalty=0.1, logit_bias={13: -100}, stop=['zzz'],
                            user='u', ignore_eos=True)
        self.assertEqual([text_of(r2, i) for i in range(3)], [text_of(r, i) for i in range(3)])

    def test_every_sampling_field(self):
        # One request with every field of docs/SAMPLING.md section 1.  Mirostat
        # is on, so top_k/top_p/min_p/typical_p are accepted and reported but
        # not applied (SAMPLING.md section 3).  Token 432 (",") is what the
        # model samples right after the prompt without the bias; 13 is "\n".
        fields = dict(temperature=0.9, top_k=40, top_p=0.95, min_p=0.02, typical_p=0.97,
                      frequency_penalty=0.1, presence_penalty=0.1, repetition_penalty=1.1,
                      logit_bias={13: -100, 432: -100}, mirostat_target=5.0, mirostat_lr=0.1,
                      max_tokens=8, n=2, logprobs=True, top_logprobs=2, echo=True, echo_last=2,
                      raw_output=True, ignore_eos=True, stop=['zzz'], seed=11, user='u',
                      model='stories-test')
        r = model.generate(PROMPT, **fields)
        self.assertEqual(r['model'], 'stories-test')
        self.assertEqual(len(r['choices']), 2)
        s = r['sampling']
        self.assertEqual(s['seed'], 11)
        self.assertEqual(s['top_k'], 40)
        for k in ('temperature', 'top_p', 'min_p', 'typical_p', 'frequency_penalty',
                  'presence_penalty', 'repetition_penalty', 'mirostat_target', 'mirostat_lr'):
            self.assertAlmostEqual(s[k], fields[k], places=6, msg=k)
        prompt_ids = model.tokenize(PROMPT, True, False)
        self.assertEqual(r['usage']['prompt_tokens'], len(prompt_ids))
        self.assertEqual(r['usage']['completion_tokens'], 16)  # 2 x 8, ignore_eos
        for c in r['choices']:
            self.assertEqual(c['finish_reason'], 'length')
            self.assertTrue(c['text'].startswith(' a time'), c['text'])  # echo_last 2
            lp = c['logprobs']
            ids = lp['token_ids']
            self.assertEqual(len(ids), 2 + 8)
            self.assertEqual(ids[:2], prompt_ids[-2:])
            gen = ids[2:]
            self.assertNotIn(13, gen)  # logit_bias -100
            self.assertNotIn(432, gen)
            self.assertEqual(len(lp['token_logprobs']), 10)
            self.assertTrue(all(x is not None and x <= 0 and math.isfinite(x)
                                for x in lp['token_logprobs']), lp)
            self.assertTrue(all(len(t) == 2 for t in lp['top_logprobs']), lp)
            self.assertTrue(all(x <= 0 for x in lp['sampling_logprobs'][2:]), lp)
            raw = c['raw_output']
            self.assertEqual(raw['prompt_token_ids'], prompt_ids)
            self.assertEqual(raw['completion_token_ids'], gen)
            self.assertEqual(c['text'], ' a time' + raw['completion'])
        self.assertNotEqual(text_of(r, 0), text_of(r, 1))  # each choice has its own RNG
        r2 = model.generate(PROMPT, **fields)
        self.assertEqual([text_of(r2, i) for i in range(2)], [text_of(r, i) for i in range(2)])

    def test_stop(self):
        r = model.generate(PROMPT, max_tokens=60, temperature=0, stop=' girl')
        self.assertEqual(text_of(r), ', there was a little')
        self.assertEqual(r['choices'][0]['finish_reason'], 'stop')

    def test_errors_name_the_field(self):
        cases = [({'temperature': 5}, 'FW_E_RANGE', 'temperature'),
                 ({'top_k': -2}, 'FW_E_RANGE', 'top_k'),
                 ({'n': 0}, 'FW_E_RANGE', 'n'),
                 ({'max_tokens': 'x'}, 'FW_E_TYPE', 'max_tokens'),
                 ({'stop': ['']}, 'FW_E_RANGE', 'stop'),
                 ({'foo': 1}, 'FW_E_INVALID_ARG', "'foo'")]
        for fields, name, word in cases:
            with self.subTest(fields=fields):
                with self.assertRaises(fwinfer.Error) as cm:
                    model.generate(PROMPT, **fields)
                self.assertEqual(cm.exception.name, name)
                self.assertIn(word, cm.exception.message)
        # the model is fine afterwards
        self.assertEqual(text_of(model.generate(PROMPT, max_tokens=60, temperature=0)), GOLDEN)


class TestStream(unittest.TestCase):
    def test_chunks_make_the_text(self):
        s = model.generate(PROMPT, stream=True, max_tokens=60, temperature=0)
        chunks = list(s)
        self.assertEqual(len(chunks), 61)  # one per token, then the finish
        self.assertTrue(all(c['object'] == 'text_completion' for c in chunks))
        self.assertEqual(len({c['id'] for c in chunks}), 1)
        self.assertEqual(''.join(c['choices'][0]['text'] for c in chunks), GOLDEN)
        self.assertEqual([c['choices'][0]['finish_reason'] for c in chunks],
                         [None] * 60 + ['length'])
        self.assertEqual(text_of(s.result), GOLDEN)
        self.assertEqual(s.result['usage']['completion_tokens'], 60)
        self.assertFalse(s.cancelled)

    def test_logprobs_match_the_result(self):
        with model.generate(PROMPT, stream=True, max_tokens=5, n=2, seed=3, logprobs=2) as s:
            chunks = list(s)
        for i in range(2):
            mine = [c['choices'][0] for c in chunks if c['choices'][0]['index'] == i]
            lp = s.result['choices'][i]['logprobs']
            self.assertEqual([m['logprobs']['token_ids'][0] for m in mine[:-1]], lp['token_ids'])
            self.assertEqual([m['logprobs']['token_logprobs'][0] for m in mine[:-1]],
                             lp['token_logprobs'])
            self.assertEqual([m['logprobs']['top_logprobs'][0] for m in mine[:-1]],
                             lp['top_logprobs'])
            self.assertIsNone(mine[-1]['logprobs'])
            self.assertEqual(''.join(m['text'] for m in mine), text_of(s.result, i))

    def test_first_chunk_before_the_end(self):
        # 8 choices x 500 tokens take far longer than handing over one chunk
        t0 = time.monotonic()
        s = model.generate(PROMPT, stream=True, max_tokens=500, n=8, ignore_eos=True)
        first = next(s)
        self.assertEqual(first['choices'][0]['index'], 0)
        self.assertTrue(s._job.thread.is_alive(), 'generation ended before the first chunk')
        s.close()
        self.assertTrue(s.cancelled)
        self.assertIsNone(s.result)
        self.assertLess(time.monotonic() - t0, 30)
        self.assertEqual(list(s), [])
        # the context works normally afterwards (no cancel left pending)
        self.assertEqual(text_of(model.generate(PROMPT, max_tokens=60, temperature=0)), GOLDEN)

    def test_break_cancels(self):
        n = 0
        for chunk in model.generate(PROMPT, stream=True, max_tokens=500, n=8,
                                    ignore_eos=True):
            n += 1
            if n == 3:
                break
        gc.collect()
        self.assertFalse(any(t.name == 'fwinfer-generate' for t in threading.enumerate()))
        self.assertEqual(text_of(model.generate(PROMPT, max_tokens=60, temperature=0)), GOLDEN)

    def test_exception_in_the_loop_cancels(self):
        with self.assertRaises(ZeroDivisionError):
            with model.generate(PROMPT, stream=True, max_tokens=500, n=8,
                                ignore_eos=True) as s:
                for chunk in s:
                    1 / 0
        self.assertTrue(s.cancelled)
        self.assertFalse(s._job.thread.is_alive())
        self.assertEqual(text_of(model.generate(PROMPT, max_tokens=60, temperature=0)), GOLDEN)

    def test_error_raised_by_the_iterator(self):
        s = model.generate(PROMPT, stream=True, temperature=9)
        with self.assertRaises(fwinfer.Error) as cm:
            next(s)
        self.assertEqual(cm.exception.name, 'FW_E_RANGE')

    def test_threads_share_a_model(self):
        out = [None] * 4

        def work(i):
            out[i] = text_of(model.generate(PROMPT, max_tokens=60, temperature=0))
        ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(out, [GOLDEN] * 4)


class TestChat(unittest.TestCase):
    """Chat requests: fw_generate_json with a "messages" body (stories260K
    has no chat template: the library falls back to ChatML)."""

    MESSAGES = [{'role': 'user', 'content': PROMPT}]

    def test_chat_completion(self):
        r = model.chat(self.MESSAGES, max_tokens=12, temperature=0)
        self.assertEqual(r['object'], 'chat.completion')
        c = r['choices'][0]
        self.assertEqual(c['index'], 0)
        self.assertEqual(c['message']['role'], 'assistant')
        self.assertIsInstance(c['message']['content'], str)
        self.assertGreater(len(c['message']['content']), 0)
        self.assertIn(c['finish_reason'], ('stop', 'length'))
        self.assertLessEqual(r['usage']['completion_tokens'], 12)
        self.assertGreater(r['usage']['prompt_tokens'], 5)

    def test_chat_stream(self):
        full = model.chat(self.MESSAGES, max_tokens=12, temperature=0)
        s = model.chat(self.MESSAGES, stream=True, max_tokens=12, temperature=0)
        chunks = list(s)
        self.assertTrue(all(c['object'] == 'chat.completion.chunk' for c in chunks))
        self.assertEqual(chunks[0]['choices'][0]['delta']['role'], 'assistant')
        text = ''.join(c['choices'][0]['delta'].get('content', '') for c in chunks)
        self.assertEqual(text, full['choices'][0]['message']['content'])
        self.assertEqual(chunks[-1]['choices'][0]['finish_reason'],
                         full['choices'][0]['finish_reason'])
        self.assertEqual(s.result['object'], 'chat.completion')
        self.assertEqual(s.result['choices'][0]['message']['content'], text)

    def test_chat_stream_logprobs_match_the_result(self):
        with model.chat(self.MESSAGES, stream=True, max_tokens=6, n=2, seed=5, logprobs=True,
                        top_logprobs=3) as s:
            chunks = list(s)
        for i in range(2):
            mine = [c['choices'][0] for c in chunks if c['choices'][0]['index'] == i]
            full = s.result['choices'][i]
            self.assertEqual([m['logprobs']['content'][0] for m in mine[:-1]],
                             full['logprobs']['content'])
            self.assertEqual(''.join(m['delta']['content'] for m in mine),
                             full['message']['content'])

    def test_chat_template_fields(self):
        tmpl = "{{ bos_token }}{{ messages[-1]['content'] }}{{ extra }}"
        r = model.chat(self.MESSAGES, max_tokens=60, temperature=0, chat_template=tmpl,
                       chat_template_kwargs={'extra': ''})
        self.assertEqual(r['choices'][0]['message']['content'], GOLDEN)

    def test_chat_errors(self):
        with self.assertRaises(fwinfer.Error) as cm:
            model.chat(self.MESSAGES, temperature=-1)
        self.assertIn('temperature', cm.exception.message)
        with self.assertRaises(fwinfer.Error) as cm:
            model.chat(['not', 'objects'], max_tokens=1)
        self.assertIn('messages', cm.exception.message)

    def test_apply_chat_template(self):
        msgs = [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Yo'}]
        tmpl = ("{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}"
                "{% if add_generation_prompt %}[assistant]{% endif %}{{ x }}")
        self.assertEqual(model.apply_chat_template(msgs, template=tmpl, x='!'),
                         '[user]Hi[assistant]Yo[assistant]!')
        self.assertEqual(model.apply_chat_template(msgs, False, tmpl), '[user]Hi[assistant]Yo')
        with self.assertRaises(fwinfer.Error) as cm:
            model.apply_chat_template(msgs)  # stories260K has no template
        self.assertEqual(cm.exception.name, 'FW_E_NOT_FOUND')


if __name__ == '__main__':
    unittest.main()
