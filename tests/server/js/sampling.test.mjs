// The Fireworks "querying text models" guide, translated to the OpenAI JS
// SDK: every sampling and request field, against stories260K.  The answer's
// "sampling" object (the effective parameters, a libfwinfer extension)
// shows that a field arrived; where the field's effect is certain on any
// model it is checked too (top_k 1 = top_p 0 = min_p 1 = greedy, ...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, makeClient, MODEL, PROMPT, MESSAGES } from './common.mjs';

async function complete(extra) {
  return client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 24, ...extra });
}

async function chat(extra) {
  return client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 24, ...extra });
}

const greedy = async (n = 24) =>
  (await complete({ temperature: 0, max_tokens: n })).choices[0].text;

test('a chat completion: the shape the SDK expects', async () => {
  const r = await chat({ seed: 1 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, MODEL);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('temperature: 0 is greedy (deterministic without a seed); others are applied', async () => {
  const a = await greedy();
  const b = await greedy();
  assert.equal(a, b);
  const r = await complete({ temperature: 1.5, seed: 3 });
  assert.equal(r.sampling.temperature, 1.5);
});

test('max_tokens: finish_reason "length" and the token count', async () => {
  const r = await complete({ max_tokens: 5, ignore_eos: true, seed: 1 });
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 5);
  const c = await chat({ max_tokens: 3, ignore_eos: true, seed: 1 });
  assert.equal(c.choices[0].finish_reason, 'length');
  assert.equal(c.usage.completion_tokens, 3);
});

test('top_p: 0 keeps one token (greedy); 0.9 is applied', async () => {
  const g = await greedy();
  const r = await complete({ top_p: 0, temperature: 1, seed: 11 });
  assert.equal(r.choices[0].text, g);
  assert.equal((await complete({ top_p: 0.9, seed: 1 })).sampling.top_p, 0.9);
});

test('top_k: 1 is greedy; 40 is applied', async () => {
  const g = await greedy();
  assert.equal((await complete({ top_k: 1, temperature: 1, seed: 12 })).choices[0].text, g);
  assert.equal((await complete({ top_k: 40, seed: 1 })).sampling.top_k, 40);
});

test('min_p: 1 keeps only the most probable token; 0.05 is applied', async () => {
  const g = await greedy();
  assert.equal((await complete({ min_p: 1, temperature: 1, seed: 13 })).choices[0].text, g);
  assert.equal((await complete({ min_p: 0.05, seed: 1 })).sampling.min_p, 0.05);
});

test('typical_p: 0 keeps one token; 0.5 is applied', async () => {
  const r = await complete({ typical_p: 0.5, seed: 1 });
  assert.equal(r.sampling.typical_p, 0.5);
  const a = await complete({ typical_p: 0, seed: 21 });
  const b = await complete({ typical_p: 0, seed: 22 });
  assert.equal(a.choices[0].text, b.choices[0].text, 'one survivor: the seed does not matter');
});

test('frequency, presence and repetition penalties change a greedy repetition', async () => {
  const g = await greedy(80);
  for (const [field, value] of [['frequency_penalty', 2], ['presence_penalty', 2],
                                ['repetition_penalty', 2]]) {
    const r = await complete({ temperature: 0, max_tokens: 80, [field]: value });
    assert.equal(r.sampling[field], value, field);
    assert.notEqual(r.choices[0].text, g, `${field} ${value} changed nothing`);
  }
  // neutral values change nothing
  const r = await complete({ temperature: 0, max_tokens: 80, frequency_penalty: 0,
                             presence_penalty: 0, repetition_penalty: 1 });
  assert.equal(r.choices[0].text, g);
});

test('fireworks-sampling-options header: withResponse() and asResponse()', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: MODEL, messages: MESSAGES, max_tokens: 4 })
    .withResponse();
  assert.equal(data.object, 'chat.completion');
  const header = response.headers.get('fireworks-sampling-options');
  assert.deepEqual(JSON.parse(header), {}, 'stories260K sets no sampling defaults');
  const raw = await client.completions
    .create({ model: MODEL, prompt: PROMPT, max_tokens: 4 })
    .asResponse();
  assert.equal(raw.status, 200);
  assert.deepEqual(JSON.parse(raw.headers.get('fireworks-sampling-options')), {});
  assert.equal((await raw.json()).object, 'text_completion');
});

test('fireworks-sampling-options: a model with generation_config.json defaults', async (t) => {
  const url = process.env.FWINFER_DEFAULTS_URL;
  if (!url) return t.skip('FWINFER_DEFAULTS_URL not set');
  const c = makeClient(url);
  const { data, response } = await c.completions
    .create({ model: process.env.FWINFER_DEFAULTS_MODEL, prompt: PROMPT, max_tokens: 4 })
    .withResponse();
  const defaults = JSON.parse(response.headers.get('fireworks-sampling-options'));
  assert.ok(Object.keys(defaults).length > 0, JSON.stringify(defaults));
  // the defaults are what the request ran with when it set nothing
  for (const [k, v] of Object.entries(defaults)) assert.equal(data.sampling[k], v, k);
  // a request's own value wins
  const own = await c.completions.create({ model: process.env.FWINFER_DEFAULTS_MODEL,
                                           prompt: PROMPT, max_tokens: 4, top_p: 0.5 });
  assert.equal(own.sampling.top_p, 0.5);
});

