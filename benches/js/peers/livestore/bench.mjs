// LiveStore 0.4 peer of the bridge benches (`benches/benches/bridge.rs`): the same groups,
// on LiveStore's Node adapter with its file storage (SQLite compiled to WebAssembly).
//
// Run as a child process by `../bridge.mjs`, so that LiveStore's own Effect packages and the
// work its leader keeps doing after the timed commits stay out of the parent run. It times
// with the method of `run.mjs` (copied below) and prints its results as one JSON line.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { makeAdapter } from '@livestore/adapter-node';
import { createStorePromise, Events, makeSchema, queryDb, Schema, State } from '@livestore/livestore';

// The package does not export its package.json; read it from node_modules.
const livestorePackage = new URL('./node_modules/@livestore/livestore/package.json', import.meta.url);

const versions = {
  livestore: JSON.parse(readFileSync(livestorePackage, 'utf8')).version,
};

const BATCH = 10_000;
const TABLES = 10;
const BUCKETS = 10;

// ---------------------------------------------------------------------------
// Schemas: todos (as the Rust `Todo::Created`), and ten bucket tables.
// ---------------------------------------------------------------------------

const todos = State.SQLite.table({
  name: 'todos',
  columns: {
    id: State.SQLite.integer({ primaryKey: true }),
    text: State.SQLite.text({ default: '' }),
    done: State.SQLite.boolean({ default: false }),
  },
});
const todoEvents = {
  created: Events.synced({
    name: 'v1.Created',
    schema: Schema.Struct({ id: Schema.Number, text: Schema.String }),
  }),
};
const todoSchema = makeSchema({
  events: todoEvents,
  state: State.SQLite.makeState({
    tables: { todos },
    materializers: State.SQLite.materializers(todoEvents, {
      'v1.Created': ({ id, text }) => todos.insert({ id, text }),
    }),
  }),
});

const bucketTables = Array.from({ length: TABLES }, (_, t) =>
  State.SQLite.table({
    name: `t${t}`,
    columns: {
      id: State.SQLite.integer({ primaryKey: true }),
      bucket: State.SQLite.integer({ default: 0 }),
    },
    indexes: [{ name: `t${t}_bucket`, columns: ['bucket', 'id'] }],
  }),
);
const bucketEvents = {
  inserted: Events.synced({
    name: 'v1.Inserted',
    schema: Schema.Struct({ id: Schema.Number, table: Schema.Number, bucket: Schema.Number }),
  }),
};
const bucketSchema = makeSchema({
  events: bucketEvents,
  state: State.SQLite.makeState({
    tables: Object.fromEntries(bucketTables.map((table, t) => [`t${t}`, table])),
    materializers: State.SQLite.materializers(bucketEvents, {
      'v1.Inserted': ({ id, table, bucket }) => bucketTables[table].insert({ id, bucket }),
    }),
  }),
});

const dir = mkdtempSync(join(tmpdir(), 'stateloom-livestore-'));
let storeCount = 0;
const open = (schema) =>
  createStorePromise({
    adapter: makeAdapter({ storage: { type: 'fs', baseDirectory: join(dir, String(storeCount++)) } }),
    schema,
    storeId: `bench-${storeCount}`,
    disableDevtools: true,
    // Subscribers run synchronously inside `commit`, as in LiveStore's tests.
    batchUpdates: (run) => run(),
  });

const stores = {
  commit1: await open(todoSchema),
  batch: await open(todoSchema),
  latency: await open(todoSchema),
  queries: await open(bucketSchema),
};

// The harness of `run.mjs`: warm up for 0.5 s, then about 2 s of samples, one iteration each.
const WARMUP_MS = 500;
const TARGET_MS = 2000;
const MIN_WARMUP_RUNS = 2;
const MIN_SAMPLES = 5;
const MAX_SAMPLES = 50_000;

function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

