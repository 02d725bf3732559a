// Behaviours of CPython's Lib/test/test_context.py that apply to JavaScript,
// checked against this implementation. Each test runs in a fresh context, as
// CPython's @isolated_context does.
import { describe, expect, it, vi } from 'vitest';
import {
  Context,
  ContextError,
  ContextVar,
  copyContext,
  LookupError,
  Token,
} from '../../src/index.js';
import { codeOf, thrownBy } from '../support/errors.js';

function isolated(body: () => void): () => void {
  return () => new Context().run(body);
}

describe('ContextVar construction', () => {
  it('keeps its name, read-only', () => {
    const c = new ContextVar('aaa');
    expect(c.name).toBe('aaa');
    expect(() => {
      (c as { name: string }).name = 'bbb';
    }).toThrow(TypeError);
    expect(c.name).toBe('aaa');
  });

  it('refuses a non-string name with ERR_INVALID_ARG_TYPE naming the argument', () => {
    for (const bad of [1, undefined, null, {}, Symbol('s')]) {
      const make = () => new ContextVar(bad as unknown as string);
      expect(make).toThrow(TypeError);
      expect(make).toThrow(/"name" argument/);
      expect(codeOf(make)).toBe('ERR_INVALID_ARG_TYPE');
    }
  });

  it('shows its name and default in toString', () => {
    expect(String(new ContextVar('a'))).toBe("<ContextVar name='a'>");
    expect(String(new ContextVar('a', { default: 123 }))).toBe("<ContextVar name='a' default=123>");
    const self: unknown[] = [];
    const c = new ContextVar('a', { default: self });
    self.push(c);
    expect(String(c)).toContain('[...]');
  });

  it(
    'shows a token as used once it was reset',
    isolated(() => {
      const c = new ContextVar<number>('a');
      const t = c.set(1);
      expect(String(t)).toContain(String(c));
      expect(String(t)).not.toContain(' used');
      c.reset(t);
      expect(String(t)).toContain(' used');
    }),
  );
});

describe('Context construction and type errors', () => {
  it('takes no arguments', () => {
    const make = () => new (Context as unknown as new (arg: unknown) => Context)(1);
    expect(make).toThrow(TypeError);
    expect(codeOf(make)).toBe('ERR_INVALID_ARG_TYPE');
    expect(new Context().size).toBe(0);
  });

  it('refuses non-vars as keys', () => {
    const ctx = new Context();
    const notAVar = 1 as unknown as ContextVar<unknown>;
    for (const use of [() => ctx.get(notAVar), () => ctx.has(notAVar), () => ctx.get(notAVar, 2)]) {
      expect(use).toThrow(/"variable" argument must be a ContextVar/);
      expect(codeOf(use)).toBe('ERR_INVALID_ARG_TYPE');
    }
  });

  it('copyContext returns a Context', () => {
    expect(copyContext()).toBeInstanceOf(Context);
  });

  it('run refuses a missing or non-function callable', () => {
    const ctx = new Context();
    const run = ctx.run as (fn?: unknown) => unknown;
    for (const bad of [undefined, 1, 'fn', {}]) {
      const call = () => run.call(ctx, bad);
      expect(call).toThrow(/"fn" argument must be of type function/);
      expect(codeOf(call)).toBe('ERR_INVALID_ARG_TYPE');
    }
  });
});

