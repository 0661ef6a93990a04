// Peer of the worker crate: coaction's shared stores, a host ("main") store and client stores
// connected by in-memory `MessageChannel` ports, measured on the workloads of
// `benches/benches/worker.rs` with the same group names.
//
// Coaction's client calls are promises and its messages cross ports asynchronously, so each
// workload is timed with an asynchronous copy of `run.mjs`'s method (one iteration per sample,
// about 0.5 s of warm-up, samples for about 2 s, the median) and returns a promise of its result.

import { MessageChannel } from 'node:worker_threads';
import { createRequire } from 'node:module';

import { create } from 'coaction';
import { createTransport } from 'data-transport';

const require = createRequire(import.meta.url);

export const versions = {
  coaction: require('coaction/package.json').version,
};

const WARMUP_MS = 500;
const TARGET_MS = 2000;
const MIN_WARMUP_RUNS = 2;
const MIN_SAMPLES = 5;
const MAX_SAMPLES = 50_000;
const ITEMS = 10_000;
const CLIENTS = 8;

function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

function median(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function timeOnce(iteration) {
  const start = process.hrtime.bigint();
  await iteration();
  return Number(process.hrtime.bigint() - start);
}

/** The asynchronous twin of `bench` in `run.mjs`. */
async function benchAsync({ group, iteration }) {
  const warmup = [];
  const warmStart = process.hrtime.bigint();
  while (
    warmup.length < MIN_WARMUP_RUNS ||
    Number(process.hrtime.bigint() - warmStart) < WARMUP_MS * 1e6
  ) {
    warmup.push(await timeOnce(iteration));
  }
  const recent = warmup.slice(Math.floor(warmup.length / 2)).sort((a, b) => a - b);
  const estimate = Math.max(median(recent), 1);
  const samples = Math.min(
    MAX_SAMPLES,
    Math.max(MIN_SAMPLES, Math.round((TARGET_MS * 1e6) / estimate)),
  );
  const times = new Array(samples);
  for (let s = 0; s < samples; s++) {
    times[s] = await timeOnce(iteration);
  }
  times.sort((a, b) => a - b);
  return {
    group,
    library: 'coaction',
    median_ns: median(times),
    min_ns: times[0],
    samples,
    warmup_runs: warmup.length,
  };
}

/** A data-transport over one or more ports, recording the JSON size of what it sends. */
function portTransport(ports, sizes) {
  const transport = createTransport('Base', {
    listener: (callback) => {
      const handler = (data) => callback(data);
      for (const port of ports) port.on('message', handler);
      return () => {
        for (const port of ports) port.off('message', handler);
      };
    },
    sender: (message) => {
      if (sizes) sizes.push(JSON.stringify(message).length);
      for (const port of ports) port.postMessage(message);
    },
  });
  // Coaction asks every transport for `onConnect`; in-memory ports are connected at once.
  transport.onConnect = (callback) => {
    queueMicrotask(callback);
  };
  return transport;
}

let storeCount = 0;

/** A host store and `clients` client stores of `slice`, each client on its own port. */
async function connect(slice, clients = 1) {
  const name = `worker-bench-${storeCount++}`;
  const channels = Array.from({ length: clients }, () => new MessageChannel());
  const sizes = [];
  const host = create(slice, {
    name,
    transport: portTransport(channels.map((c) => c.port1), sizes),
  });
  const stores = channels.map((c) =>
    create(slice, { name, clientTransport: portTransport([c.port2]) }),
  );
  // Let each client's first full sync arrive (applying it runs the client's listeners).
  await Promise.all(stores.map(nextChange));
  const close = () => {
    for (const c of channels) {
      c.port1.close();
      c.port2.close();
    }
  };
  return { host, clients: stores, sizes, close };
}

const counter = (set) => ({
  count: 0,
  increment() {
    set((draft) => {
      draft.count += 1;
    });
    return this.count;
  },
});

const todos = (set) => ({
  items: Array.from({ length: ITEMS }, (_, i) => ({ id: i, title: `todo ${i}`, done: false })),
  toggle(i) {
    set((draft) => {
      draft.items[i].done = !draft.items[i].done;
    });
  },
});

/** Resolves when `store`'s listeners next run. */
function nextChange(store) {
  return new Promise((resolve) => {
    const unsubscribe = store.subscribe(() => {
      unsubscribe();
      resolve();
    });
  });
}

async function callRoundTripMemory() {
  const { clients, close } = await connect(counter);
  const client = clients[0];
  const before = client.getState().count;
  const result = await client.getState().increment();
  check(result === before + 1, `the call returned ${result}, expected ${before + 1}`);
  check(client.getState().count === before + 1, 'the mirror caught up before the call settled');
  const r = await benchAsync({
    group: 'worker_call_round_trip_memory',
    iteration: () => client.getState().increment(),
  });
  close();
  return r;
}

async function toggle10k() {
  const { host, clients, sizes, close } = await connect(todos);
  const client = clients[0];
  let next = 0;
  const toggle = async () => {
    const i = next;
    next = (next + 7919) % ITEMS;
    const changed = nextChange(client);
    host.getState().toggle(i);
    await changed;
    return i;
  };
  sizes.length = 0;
  const i = await toggle();
  check(client.getState().items[i].done === host.getState().items[i].done, 'the mirror shows the toggle');
  check(sizes.length === 1, `one message per toggle, saw ${sizes.length}`);
  const bytes = sizes[0];
  const r = await benchAsync({ group: 'worker_toggle_10k', iteration: toggle });
  close();
  return { ...r, bytes };
}

async function resync10k() {
  const { host, clients, close } = await connect(todos);
  const client = clients[0];
  // What coaction's client does on a sequence gap: ask for the whole state, apply it.
  const transport = client.transport;
  const resync = async () => {
    const latest = await transport.emit('fullSync');
    client.apply(JSON.parse(latest.state));
    return latest.state.length;
  };
  host.getState().toggle(3);
  await nextChange(client);
  const bytes = await resync();
  check(client.getState().items[3].done === true, 'the resync brought the state');
  const r = await benchAsync({ group: 'worker_resync_10k', iteration: resync });
  close();
  return { ...r, bytes };
}

async function snapshot10k() {
  // The codec's part of coaction's full sync: the host's JSON.stringify and the client's
  // JSON.parse of the whole state.
  const { host, close } = await connect(todos);
  const state = host.getPureState();
  const roundTrip = async () => JSON.parse(JSON.stringify(state));
  check((await roundTrip()).items.length === ITEMS, 'the snapshot round-trips');
  const r = await benchAsync({ group: 'worker_snapshot_10k', iteration: roundTrip });
  close();
  return r;
}

async function fanout8() {
  const { host, clients, close } = await connect(counter, CLIENTS);
  const update = async () => {
    const changed = Promise.all(clients.map(nextChange));
    host.getState().increment();
    await changed;
  };
  await update();
  const expected = host.getState().count;
  for (const client of clients) {
    check(client.getState().count === expected, 'every mirror has the update');
  }
  const r = await benchAsync({ group: 'worker_fanout_8', iteration: update });
  close();
  return r;
}

/** Prints a workload's bytes on the wire, then hands `run.mjs` the result without them. */
function reported(workload) {
  return async () => {
    const { bytes, ...result } = await workload();
    if (bytes !== undefined) {
      console.log(`  ${result.group} (coaction): ${bytes} bytes on the wire (JSON length of the message)`);
    }
    return result;
  };
}

export function workloads() {
  return [callRoundTripMemory, toggle10k, resync10k, snapshot10k, fanout8].map(reported);
}
