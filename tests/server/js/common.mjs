// Shared by the test files: the OpenAI client pointed at the fwinfer-server
// that run_js_tests.sh started (only the base URL differs from the
// Fireworks/OpenAI documentation's samples; any API key works).
import OpenAI from 'openai';

export const BASE_URL = process.env.FWINFER_BASE_URL;
export const MODEL = process.env.FWINFER_MODEL_NAME || 'stories260K';

if (!BASE_URL) throw new Error('FWINFER_BASE_URL is not set: run the tests through run_js_tests.sh');

export function makeClient(baseURL = BASE_URL) {
  // no retries: every answer is checked as it comes
  return new OpenAI({ baseURL, apiKey: 'not-needed', maxRetries: 0, timeout: 60_000 });
}

export const client = makeClient();

export const PROMPT = 'Once upon a time';
export const MESSAGES = [{ role: 'user', content: 'Tell me a story about a dog.' }];
