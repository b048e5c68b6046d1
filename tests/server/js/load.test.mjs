// A small load test: hundreds of requests, several in flight at once
// (the server runs --parallel 4), bounded in time; every answer is
// well-formed and the server's resident memory stays flat after warm-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { client, MODEL, PROMPT, MESSAGES } from './common.mjs';

const TOTAL = Number(process.env.FWINFER_LOAD_REQUESTS || 300);
const IN_FLIGHT = 8;
const pid = process.env.FWINFER_SERVER_PID;

function rssKiB() {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

async function one(i) {
  const seed = i;
  switch (i % 4) {
    case 0: {
      const r = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 16, seed });
      assert.equal(r.object, 'text_completion');
      assert.equal(typeof r.choices[0].text, 'string');
      return;
    }
    case 1: {
      const r = await client.chat.completions.create({ model: MODEL, messages: MESSAGES,
                                                       max_tokens: 16, seed, logprobs: true,
                                                       top_logprobs: 2 });
      assert.equal(r.object, 'chat.completion');
      assert.equal(r.choices[0].logprobs.content.length, r.usage.completion_tokens);
      return;
    }
    case 2: {
      const s = await client.chat.completions.create({ model: MODEL, messages: MESSAGES,
                                                       max_tokens: 16, seed, stream: true });
      let finish = null;
      for await (const c of s) finish = c.choices[0]?.finish_reason ?? finish;
      assert.ok(finish === 'stop' || finish === 'length');
      return;
    }
    default: {
      const r = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 8,
                                                  n: 2, seed, ignore_eos: true });
      assert.equal(r.choices.length, 2);
      assert.equal(r.usage.completion_tokens, 16);
    }
  }
}

async function run(from, count) {
  let next = from;
  const end = from + count;
  const worker = async () => {
    while (next < end) await one(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

test(`${TOTAL} requests, ${IN_FLIGHT} in flight: all well-formed, memory flat`, async (t) => {
  if (!pid) return t.skip('FWINFER_SERVER_PID not set');
  await run(0, 60); // warm-up: contexts, sequences and allocator pools reach their size
  const before = rssKiB();
  const t0 = Date.now();
  await run(1000, TOTAL);
  const seconds = (Date.now() - t0) / 1000;
  const after = rssKiB();
  console.log(`${TOTAL} requests in ${seconds.toFixed(1)} s; server RSS ${before} -> ${after} KiB`);
  assert.ok(seconds < 60, `took ${seconds} s`);
  // a sanitizer's quarantine keeps freed memory: RSS says nothing there
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  if (/lib[at]san/.test(maps)) return t.diagnostic('sanitized server: RSS not checked');
  assert.ok(after - before < 10 * 1024, `RSS grew by ${after - before} KiB`);
});
