"""Model: a loaded GGUF model with its evaluation context; Stream: the
iterator a streaming request returns."""
import atexit
import ctypes
import json
import os
import queue
import secrets
import threading
import time
import weakref

from . import _lib
from ._lib import lib

_open_jobs = weakref.WeakSet()


@atexit.register
def _close_jobs():
    # Stop generations still running so no worker thread calls back into
    # an interpreter that is shutting down.
    for job in list(_open_jobs):
        job.close()


def _logprobs_wanted(fields):
    v = fields.get('logprobs')
    return v is True or (isinstance(v, int) and not isinstance(v, bool))


class Model:
    """A GGUF model and one evaluation context.

    Model(path, n_ctx=0, n_batch=0, n_threads=0, n_seq_max=1, isa=None,
          kv_budget_bytes=None, use_mmap=None, generation_config=None,
          name=None, **options)

    Context parameters (passed by name to fw_context_new_json): n_ctx 0:
    the model's trained context length (capped to fit the KV budget);
    n_batch 0: 512; n_threads 0: one per CPU; n_seq_max: sequences (KV
    caches) to start with -- a request with more choices ("n") than that
    makes a new context with n_seq_max = n, so n > 1 works either way; isa:
    the highest kernel level ("scalar", "avx2", ...; None: the FWINFER_ISA
    environment variable, else the CPU's best); kv_budget_bytes (None: the
    library's 512 MiB).  Further keyword arguments go to the library as
    context parameters of that name, so one it does not know raises Error
    (FW_E_INVALID_ARG) naming it.

    Model parameters (fw_model_load_json): use_mmap (None: map the file),
    generation_config (a path; "" for none; None: generation_config.json
    next to the model if there is one).

    `name` is the "model" of the responses (default: the file name without
    .gguf).

    Requests on one Model run one at a time (they wait for each other);
    tokenize, detokenize and apply_chat_template may run from any thread.
    Use it as a context manager, or call close().
    """

    def __init__(self, path, *, n_ctx=0, n_batch=0, n_threads=0, n_seq_max=1, isa=None,
                 kv_budget_bytes=None, use_mmap=None, generation_config=None, name=None,
                 **options):
        self._model = None
        self._ctx = None
        self._lock = threading.Lock()
        self._streams = weakref.WeakSet()
        sizes = {'n_ctx': n_ctx, 'n_batch': n_batch, 'n_threads': n_threads}
        for k, v in list(sizes.items()) + [('n_seq_max', n_seq_max)]:
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 2**32:
                raise ValueError('Model: %s must be an integer >= 0, not %r' % (k, v))
        # context parameters by name; 0 / None: the library's default
        self._cparams = {k: v for k, v in sizes.items() if v}
        if isa is not None:
            self._cparams['isa'] = isa
        if kv_budget_bytes is not None:
            self._cparams['kv_budget_bytes'] = kv_budget_bytes
        self._cparams.update(options)
        mparams = {}
        if use_mmap is not None:
            mparams['use_mmap'] = bool(use_mmap)
        if generation_config is not None:
            mparams['generation_config'] = os.fsdecode(generation_config)
        m = ctypes.c_void_p()
        _lib.check(lib.fw_model_load_json(os.fsencode(path), _lib.params_json(mparams),
                                          ctypes.byref(m)))
        self._model = m
        base = os.path.basename(os.fspath(path))
        self.name = name or (base[:-5] if base.endswith('.gguf') else base)
        try:
            self._new_context(max(n_seq_max, 1))
        except BaseException:
            self.close()
            raise

    # -- life ------------------------------------------------------------

    def _new_context(self, n_seq_max):
        params = dict(self._cparams, n_seq_max=n_seq_max)
        ctx = ctypes.c_void_p()
        _lib.check(lib.fw_context_new_json(self._model, _lib.params_json(params),
                                           ctypes.byref(ctx)))
        if self._ctx:
            lib.fw_context_free(self._ctx)
        self._ctx = ctx

    def _context_for(self, n):
        """The context, with room for n choices (call with the lock held)."""
        if not self._model:
            raise ValueError('the Model is closed')
        if lib.fw_context_n_seq_max(self._ctx) < n:
            self._new_context(n)
        return self._ctx

    def close(self):
        """Stop running requests and free the model.  Idempotent."""
        for s in list(self._streams):
            s.close()
        with self._lock:
            if self._ctx:
                lib.fw_context_free(self._ctx)
            if self._model:
                lib.fw_model_free(self._model)
            self._ctx = self._model = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, '_lock', None) is not None:
            self.close()

    def _handle(self):
        if not self._model:
            raise ValueError('the Model is closed')
        return self._model

    # -- information -----------------------------------------------------

    @property
    def arch(self):
        return lib.fw_model_arch(self._handle()).decode('utf-8', 'replace')

    @property
    def n_vocab(self):
        return lib.fw_model_n_vocab(self._handle())

    @property
    def n_ctx_train(self):
        return lib.fw_model_n_ctx_train(self._handle())

    @property
    def n_ctx(self):
        """Positions per sequence of the context requests run in."""
        with self._lock:
            self._handle()
            return lib.fw_context_n_ctx(self._ctx)

    @property
    def n_seq_max(self):
        """Sequences of the context, i.e. the most choices a request gets
        without a new context."""
        with self._lock:
            self._handle()
            return lib.fw_context_n_seq_max(self._ctx)

    @property
    def n_threads(self):
        """Threads the context computes with."""
        with self._lock:
            self._handle()
            return lib.fw_context_n_threads(self._ctx)

    @property
    def isa(self):
        """The kernel level the context uses, e.g. "avx2"."""
        with self._lock:
            self._handle()
            return lib.fw_context_isa(self._ctx).decode('ascii')

    @property
    def sampling_defaults(self):
        """The sampling defaults the model sets, as Fireworks reports them
        (e.g. {"temperature": 0.7, "top_p": 0.9}; {} if none)."""
        return json.loads(_lib.get_text(lib.fw_model_sampling_defaults_json, self._handle()))

    # -- text ------------------------------------------------------------

    def tokenize(self, text, add_special=True, parse_special=True):
        """Token ids of `text` (str or UTF-8 bytes); add_special adds the
        model's BOS/EOS, parse_special turns special-token text into its
        token."""
        b = text.encode('utf-8') if isinstance(text, str) else bytes(text)
        flags = ((_lib.TOKENIZE_ADD_SPECIAL if add_special else 0) |
                 (_lib.TOKENIZE_PARSE_SPECIAL if parse_special else 0))
        m, n = self._handle(), ctypes.c_size_t(0)
        st = lib.fw_tokenize(m, b, len(b), flags, None, 0, ctypes.byref(n))
        if st not in (_lib.OK, _lib.E_BUFFER_TOO_SMALL):
            raise _lib.error(st)
        ids = (ctypes.c_int32 * max(n.value, 1))()
        _lib.check(lib.fw_tokenize(m, b, len(b), flags, ids, n.value, ctypes.byref(n)))
        return list(ids[:n.value])

    def detokenize(self, tokens, remove_special=False, unparse_special=False):
        """The text of token ids, as generated text shows it."""
        tokens = list(tokens)
        ids = (ctypes.c_int32 * max(len(tokens), 1))(*tokens)
        flags = ((_lib.DETOK_REMOVE_SPECIAL if remove_special else 0) |
                 (_lib.DETOK_UNPARSE_SPECIAL if unparse_special else 0))
        return _lib.get_text(lib.fw_detokenize, self._handle(), ids, len(tokens),
                             flags).decode('utf-8', 'replace')

    def piece(self, token):
        """One token's text, special tokens by their text."""
        return self._piece_bytes(token).decode('utf-8', 'replace')

    def _piece_bytes(self, token):
        return _lib.get_text(lib.fw_token_to_piece, self._handle(), token,
                             _lib.DETOK_UNPARSE_SPECIAL)

    def apply_chat_template(self, messages, add_generation_prompt=True, template=None,
                            **variables):
        """Render `messages` with the model's chat template (or `template`,
        Jinja2 text); extra keyword arguments are template variables
        (tools=[...], enable_thinking=False, ...)."""
        return _lib.get_text(
            lib.fw_chat_apply_template_json, self._handle(),
            template.encode('utf-8') if template is not None else None,
            json.dumps(list(messages), ensure_ascii=False).encode('utf-8'),
            json.dumps(variables, ensure_ascii=False).encode('utf-8') if variables else None,
            1 if add_generation_prompt else 0).decode('utf-8', 'replace')

    # -- generation ------------------------------------------------------

    def generate(self, prompt, *, stream=False, **fields):
        """A completions request: `prompt` (text, or a list of token ids)
        and the Fireworks/OpenAI request fields by name (max_tokens,
        temperature, top_p, top_k, min_p, n, logprobs, top_logprobs, echo,
        stop, seed, logit_bias, ...).  Returns the response dict
        ("text_completion"), or with stream=True a Stream of chunk dicts.
        A field the library does not know, or a value out of range, raises
        Error naming it."""
        if isinstance(prompt, (bytes, bytearray)):
            prompt = prompt.decode('utf-8')
        body = {'prompt': prompt if isinstance(prompt, str) else list(prompt)}
        body.update(fields)
        return self._request(body, False, stream)

    def chat(self, messages, *, stream=False, **fields):
        """A chat-completions request: `messages` ([{"role": "user",
        "content": "..."}, ...]) and the request fields as for generate,
        plus chat_template (Jinja2 text used instead of the model's),
        chat_template_kwargs (extra template variables) and
        add_generation_prompt.  Returns the response dict
        ("chat.completion"), or with stream=True a Stream of
        "chat.completion.chunk" dicts."""
        body = {'messages': list(messages)}
        body.update(fields)
        return self._request(body, True, stream)

    def _request(self, body, chat, stream):
        self._handle()
        n = body.get('n', 1)
        n = n if isinstance(n, int) and 1 <= n <= 128 else 1  # else the library says why
        name = body.get('model') if isinstance(body.get('model'), str) else self.name
        data = json.dumps(body, ensure_ascii=False).encode('utf-8')
        s = Stream(self, data, n, chat, stream, name, _logprobs_wanted(body))
        if stream:
            return s
        with s:
            return s.wait()


