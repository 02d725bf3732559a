# CPython anchor for bench/suites/context.mjs: the same operations timed with
# timeit on CPython's C contextvars. Prints {"case": ns_per_op} as JSON.
import contextvars
import json
import sys
import timeit

ROUNDS = 15


def ns_per_op(stmt, setup_globals, number):
    times = timeit.repeat(stmt, globals=setup_globals, number=number, repeat=ROUNDS)
    times.sort()
    return times[len(times) // 2] / number * 1e9


def context_with(n):
    ctx = contextvars.Context()
    variables = [contextvars.ContextVar(f'v{i}') for i in range(n)]

    def fill():
        for i, v in enumerate(variables):
            v.set(i)
    ctx.run(fill)
    return ctx, variables


results = {}
ctx, variables = context_with(10)
probe = variables[0]
unset = contextvars.ContextVar('unset', default=0)
number = 2_000_000


def inside(fn):
    return ctx.run(fn)


results['get (set var)'] = inside(lambda: ns_per_op('probe.get()', {'probe': probe}, number))
results['get (unset, default)'] = inside(lambda: ns_per_op('unset.get()', {'unset': unset}, number))
results['set (10-var context)'] = inside(lambda: ns_per_op('probe.set(1)', {'probe': probe}, number))
for n in (1, 1000):
    c, vs = context_with(n)
    results[f'set+reset (n={n})'] = c.run(
        lambda: ns_per_op('v.reset(v.set(1))', {'v': vs[0]}, number // 4))
for n in (1, 10, 100, 1000, 10000):
    c, _ = context_with(n)
    results[f'copyContext (n={n})'] = c.run(
        lambda: ns_per_op('copy_context()', {'copy_context': contextvars.copy_context}, number))
empty = contextvars.Context()
results['run(noop)'] = ns_per_op('empty.run(noop)', {'empty': empty, 'noop': lambda: None}, number)
json.dump(results, sys.stdout)
