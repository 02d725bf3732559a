// A name this thread declares propagate: false never leaves it, also when it
// arrived as a pending entry before the var was declared: through pool
// tasks (whose sender keeps cached bases) as through serializeContext.
import { afterAll, describe, expect, it } from 'vitest';
import { ContextVar } from '../../dist/index.js';
import { deserializeContext } from '../../dist/serialization/index.js';
import { ContextPool } from '../../dist/workers/index.js';
import { ContextVar as SourceVar } from '../../src/index.js';
import { deserializeContext as deserializeFromSource } from '../../src/serialization/index.js';
import { limitsFor } from '../../src/serialization/options.js';
import { SnapshotSender } from '../../src/workers/snapshots.js';

const pool = new ContextPool({
  filename: new URL('fixtures/forwarder.mjs', import.meta.url).href,
  maxThreads: 1,
});
afterAll(() => pool.destroy());

let unique = 0;
const fresh = (prefix: string) => `${prefix}_${++unique}`;

/** A json snapshot from another process: `tenant` declared here, `secret` not (yet). */
const remote = (tenant: string, secret: string) =>
  `{"v":2,"f":"j","e":[${JSON.stringify(tenant)},0,"acme",${JSON.stringify(secret)},0,"hunter2"]}`;

describe('propagate: false names that arrived pending, in pool tasks', () => {
  it('a pool task never carries a pending entry whose name this thread declares propagate: false', async () => {
    const name = fresh('pool_secret');
    const tenant = new ContextVar<string>(fresh('pool_tenant'));
    const arrived = deserializeContext(remote(tenant.name, name));
    // Forwarded while no var here declares the name: the pool keeps a base holding it.
    expect(await arrived.run(() => pool.runInContext<string>(undefined))).toContain('hunter2');
    const secret = new ContextVar<string>(name, { propagate: false });
    for (let i = 0; i < 3; i++) {
      const forwarded = await arrived.copy().run(() => pool.runInContext<string>(undefined));
      expect(forwarded).not.toContain(name);
      expect(forwarded).toContain('acme');
    }
    expect(secret.name).toBe(name);
  });

  it("the pool's snapshot sender stops using a base that holds such a name", () => {
    const name = fresh('base_secret');
    const tenant = new SourceVar<string>(fresh('base_tenant'));
    const sender = new SnapshotSender(limitsFor('structured', {}), () => {});
    const arrived = deserializeFromSource(remote(tenant.name, name));
    expect(sender.snapshotFor(arrived).base?.entries).toContain(name);
    const secret = new SourceVar<string>(name, { propagate: false });
    const { fields, base } = sender.snapshotFor(arrived);
    expect(base?.entries ?? fields.entries).not.toContain(name);
    expect(base?.entries ?? fields.entries).toContain('acme');
    expect(secret.name).toBe(name);
  });
});
