import { describe, expect } from 'vitest';
import { test } from '../../helpers/fixtures.js';

describe('edge basics', () => {
  test('a miss is fetched from the origin, then served from cache', async ({ edge, origin }) => {
    const first = await edge.get('/hello');
    expect(first.status).toBe(200);
    expect(first.text).toBe('origin says hello to /hello');
    expect(first.headers['x-cache-status']).toBe('Miss');
    const second = await edge.get('/hello');
    expect(second.status).toBe(200);
    expect(second.text).toBe('origin says hello to /hello');
    expect(second.headers['x-cache-status']).toBe('Hit');
    expect(origin.requestsFor('/hello')).toHaveLength(1);
  });
});