class _Done:
    def __init__(self, outcome):
        self.outcome = outcome


class Stream:
    """The chunks of a streaming request, as they are generated.

    Iterate it for chunk dicts (OpenAI's streaming shape: "text_completion"
    chunks with choices[0].text, or "chat.completion.chunk" with
    choices[0].delta.content; logprobs when asked; the last chunk of each
    choice has its finish_reason).  Generation runs on a worker thread, so
    the first chunk arrives while later tokens are still being generated.
    After the last chunk, `result` holds the complete response dict (usage,
    sampling, ...).

    close() stops the generation if it is still running (the library is
    told to cancel at once) and waits for the worker; `cancelled` then says
    whether it had to.  Leaving a `with` block closes the stream, and so
    does dropping the last reference to it (a `break` out of
    `for chunk in model.generate(..., stream=True)`).  A request error is
    raised by the iteration.
    """

    def __init__(self, model, body, n, chat, events, model_name, logprobs):
        # The worker thread holds only the job, so this object can be
        # collected (and the generation cancelled) when the caller drops it.
        self._job = _Job(model, body, n, chat, events, model_name, logprobs)
        model._streams.add(self)

    @property
    def result(self):
        return self._job.result

    @property
    def cancelled(self):
        return self._job.cancelled

    def __iter__(self):
        return self

    def __next__(self):
        return self._job.next()

    def wait(self):
        """Consume the remaining chunks; return the complete response."""
        for _ in self:
            pass
        return self.result

    def close(self):
        """Stop the generation (if still running) and wait for the worker."""
        self._job.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        job = getattr(self, '_job', None)
        if job is not None:
            job.close()