function median(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Times `measure()`, which returns the nanoseconds of one sample. */
function sample(group, measure) {
  const warmup = [];
  const warmStart = process.hrtime.bigint();
  while (warmup.length < MIN_WARMUP_RUNS || Number(process.hrtime.bigint() - warmStart) < WARMUP_MS * 1e6) {
    warmup.push(measure());
  }
  const recent = warmup.slice(Math.floor(warmup.length / 2)).sort((a, b) => a - b);
  const estimate = Math.max(median(recent), 1);
  const samples = Math.min(MAX_SAMPLES, Math.max(MIN_SAMPLES, Math.round((TARGET_MS * 1e6) / estimate)));
  const times = Array.from({ length: samples }, measure).sort((a, b) => a - b);
  return { group, library: 'livestore', median_ns: median(times), min_ns: times[0], samples, warmup_runs: warmup.length };
}

function bench({ group, iteration, setup }) {
  return sample(group, () => {
    const ctx = setup ? setup() : undefined;
    const start = process.hrtime.bigint();
    iteration(ctx);
    return Number(process.hrtime.bigint() - start);
  });
}

function workloads() {
  const count$ = queryDb(todos.count(), { label: 'count' });
  // The newest todo: it changes with every commit and costs the same however many rows the
  // table has (a count would scan a table that grows with every sample).
  const newest$ = queryDb(todos.orderBy('id', 'desc').limit(1), { label: 'newest' });

  const commit1 = () => {
    const store = stores.commit1;
    let next = 1;
    store.commit(todoEvents.created({ id: next++, text: 'buy milk' }));
    check(store.query(count$) === 1, 'one todo after one commit');
    const result = bench({
      group: 'bridge_commit_1',
      library: 'livestore',
      iteration: () => store.commit(todoEvents.created({ id: next++, text: 'buy milk' })),
    });
    check(store.query(count$) === next - 1, 'every commit materialized');
    return result;
  };

  const batch = () => {
    const store = stores.batch;
    let next = 1;
    const events = () =>
      Array.from({ length: BATCH }, () => todoEvents.created({ id: next++, text: 'buy milk' }));
    store.commit(...events());
    check(store.query(count$) === BATCH, 'the batch materialized');
    const result = bench({
      group: 'bridge_commit_batch_10k',
      library: 'livestore',
      // The events are built outside the timed part, as in the Rust bench.
      setup: events,
      iteration: (batchEvents) => store.commit(...batchEvents),
    });
    check(store.query(count$) === next - 1, 'every batch materialized');
    return result;
  };

  // From the start of a commit to the subscriber's call: each sample times one commit up to
  // the call, not the whole iteration.
  const latency = () => {
    const store = stores.latency;
    let next = 1;
    let calledAt = null;
    store.subscribe(newest$, () => {
      calledAt = process.hrtime.bigint();
    }, { skipInitialRun: true });
    const once = () => {
      calledAt = null;
      const start = process.hrtime.bigint();
      store.commit(todoEvents.created({ id: next++, text: 'buy milk' }));
      check(calledAt !== null, 'the subscriber was called during the commit');
      return Number(calledAt - start);
    };
    once();
    return sample('bridge_commit_to_callback', once);
  };

  const queries = () => {
    const store = stores.queries;
    let callbacks = 0;
    for (let t = 0; t < TABLES; t++) {
      for (let b = 0; b < BUCKETS; b++) {
        // The newest row of the bucket, through the index, as in the Rust bench.
        const query$ = queryDb(bucketTables[t].where({ bucket: b }).orderBy('id', 'desc').limit(1), {
          label: `t${t}b${b}`,
        });
        store.subscribe(query$, () => {
          callbacks += 1;
        }, { skipInitialRun: true });
      }
    }
    let next = 1;
    const commit = () => store.commit(bucketEvents.inserted({ id: next++, table: 3, bucket: 5 }));
    commit();
    // LiveStore calls every subscriber of a query on the written table, changed or not.
    console.error(`  bridge_queries_100 (livestore): ${callbacks} callbacks for one commit that changed one result`);
    check(callbacks >= 1, 'the changed query was called');
    const perCommit = callbacks;
    const result = bench({ group: 'bridge_queries_100', library: 'livestore', iteration: commit });
    check(callbacks === perCommit * (next - 1), 'the same callbacks for every commit');
    return result;
  };

  return [commit1, batch, latency, queries];
}

const results = workloads().map((workload) => workload());
process.stdout.write(`${JSON.stringify({ versions, results })}\n`);
rmSync(dir, { recursive: true, force: true });
// The leader would go on persisting the timed commits for minutes: stop here.
process.exit(0);