describe('Context.run', () => {
  it('passes arguments through and returns the result', () => {
    const ctx = new Context();
    const f = (...args: unknown[]) => [...args, 'bar'];
    expect(ctx.run(f)).toEqual(['bar']);
    expect(ctx.run(f, 1)).toEqual([1, 'bar']);
    expect(ctx.run(f, 11, { a: 2 })).toEqual([11, { a: 2 }, 'bar']);
  });

  it('propagates what fn throws', () => {
    const ctx = new Context();
    const boom = () => {
      throw new RangeError('div by zero');
    };
    expect(() => ctx.run(boom)).toThrow(RangeError);
    expect(() => ctx.run(boom)).toThrow(RangeError); // not left entered by the throw
  });

  it(
    'switches contexts and returns to the outer one',
    isolated(() => {
      const ctx1 = new Context();
      const ctx2 = new Context();
      const v = new ContextVar<string>('var');
      const returned = ctx1.run(() => {
        expect(v.get(null)).toBeNull();
        v.set('spam');
        ctx2.run(() => expect(v.get(null)).toBeNull());
        expect(v.get(null)).toBe('spam');
        const cur = copyContext();
        expect(cur.size).toBe(1);
        expect(cur.get(v)).toBe('spam');
        return cur;
      });
      expect(returned.get(v)).toBe('spam');
      expect(returned.has(v)).toBe(true);
      expect(ctx1.get(v)).toBe('spam');
      expect(v.get(null)).toBeNull();
    }),
  );

  it('keeps changes made before fn throws', () => {
    const ctx = new Context();
    const v = new ContextVar<string>('var');
    expect(() =>
      ctx.run(() => {
        v.set('spam');
        throw new Error('after set');
      }),
    ).toThrow('after set');
    expect(ctx.get(v)).toBe('spam');
    expect(v.get(null)).toBeNull();
  });

  it('sees var defaults through get() but not through the mapping API', () => {
    const ctx = new Context();
    const c = new ContextVar('a', { default: 0 });
    ctx.run(() => {
      expect(c.get()).toBe(0);
      expect(ctx.get(c)).toBeUndefined();
      expect(ctx.has(c)).toBe(false);
      c.set(42);
      expect(c.get()).toBe(42);
      expect(ctx.get(c)).toBe(42);
    });
  });

  it('refuses to enter a context that is already entered', () => {
    const ctx = new Context();
    const inner = vi.fn();
    ctx.run(() => {
      const error = thrownBy(() => ctx.run(inner));
      expect(error).toBeInstanceOf(ContextError);
      expect((error as ContextError).code).toBe('ERR_CONTEXT_ENTERED');
      expect(String((error as Error).message)).toMatch(/already entered/);
    });
    expect(inner).not.toHaveBeenCalled();
  });

  it('refuses re-entry through another context nested in between', () => {
    const ctx = new Context();
    const other = new Context();
    ctx.run(() =>
      other.run(() => expect(codeOf(() => ctx.run(() => 1))).toBe('ERR_CONTEXT_ENTERED')),
    );
    // Once both runs returned, either can be entered again.
    expect(ctx.run(() => other.run(() => 'ok'))).toBe('ok');
  });
});