class _Job:
    """One request on its worker thread, and the queue of its chunks."""

    def __init__(self, model, body, n, chat, events, model_name, logprobs):
        self.result = None
        self.cancelled = False
        self._model = model
        self._chat = chat
        self._logprobs = logprobs
        self._model_name = model_name
        self._q = queue.SimpleQueue()
        self._stop = threading.Event()
        self._cancel_lock = threading.Lock()  # guards _ctx and _cancel_sent
        self._ctx = None                      # set while fw_generate_json runs
        self._cancel_sent = False
        self._stopped = False                 # generation ended because of close()
        self._cb_error = None
        self._finished = False
        self._roles = set()
        self._id = ('chatcmpl-' if chat else 'cmpl-') + secrets.token_hex(12)
        self._created = int(time.time())
        self.thread = threading.Thread(target=self._work, args=(body, n, events),
                                       name='fwinfer-generate', daemon=True)
        _open_jobs.add(self)
        self.thread.start()

    # -- the worker thread -----------------------------------------------

    def _work(self, body, n, events):
        try:
            outcome = self._generate(body, n, events)
        except BaseException as e:  # delivered to the consumer
            outcome = e
        self._q.put(_Done(outcome))

    def _generate(self, body, n, events):
        m = self._model
        with m._lock:
            ctx = m._context_for(n)
            with self._cancel_lock:
                if self._stop.is_set():
                    self._stopped = True
                    return None
                self._ctx = ctx
            cb = _lib.EVENT_FN(self._on_event) if events else _lib.EVENT_FN()  # NULL
            res = ctypes.c_void_p()
            st = lib.fw_generate_json(ctx, body, len(body), None, 0, cb, None, ctypes.byref(res))
            err = _lib.error(st) if st != _lib.OK else None  # this thread's message
            with self._cancel_lock:
                self._ctx = None
                cancel_sent = self._cancel_sent
            if cancel_sent:
                self._stopped = True
                if st != _lib.E_CANCELLED:
                    # The cancel came after the last evaluation and is still
                    # pending: it would cancel the next request's first
                    # evaluation.  Consume it with a one-token evaluation
                    # (sequence 0 is overwritten by every request anyway).
                    tok = (ctypes.c_int32 * 1)(0)
                    lib.fw_context_eval(ctx, 0, 0, tok, 1, 0)
            try:
                if res:
                    text = _lib.get_text(lib.fw_result_to_json, res,
                                         self._model_name.encode('utf-8'))
                    return json.loads(text.decode('utf-8'))
            finally:
                lib.fw_result_free(res)
            if err is not None and not (self._stopped and st == _lib.E_CANCELLED):
                raise err
            return None

    def _on_event(self, ev_p, _user_data):
        if self._stop.is_set():
            self._stopped = True
            return 1  # stop generating
        try:
            # the event is opaque: the library renders it as JSON
            ev = json.loads(_lib.get_text(lib.fw_event_to_json, ev_p).decode('utf-8'))
            self._q.put(self._chunk(ev))
            return 0
        except BaseException as e:
            self._cb_error = e
            return 1

    def _chunk(self, ev):
        """The chunk dict of one event, ev being fw_event_to_json's object:
        {"choice", "token" (-1: none), "text", "logprob", "sampling_logprob",
        "top_logprobs": [{"token", "logprob"}], "finish_reason"}.  Logprobs
        are float32 values as the library's JSON writes them (null if not
        finite), the same numbers as in the full response."""
        choice, token = ev['choice'], ev['token']
        text = ev.get('text', '')
        finish = ev.get('finish_reason')
        lp = None
        if self._logprobs and token >= 0:
            logprob = ev.get('logprob')
            top = [(t['token'], t['logprob']) for t in ev.get('top_logprobs', ())]
            if self._chat:
                def entry(t, x):
                    b = self._model._piece_bytes(t)
                    return {'token': b.decode('utf-8', 'replace'), 'logprob': x,
                            'bytes': list(b)}
                e = entry(token, logprob)
                e['top_logprobs'] = [entry(t, x) for t, x in top]
                e['token_id'] = token
                e['sampling_logprob'] = ev.get('sampling_logprob')
                lp = {'content': [e]}
            else:
                piece = self._model.piece
                lp = {'tokens': [piece(token)], 'token_logprobs': [logprob],
                      'top_logprobs': [{piece(t): x for t, x in top}],
                      'token_ids': [token],
                      'sampling_logprobs': [ev.get('sampling_logprob')]}
        if self._chat:
            delta = {}
            if choice not in self._roles:
                self._roles.add(choice)
                delta['role'] = 'assistant'
            delta['content'] = text
            c = {'index': choice, 'delta': delta, 'logprobs': lp, 'finish_reason': finish}
        else:
            c = {'index': choice, 'text': text, 'logprobs': lp, 'finish_reason': finish}
        return {'id': self._id,
                'object': 'chat.completion.chunk' if self._chat else 'text_completion',
                'created': self._created, 'model': self._model_name, 'choices': [c]}

    # -- the consumer ----------------------------------------------------

    def next(self):
        if self._finished:
            raise StopIteration
        item = self._q.get()
        if not isinstance(item, _Done):
            return item
        self._end()
        if self._cb_error is not None:
            raise self._cb_error
        if isinstance(item.outcome, BaseException):
            raise item.outcome
        self.result = item.outcome
        raise StopIteration

    def _end(self):
        self._finished = True
        if threading.current_thread() is not self.thread:
            self.thread.join()
        _open_jobs.discard(self)

    def close(self):
        if self._finished:
            return
        self._stop.set()
        with self._cancel_lock:
            if self._ctx is not None:
                lib.fw_context_cancel(self._ctx)  # interrupts a long evaluation
                self._cancel_sent = True
        self._end()
        self.cancelled = self._stopped
        while not self.cancelled:  # finished before close(): keep the response
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Done) and isinstance(item.outcome, dict):
                self.result = item.outcome
