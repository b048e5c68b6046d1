// stream: true through the SDK (async iteration over the chunks): the
// concatenated deltas equal the non-streamed answer with the same seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, MODEL, PROMPT, MESSAGES } from './common.mjs';

test('chat: streamed deltas == the non-streamed message (same seed)', async () => {
  const req = { model: MODEL, messages: MESSAGES, max_tokens: 40, seed: 42, temperature: 0.9 };
  const plain = await client.chat.completions.create(req);
  const stream = await client.chat.completions.create({ ...req, stream: true });
  let text = '';
  let role = null;
  let finish = null;
  let n = 0;
  for await (const chunk of stream) {
    n++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.model, MODEL);
    const c = chunk.choices[0];
    if (c.delta.role) role = c.delta.role;
    text += c.delta.content ?? '';
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.ok(n > 1, 'more than one chunk');
  assert.equal(role, 'assistant');
  assert.equal(text, plain.choices[0].message.content);
  assert.equal(finish, plain.choices[0].finish_reason);
});

test('completions: streamed text == the non-streamed text (same seed)', async () => {
  const req = { model: MODEL, prompt: PROMPT, max_tokens: 40, seed: 7, top_k: 50 };
  const plain = await client.completions.create(req);
  const stream = await client.completions.create({ ...req, stream: true });
  let text = '';
  let finish = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'text_completion');
    text += chunk.choices[0].text;
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  assert.equal(text, plain.choices[0].text);
  assert.equal(finish, plain.choices[0].finish_reason);
});

test('streaming with n = 3, stop, logprobs and include_usage', async () => {
  const req = { model: MODEL, prompt: PROMPT, max_tokens: 20, seed: 9, n: 3, stop: ['.'],
                logprobs: 1 };
  const plain = await client.completions.create(req);
  const stream = await client.completions.create({ ...req, stream: true,
                                                   stream_options: { include_usage: true } });
  const texts = ['', '', ''];
  let usage = null;
  let withLogprobs = 0;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      texts[c.index] += c.text;
      if (c.logprobs) withLogprobs++;
    }
  }
  assert.deepEqual(texts, plain.choices.map((c) => c.text));
  assert.deepEqual(usage, plain.usage);
  assert.ok(withLogprobs > 0);
});

test('chat streaming with logprobs', async () => {
  const stream = await client.chat.completions.create({
    model: MODEL, messages: MESSAGES, max_tokens: 8, seed: 1, ignore_eos: true,
    logprobs: true, top_logprobs: 2, stream: true });
  let tokens = 0;
  for await (const chunk of stream) {
    const lp = chunk.choices[0]?.logprobs;
    if (lp) {
      tokens += lp.content.length;
      assert.equal(lp.content[0].top_logprobs.length, 2);
    }
  }
  assert.equal(tokens, 8);
});

test('a stream can be abandoned early; the server keeps serving', async () => {
  const stream = await client.chat.completions.create({
    model: MODEL, messages: MESSAGES, max_tokens: 1000, ignore_eos: true, stream: true });
  let n = 0;
  for await (const chunk of stream) {
    void chunk;
    if (++n === 3) break; // aborts the request
  }
  const r = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 4 });
  assert.equal(r.choices.length, 1);
});
