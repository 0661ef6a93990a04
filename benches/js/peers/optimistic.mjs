// Peers of stateloom-optimistic: effect-atom (@effect-atom/atom) on the same workloads as
// benches/benches/optimistic.rs, with the same group names.

import { createRequire } from 'node:module';

import { Atom, Registry, Result } from '@effect-atom/atom';
import { Effect } from 'effect';

const require = createRequire(import.meta.url);

export const versions = {
  'effect-atom': require('@effect-atom/atom/package.json').version,
  effect: require('effect/package.json').version,
};

const UPDATES = 10_000;
const REFRESHES = 1_000;

/** Times one run of an async body, one sample per run, as `bench` does for sync bodies. */
async function benchAsync({ group, library, iteration, setup, check }) {
  const WARMUP_MS = 500;
  const TARGET_MS = 2000;
  const time = async () => {
    const ctx = setup ? await setup() : undefined;
    const start = process.hrtime.bigint();
    await iteration(ctx);
    const end = process.hrtime.bigint();
    return Number(end - start);
  };
  const warmup = [];
  const warmStart = process.hrtime.bigint();
  while (warmup.length < 2 || Number(process.hrtime.bigint() - warmStart) < WARMUP_MS * 1e6) {
    warmup.push(await time());
  }
  const recent = warmup.slice(Math.floor(warmup.length / 2)).sort((a, b) => a - b);
  const estimate = Math.max(recent[recent.length >> 1], 1);
  const samples = Math.min(50_000, Math.max(5, Math.round((TARGET_MS * 1e6) / estimate)));
  const times = [];
  for (let s = 0; s < samples; s++) times.push(await time());
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  check(true, 'timed');
  return { group, library, median_ns: median, min_ns: times[0], samples, warmup_runs: warmup.length };
}

/** Lets promise callbacks and effect fibers run until `done()` holds. */
async function settle(done) {
  for (let i = 0; i < 100_000 && !done(); i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A server counter, an effect-backed query reading it at once, and its optimistic atom. */
function counter() {
  const server = { value: 0 };
  const query = Atom.make(Effect.sync(() => server.value)).pipe(Atom.keepAlive);
  const shown = Atom.optimistic(query);
  return { server, query, shown };
}

function successValue(result) {
  return Result.isSuccess(result) ? result.value : undefined;
}

export function workloads({ bench, check }) {
  // 10,000 optimistic updates; each mutation resolves at once.
  function updates10k() {
    const { server, shown } = counter();
    const mutation = Atom.fn((n) =>
      Effect.sync(() => {
        server.value += n;
      }),
    );
    const add = Atom.optimisticFn(shown, {
      reducer: (current, n) => Result.map(current, (v) => v + n),
      fn: mutation,
    });
    const registry = Registry.make();
    let notified = 0;
    registry.subscribe(shown, () => {
      notified += 1;
    });
    registry.mount(add);
    const run = () => {
      for (let i = 0; i < UPDATES; i++) registry.set(add, 1);
    };
    run();
    check(successValue(registry.get(shown)) === UPDATES, `shown ${successValue(registry.get(shown))}`);
    check(!Result.isWaiting(registry.get(shown)), 'settled');
    check(notified >= UPDATES, `notified ${notified}`);
    return bench({ group: 'optimistic_updates_10k', library: 'effect_atom', iteration: run });
  }

  // n updates stacked in flight (each waiting for one shared answer), then settled.
  function stacked(group, n) {
    return async () => {
      const { server, shown } = counter();
      let release;
      const mutation = Atom.fn(
        (k) =>
          Effect.gen(function* () {
            yield* Effect.promise(() => gate);
            server.value += k;
          }),
        { concurrent: true },
      );
      let gate;
      const add = Atom.optimisticFn(shown, {
        reducer: (current, k) => Result.map(current, (v) => v + k),
        fn: mutation,
      });
      const setup = async () => {
        gate = new Promise((resolve) => {
          release = resolve;
        });
        const registry = Registry.make();
        const unsubscribe = registry.subscribe(shown, () => {});
        registry.mount(add);
        return { registry, unsubscribe };
      };
      const iteration = async ({ registry }) => {
        for (let i = 0; i < n; i++) registry.set(add, 1);
        release();
        const expected = server.value + n;
        await settle(() => {
          const r = registry.get(shown);
          return !Result.isWaiting(r) && successValue(r) === expected;
        });
      };
      const ctx = await setup();
      const before = server.value;
      await iteration(ctx);
      check(server.value - before === n, `server moved by ${server.value - before}`);
      check(successValue(ctx.registry.get(shown)) === server.value, 'shown the server value');
      return benchAsync({ group, library: 'effect_atom', iteration, setup, check });
    };
  }

  // 1,000 refresh cycles of a subscribed query whose fetch takes one round trip.
  async function queryRefresh1k() {
    const server = { value: 0 };
    const query = Atom.make(
      Effect.promise(() => {
        server.value += 1;
        const value = server.value;
        return Promise.resolve(value);
      }),
    ).pipe(Atom.keepAlive);
    const registry = Registry.make();
    let notified = 0;
    registry.subscribe(query, () => {
      notified += 1;
    });
    await settle(() => !Result.isWaiting(registry.get(query)));
    const iteration = async () => {
      for (let i = 0; i < REFRESHES; i++) {
        registry.refresh(query);
        const expected = server.value;
        await settle(() => {
          const r = registry.get(query);
          return !Result.isWaiting(r) && successValue(r) === expected;
        });
      }
    };
    const before = notified;
    await iteration();
    check(notified - before >= REFRESHES, `notified ${notified - before}`);
    check(successValue(registry.get(query)) === server.value, 'shows the last fetch');
    return benchAsync({ group: 'optimistic_query_refresh_1k', library: 'effect_atom', iteration, check });
  }

  return [
    updates10k,
    stacked('optimistic_stack_1k', 1_000),
    stacked('optimistic_stack_10k', 10_000),
    queryRefresh1k,
  ];
}
