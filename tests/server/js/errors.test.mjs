// Errors through the SDK: the OpenAI error classes, status, param and code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { client, MODEL, PROMPT, MESSAGES } from './common.mjs';

async function rejects(promise, Class, status, check = () => {}) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof Class, `${err.constructor.name}: ${err.message}`);
    assert.equal(err.status, status);
    check(err);
    return true;
  });
}

test('an unknown model: NotFoundError 404, code model_not_found', async () => {
  await rejects(client.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES }),
                OpenAI.NotFoundError, 404, (e) => {
                  assert.equal(e.code, 'model_not_found');
                  assert.equal(e.param, 'model');
                });
  await rejects(client.completions.create({ model: 'accounts/fireworks/models/x', prompt: PROMPT }),
                OpenAI.NotFoundError, 404);
  await rejects(client.models.retrieve('nope'), OpenAI.NotFoundError, 404);
});

test('out-of-range values: BadRequestError 400 naming the field', async () => {
  for (const [field, value] of [['temperature', 2.5], ['top_p', 1.5], ['top_k', -2],
                                ['min_p', 2], ['typical_p', -0.1], ['frequency_penalty', 3],
                                ['presence_penalty', -3], ['repetition_penalty', 0],
                                ['n', 0], ['max_tokens', -1], ['top_logprobs', 50],
                                ['mirostat_target', -1], ['logit_bias', { 999999: 1 }]]) {
    await rejects(client.chat.completions.create({ model: MODEL, messages: MESSAGES, [field]: value }),
                  OpenAI.BadRequestError, 400, (e) => {
                    assert.equal(e.param, field, e.message);
                    assert.ok(e.message.includes(field), e.message);
                  });
  }
});

test('wrong types: BadRequestError 400 naming the field', async () => {
  for (const [field, value] of [['temperature', 'warm'], ['max_tokens', 1.5], ['stop', 3],
                                ['echo', 'yes'], ['n', '3'], ['seed', 'x']]) {
    await rejects(client.completions.create({ model: MODEL, prompt: PROMPT, [field]: value }),
                  OpenAI.BadRequestError, 400, (e) => assert.equal(e.param, field, e.message));
  }
});

test('other bad requests: unknown field, empty stop, no messages, bad message', async () => {
  await rejects(client.completions.create({ model: MODEL, prompt: PROMPT, frobnicate: true }),
                OpenAI.BadRequestError, 400, (e) => assert.equal(e.param, 'frobnicate'));
  await rejects(client.completions.create({ model: MODEL, prompt: PROMPT, stop: [''] }),
                OpenAI.BadRequestError, 400, (e) => assert.equal(e.param, 'stop'));
  await rejects(client.chat.completions.create({ model: MODEL, messages: [] }),
                OpenAI.BadRequestError, 400, (e) => assert.equal(e.param, 'messages'));
  await rejects(client.chat.completions.create({ model: MODEL, messages: [{ content: 'x' }] }),
                OpenAI.BadRequestError, 400, (e) => assert.equal(e.param, 'messages'));
});

test('a streamed request with a bad value fails before the stream starts', async () => {
  await rejects(client.chat.completions.create({ model: MODEL, messages: MESSAGES,
                                                 temperature: -1, stream: true }),
                OpenAI.BadRequestError, 400, (e) => assert.equal(e.param, 'temperature'));
});
