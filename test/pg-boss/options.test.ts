// contextJobs and contextOf refuse what cannot work where it is given.
import { PgBoss } from 'pg-boss';
import { describe, expect, it } from 'vitest';
import { contextJobs, contextOf } from '../../dist/integrations/pg-boss/index.js';

/** A PgBoss that is never started: contextJobs needs no connection. */
const unstarted = () => new PgBoss('postgres://nobody@localhost/never');

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

describe('contextJobs and contextOf options', () => {
  it.each([
    [{ key: '' }, 'ERR_INVALID_ARG_VALUE', /options\.key/],
    [{ key: undefined }, 'ERR_INVALID_ARG_VALUE', /options\.key" argument is undefined/],
    [{ key: [] }, 'ERR_INVALID_ARG_VALUE', /options\.key/],
    [{ maxAge: 10 }, 'ERR_INVALID_ARG_VALUE', /options\.maxAge.*needs options\.key/],
    [{ use: 'tenant-1' }, 'ERR_INVALID_ARG_VALUE', /options\.use.*needs options\.key/],
    [
      { requireSnapshot: true },
      'ERR_INVALID_ARG_VALUE',
      /options\.requireSnapshot.*needs options\.key/,
    ],
    [{ key: 'k', requireSnapshot: 'yes' }, 'ERR_INVALID_ARG_TYPE', /options\.requireSnapshot/],
    [{ key: 'k', use: '' }, 'ERR_INVALID_ARG_VALUE', /options\.use/],
    [{ key: 'k', use: 'é' }, 'ERR_INVALID_ARG_VALUE', /options\.use/],
    [{ key: 'k', use: 'x'.repeat(121) }, 'ERR_INVALID_ARG_VALUE', /1 to 120 printable ASCII/],
    [{ key: 'k', maxAge: -1 }, 'ERR_OUT_OF_RANGE', /options\.maxAge/],
    ['key', 'ERR_INVALID_ARG_TYPE', /"options"/],
  ])('refuses %j where it is given', (options, code, message) => {
    for (const call of [
      () => contextJobs(unstarted(), options as never),
      () => contextOf({ data: null }, options as never),
    ]) {
      const error = thrown(call);
      expect(error).toMatchObject({ code });
      expect((error as Error).message).toMatch(message);
    }
  });

  it('instruments an instance once, and only a pg-boss instance', () => {
    const boss = unstarted();
    expect(contextJobs(boss, { key: 'k', use: 'x'.repeat(120) })).toBe(boss);
    expect(thrown(() => contextJobs(boss))).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringMatching(/already instrumented/),
    });
    expect(thrown(() => contextJobs({ send() {} } as never))).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringMatching(/"boss" argument must be a PgBoss instance/),
    });
    expect(thrown(() => contextOf(null as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});
