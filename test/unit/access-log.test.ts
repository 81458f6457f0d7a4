import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AccessLog, type AccessRecord } from '../../src/access-log.js';

function capture(level: 'info' | 'warn' = 'info') {
  const lines: string[] = [];
  const log = pino({ level, base: { pid: 4242 } }, { write: (line: string) => void lines.push(line) });
  return { log, lines };
}

const record: AccessRecord = {
  service: 'shop',
  method: 'GET',
  path: '/a "quoted"\npath/ünïcode\u2028',
  key: 'abcDEF_-123',
  cacheStatus: 'Hit',
  status: 200,
  bytes: 1024,
  durationMs: 0.42,
  originMs: undefined,
  error: undefined,
  aborted: false,
};

describe('access log lines', () => {
  it('are one JSON line each, in the shape of the logger’s own lines, whatever the path holds', () => {
    const { log, lines } = capture();
    new AccessLog(log).write(record);
    log.info({ other: true }, 'another line');
    expect(lines).toHaveLength(2);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(lines[0]?.slice(0, -1)).not.toContain('\n');
    const line = JSON.parse(lines[0] as string);
    expect(line).toEqual({
      level: 30,
      time: expect.any(Number),
      pid: 4242,
      access: true,
      service: 'shop',
      method: 'GET',
      path: record.path,
      key: 'abcDEF_-123',
      cacheStatus: 'Hit',
      status: 200,
      bytes: 1024,
      durationMs: 0.42,
      originMs: null,
      msg: 'request',
    });
    // The same level, time and bindings as pino's own line.
    const own = JSON.parse(lines[1] as string);
    expect(Object.keys(own).slice(0, 3)).toEqual(['level', 'time', 'pid']);
  });

  it('name an error and an aborted response only when there is one', () => {
    const { log, lines } = capture();
    new AccessLog(log).write({
      ...record,
      status: 502,
      error: 'CF_ERR_ORIGIN_CONNECT',
      aborted: true,
      bytes: undefined,
    });
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      error: 'CF_ERR_ORIGIN_CONNECT',
      aborted: true,
      bytes: null,
    });
  });

  it('follow the logger’s level', () => {
    expect(new AccessLog(capture('warn').log).enabled).toBe(false);
    expect(new AccessLog(capture('info').log).enabled).toBe(true);
  });
});