describe('get / set / reset', () => {
  it(
    'follows the full lifecycle of test_context_getset_1',
    isolated(() => {
      const c = new ContextVar<number | string>('c');
      expect(() => c.get()).toThrow(LookupError);
      expect(c.get(null)).toBeNull();

      const t0 = c.set(42);
      expect(c.get()).toBe(42);
      expect(c.get(null)).toBe(42);
      expect(t0.oldValue).toBe(Token.MISSING);
      expect(t0.var).toBe(c);

      const t = c.set('spam');
      expect(c.get()).toBe('spam');
      expect(t.oldValue).toBe(42);
      c.reset(t);
      expect(c.get()).toBe(42);

      c.set('spam2');
      expect(codeOf(() => c.reset(t))).toBe('ERR_TOKEN_USED');
      expect(c.get()).toBe('spam2');

      const ctx1 = copyContext();
      expect(ctx1.has(c)).toBe(true);

      c.reset(t0);
      expect(codeOf(() => c.reset(t0))).toBe('ERR_TOKEN_USED');
      expect(c.get(null)).toBeNull();

      expect(ctx1.has(c)).toBe(true);
      expect(ctx1.get(c)).toBe('spam2');
      expect(ctx1.get(c, 'aa')).toBe('spam2');
      expect(ctx1.size).toBe(1);
      expect([...ctx1.entries()]).toEqual([[c, 'spam2']]);
      expect([...ctx1.values()]).toEqual(['spam2']);
      expect([...ctx1.keys()]).toEqual([c]);
      expect([...ctx1]).toEqual([[c, 'spam2']]);

      const ctx2 = copyContext();
      expect(ctx2.has(c)).toBe(false);
      expect(ctx2.get(c)).toBeUndefined();
      expect(ctx2.get(c, 'aa')).toBe('aa');
      expect(ctx2.size).toBe(0);
      expect([...ctx2]).toEqual([]);
    }),
  );

  it(
    'refuses another var’s token with ERR_TOKEN_VAR',
    isolated(() => {
      const v1 = new ContextVar<number>('v1');
      const v2 = new ContextVar<number>('v2');
      const t1 = v1.set(42);
      const error = thrownBy(() => v2.reset(t1));
      expect(error).toBeInstanceOf(ContextError);
      expect((error as ContextError).code).toBe('ERR_TOKEN_VAR');
      expect((error as Error).message).toMatch(/by a different ContextVar/);
    }),
  );

  it(
    'adds and removes keys of the current context on set and reset',
    isolated(() => {
      const c = new ContextVar('c', { default: 42 });
      const ctx = new Context();
      ctx.run(() => {
        expect(c.get()).toBe(42);
        expect(ctx.get(c)).toBeUndefined();
        expect(ctx.get(c, 'spam')).toBe('spam');
        expect(ctx.has(c)).toBe(false);
        expect([...ctx.keys()]).toEqual([]);
        const t = c.set(1);
        expect([...ctx.keys()]).toEqual([c]);
        expect(ctx.get(c)).toBe(1);
        c.reset(t);
        expect([...ctx.keys()]).toEqual([]);
        expect(ctx.has(c)).toBe(false);
      });
    }),
  );

  it(
    'refuses a token made in another context with ERR_TOKEN_CONTEXT',
    isolated(() => {
      const c = new ContextVar('c', { default: 42 });
      const ctx = new Context();
      const tok = ctx.run(() => c.set(1));
      const error = thrownBy(() => c.reset(tok));
      expect((error as ContextError).code).toBe('ERR_TOKEN_CONTEXT');
      expect((error as Error).message).toMatch(/different Context/);
      // A copy of the token's context counts as different too.
      const copy = ctx.copy();
      expect(codeOf(() => copy.run(() => c.reset(tok)))).toBe('ERR_TOKEN_CONTEXT');
      // The refused token is still usable where it belongs.
      ctx.run(() => c.reset(tok));
      expect(ctx.has(c)).toBe(false);
    }),
  );

  it(
    'checks used before var before context, as CPython does',
    isolated(() => {
      const a = new ContextVar<number>('a');
      const b = new ContextVar<number>('b');
      const ctx = new Context();
      const tok = ctx.run(() => a.set(1));
      // Wrong var and wrong context at once: the var is reported.
      expect(codeOf(() => b.reset(tok as unknown as Token<number>))).toBe('ERR_TOKEN_VAR');
      ctx.run(() => a.reset(tok));
      // Used, wrong var and wrong context at once: used is reported.
      expect(codeOf(() => b.reset(tok as unknown as Token<number>))).toBe('ERR_TOKEN_USED');
    }),
  );

  it(
    'shares values by reference in a copy (shallow copy)',
    isolated(() => {
      const c = new ContextVar<number[]>('c', { default: [] });
      const outer: number[] = [];
      c.set(outer);
      copyContext().run(() => {
        const mine: number[] = [];
        c.set(mine);
        c.get().push(42);
        expect(c.get()).toEqual([42]);
      });
      expect(c.get()).toBe(outer);
      expect(outer).toEqual([]);
      copyContext().run(() => c.get().push(7));
      expect(outer).toEqual([7]);
    }),
  );

  it('iterates the context as it was when iteration began', () => {
    const ctx = new Context();
    const v = new ContextVar<number>('v');
    const w = new ContextVar<number>('w');
    const seen = ctx.run(() => {
      v.set(1);
      const entries = ctx.entries();
      const keys = ctx.keys();
      v.set(2);
      w.set(3);
      return [[...entries], [...keys]];
    });
    expect(seen).toEqual([[[v, 1]], [v]]);
    expect(ctx.get(v)).toBe(2);
  });

  it('never lets a write after a copy reach the copy, however many writes follow', () => {
    const ctx = new Context();
    const v = new ContextVar<number>('v');
    const snapshots = ctx.run(() => {
      const taken: Array<[Context, number]> = [];
      for (let i = 0; i < 5; i++) {
        v.set(i);
        v.set(i + 100); // a second write to a map this context alone holds
        taken.push([copyContext(), i + 100]);
      }
      return taken;
    });
    for (const [snapshot, value] of snapshots) expect(snapshot.get(v)).toBe(value);
  });

  it('keeps copies independent of each other (test_context_copy_1)', () => {
    const ctx1 = new Context();
    const c = new ContextVar('c', { default: 42 });
    ctx1.run(() => {
      c.set(10);
      const ctx2 = ctx1.copy();
      expect(ctx2.get(c)).toBe(10);
      c.set(20);
      expect(ctx1.get(c)).toBe(20);
      expect(ctx2.get(c)).toBe(10);
      ctx2.run(() => {
        expect(c.get()).toBe(10);
        c.set(30);
        expect(c.get()).toBe(30);
      });
      expect(ctx1.get(c)).toBe(20);
      expect(ctx2.get(c)).toBe(30);
    });
  });
});