test('n = 3: three choices from one prompt', async () => {
  const r = await complete({ n: 3, seed: 5, max_tokens: 16, ignore_eos: true });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  assert.equal(r.usage.completion_tokens, 48);
  assert.ok(new Set(r.choices.map((c) => c.text)).size >= 2, 'the choices differ');
  const c = await chat({ n: 3, seed: 5, max_tokens: 8 });
  assert.equal(c.choices.length, 3);
});

test('logprobs with top_logprobs: chat', async () => {
  const r = await chat({ logprobs: true, top_logprobs: 3, seed: 2, max_tokens: 10, ignore_eos: true });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, 10);
  for (const t of content) {
    assert.equal(typeof t.token, 'string');
    assert.ok(t.logprob <= 0);
    assert.ok(Array.isArray(t.bytes));
    assert.equal(t.top_logprobs.length, 3);
    const best = t.top_logprobs[0].logprob;
    assert.ok(t.top_logprobs.every((a) => a.logprob <= best + 1e-6));
    assert.ok(t.logprob <= best + 1e-6);
  }
});

test('logprobs with top_logprobs: completions (legacy shape)', async () => {
  const r = await complete({ logprobs: 2, seed: 2, max_tokens: 10, ignore_eos: true });
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, 10);
  assert.equal(lp.token_logprobs.length, 10);
  assert.equal(lp.top_logprobs.length, 10);
  assert.equal(lp.text_offset.length, 10);
  assert.ok(lp.top_logprobs.every((o) => Object.keys(o).length >= 1 && Object.keys(o).length <= 2));
  assert.equal(lp.tokens.join(''), r.choices[0].text);
});

test('echo: the text starts with the prompt', async () => {
  const r = await complete({ echo: true, max_tokens: 8, seed: 1 });
  assert.ok(r.choices[0].text.trimStart().startsWith(PROMPT), r.choices[0].text);
  const p = await complete({ echo: true, max_tokens: 0 });
  assert.equal(p.choices[0].text.trim(), PROMPT);
  assert.equal(p.usage.completion_tokens, 0);
});

test('raw_output: prompt and completion token ids', async () => {
  const r = await complete({ raw_output: true, max_tokens: 8, seed: 1 });
  const raw = r.choices[0].raw_output;
  assert.equal(raw.prompt_token_ids.length, r.usage.prompt_tokens);
  assert.equal(raw.completion_token_ids.length, r.usage.completion_tokens);
  assert.equal(typeof raw.completion, 'string');
  const c = await chat({ raw_output: true, max_tokens: 4, seed: 1 });
  assert.ok(c.choices[0].raw_output.prompt_fragments.length >= 1);
});

test('ignore_eos: exactly max_tokens tokens', async () => {
  const r = await complete({ ignore_eos: true, max_tokens: 100, seed: 8 });
  assert.equal(r.usage.completion_tokens, 100);
  assert.equal(r.choices[0].finish_reason, 'length');
});

test('logit_bias: +100 forces a token, -100 bans the greedy one', async () => {
  const r = await complete({ logit_bias: { 300: 100 }, raw_output: true, max_tokens: 6, seed: 4 });
  assert.deepEqual(r.choices[0].raw_output.completion_token_ids, [300, 300, 300, 300, 300, 300]);
  const g = await complete({ temperature: 0, raw_output: true, max_tokens: 1 });
  const first = g.choices[0].raw_output.completion_token_ids[0];
  const b = await complete({ temperature: 0, raw_output: true, max_tokens: 1,
                             logit_bias: { [first]: -100 } });
  assert.notEqual(b.choices[0].raw_output.completion_token_ids[0], first);
});

test('mirostat: mirostat_target and mirostat_lr', async () => {
  const a = await complete({ mirostat_target: 3, mirostat_lr: 0.2, seed: 6, max_tokens: 30 });
  assert.equal(a.sampling.mirostat_target, 3);
  assert.ok(Math.abs(a.sampling.mirostat_lr - 0.2) < 1e-6);
  const b = await complete({ mirostat_target: 3, mirostat_lr: 0.2, seed: 6, max_tokens: 30 });
  assert.equal(a.choices[0].text, b.choices[0].text);
});

test('stop: the text ends before the stop string, finish_reason "stop"', async () => {
  const g = await greedy(60);
  assert.ok(g.includes('.'), g);
  const r = await complete({ temperature: 0, max_tokens: 60, stop: ['.'] });
  assert.equal(r.choices[0].text, g.slice(0, g.indexOf('.')));
  assert.equal(r.choices[0].finish_reason, 'stop');
  const c = await chat({ temperature: 0, max_tokens: 60, stop: '.' });
  assert.ok(!c.choices[0].message.content.includes('.'));
});

test('seed: the same seed gives the same text; the seed is reported', async () => {
  const a = await chat({ seed: 1234, temperature: 1.2 });
  const b = await chat({ seed: 1234, temperature: 1.2 });
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.equal(a.sampling.seed, 1234);
  const texts = new Set();
  for (const seed of [1, 2, 3, 4]) texts.add((await complete({ seed, temperature: 1.2 })).choices[0].text);
  assert.ok(texts.size >= 2, 'different seeds, different texts');
});

test('models.list() and models.retrieve()', async () => {
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id), [MODEL]);
  const m = await client.models.retrieve(MODEL);
  assert.equal(m.id, MODEL);
});
