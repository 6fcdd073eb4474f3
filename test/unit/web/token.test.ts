import { test } from 'node:test';
import assert from 'node:assert/strict';
import { takeTokenFromHash } from '../../../web/src/format.ts';

test('takeTokenFromHash - takes the token out of a link and keeps the rest of the fragment', () => {
  assert.deepEqual(takeTokenFromHash('#token=abc-DEF_123'), { found: true, token: 'abc-DEF_123', rest: '' });
  assert.deepEqual(takeTokenFromHash('#view=map&token=abc'), { found: true, token: 'abc', rest: '#view=map' });
  assert.deepEqual(takeTokenFromHash('#token=abc&host=3'), { found: true, token: 'abc', rest: '#host=3' });
});

test('takeTokenFromHash - an empty token is still taken out of the address bar, and no token leaves the hash alone', () => {
  assert.deepEqual(takeTokenFromHash('#token=&view=alerts'), { found: true, token: null, rest: '#view=alerts' });
  assert.deepEqual(takeTokenFromHash('#host=3'), { found: false, token: null, rest: '#host=3' });
  assert.deepEqual(takeTokenFromHash(''), { found: false, token: null, rest: '' });
});
