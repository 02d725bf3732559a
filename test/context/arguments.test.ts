import { describe, expect, it } from 'vitest';
import { ContextVar, type ContextVarOptions } from '../../src/index.js';
import { codeOf, thrownBy } from '../support/errors.js';

function optionsError(options: unknown): TypeError {
  return thrownBy(() => new ContextVar('v', options as ContextVarOptions<unknown>)) as TypeError;
}

describe('new ContextVar(name, options)', () => {
  it.each([null, 1, 'x', true])('refuses options %s, naming "options"', (options) => {
    const error = optionsError(options);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/^The "options" argument must be an object/);
    expect((error as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('refuses a non-boolean propagate, naming options.propagate and what it got', () => {
    const error = optionsError({ propagate: 'no' });
    expect(error.message).toBe(
      `The "options.propagate" argument must be of type boolean. Received type string ('no')`,
    );
    expect(codeOf(() => new ContextVar('v', { propagate: 0 as unknown as boolean }))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
  });

  it.each([
    ['a function', () => 1],
    ['no decode', { encode: (x: unknown) => x }],
    ['a non-function encode', { encode: 1, decode: (x: unknown) => x }],
    ['null', null],
  ])('refuses a codec with %s, naming options.codec', (_label, codec) => {
    const error = optionsError({ codec });
    expect(error.message).toMatch(
      /^The "options.codec" argument must be an object with encode and decode functions/,
    );
    expect((error as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('accepts valid options and a default of any type', () => {
    const codec = {
      encode: (d: Date) => d.getTime(),
      decode: (raw: unknown) => new Date(raw as number),
    };
    const v = new ContextVar<Date>('when', { default: new Date(0), propagate: false, codec });
    expect(v.get().getTime()).toBe(0);
    expect(new ContextVar('empty', {}).name).toBe('empty');
  });

  it('describes received values in messages', () => {
    const messages = [
      undefined,
      null,
      5n,
      Symbol('s'),
      () => 1,
      new Map(),
      Object.create(null),
    ].map((bad) => (thrownBy(() => new ContextVar(bad as unknown as string)) as Error).message);
    expect(messages).toEqual([
      'The "name" argument must be of type string. Received undefined',
      'The "name" argument must be of type string. Received null',
      'The "name" argument must be of type string. Received type bigint (5n)',
      'The "name" argument must be of type string. Received type symbol (Symbol(s))',
      'The "name" argument must be of type string. Received function <anonymous>',
      'The "name" argument must be of type string. Received an instance of Map',
      'The "name" argument must be of type string. Received an object',
    ]);
  });
});