describe('get() precedence', () => {
  it(
    'prefers the value, then an explicit fallback (even undefined), then the default',
    isolated(() => {
      const withDefault = new ContextVar<string>('d', { default: 'dflt' });
      expect(withDefault.get()).toBe('dflt');
      expect(withDefault.get('fb')).toBe('fb');
      expect(withDefault.get(undefined)).toBeUndefined();
      withDefault.set('value');
      expect(withDefault.get('fb')).toBe('value');
    }),
  );

  it('counts a default of undefined as a default', () => {
    const v = new ContextVar<string | undefined>('u', { default: undefined });
    expect(v.get()).toBeUndefined();
  });

  it('throws LookupError naming the var when nothing applies', () => {
    const v = new ContextVar('lonely');
    const error = thrownBy(() => v.get());
    expect(error).toBeInstanceOf(LookupError);
    expect(error).toBeInstanceOf(Error);
    expect((error as LookupError).code).toBe('ERR_CONTEXT_VAR_NOT_SET');
    expect((error as LookupError).varName).toBe('lonely');
    expect((error as Error).message).toContain("'lonely'");
  });

  it('returns Token.MISSING when it was set as a value, and reset restores it', () => {
    new Context().run(() => {
      const v = new ContextVar<unknown>('m');
      v.set(Token.MISSING);
      expect(v.get()).toBe(Token.MISSING);
      const t = v.set(1);
      expect(t.oldValue).toBe(Token.MISSING);
      v.reset(t);
      expect(copyContext().has(v)).toBe(true);
      expect(v.get()).toBe(Token.MISSING);
    });
  });

  it('distinguishes -0 from 0 and stores NaN', () => {
    new Context().run(() => {
      const v = new ContextVar<number>('n');
      v.set(0);
      v.set(-0);
      expect(Object.is(v.get(), -0)).toBe(true);
      v.set(Number.NaN);
      expect(v.get()).toBeNaN();
    });
  });
});

describe('Token', () => {
  it('cannot be constructed directly', () => {
    const make = () => new (Token as unknown as new () => unknown)();
    expect(make).toThrow(TypeError);
    expect(make).toThrow(/tokens are made by ContextVar.set/);
    expect(codeOf(make)).toBe('ERR_ILLEGAL_CONSTRUCTOR');
  });

  it('reset refuses a non-token with ERR_INVALID_ARG_TYPE', () => {
    const v = new ContextVar('v');
    for (const bad of [undefined, {}, 'token', { _var: v, _used: false }]) {
      const call = () => v.reset(bad as unknown as Token<unknown>);
      expect(call).toThrow(/"token" argument must be a Token/);
      expect(codeOf(call)).toBe('ERR_INVALID_ARG_TYPE');
    }
  });

  it('resets at block end with `using`', () => {
    new Context().run(() => {
      const v = new ContextVar<string>('u', { default: 'outer' });
      {
        using _ = v.set('inner');
        expect(v.get()).toBe('inner');
      }
      expect(v.get()).toBe('outer');
      expect(copyContext().has(v)).toBe(false);
    });
  });

  it('`using` resets even when the block throws', () => {
    new Context().run(() => {
      const v = new ContextVar<string>('u');
      v.set('before');
      expect(() => {
        using _ = v.set('inner');
        throw new Error('inside');
      }).toThrow('inside');
      expect(v.get()).toBe('before');
    });
  });
});
