// Peer benchmarks for the atom and store crates: Jotai (vanilla store) and Zustand 5.
//
// Usage: node run.mjs [out.json]
//
// Every workload is timed one iteration per sample with process.hrtime.bigint().
// The harness warms up first, estimates the cost of one iteration, and then
// picks a sample count so the measured part lasts roughly TARGET_MS.

import { readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { atom, createStore as createJotaiStore } from 'jotai/vanilla';
import { atomFamily } from 'jotai-family';
import { createStore as createZustandStore } from 'zustand/vanilla';
import { subscribeWithSelector } from 'zustand/middleware';

const require = createRequire(import.meta.url);
const versions = {
  jotai: require('jotai/package.json').version,
  jotaiFamily: require('jotai-family/package.json').version,
  zustand: require('zustand/package.json').version,
};

const WARMUP_MS = 500;
const TARGET_MS = 2000;
const MIN_WARMUP_RUNS = 2;
const MIN_SAMPLES = 5;
const MAX_SAMPLES = 50_000;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

function timeOnce(iteration, setup) {
  const ctx = setup ? setup() : undefined;
  const start = process.hrtime.bigint();
  iteration(ctx);
  const end = process.hrtime.bigint();
  return Number(end - start);
}

function median(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs one workload.
 * `iteration(ctx)` is the timed body; `setup()` (optional) runs untimed before
 * each iteration and its return value is passed in as `ctx`.
 */
function bench({ group, library, iteration, setup }) {
  // Warm-up: let the JIT settle and estimate the per-iteration cost.
  const warmup = [];
  const warmStart = process.hrtime.bigint();
  while (
    warmup.length < MIN_WARMUP_RUNS ||
    Number(process.hrtime.bigint() - warmStart) < WARMUP_MS * 1e6
  ) {
    warmup.push(timeOnce(iteration, setup));
  }
  const recent = warmup.slice(Math.floor(warmup.length / 2)).sort((a, b) => a - b);
  const estimate = Math.max(median(recent), 1);
  const samples = Math.min(
    MAX_SAMPLES,
    Math.max(MIN_SAMPLES, Math.round((TARGET_MS * 1e6) / estimate)),
  );

  const times = new Array(samples);
  for (let s = 0; s < samples; s++) {
    times[s] = timeOnce(iteration, setup);
  }
  times.sort((a, b) => a - b);
  return {
    group,
    library,
    median_ns: median(times),
    min_ns: times[0],
    samples,
    warmup_runs: warmup.length,
  };
}

// ---------------------------------------------------------------------------
// Jotai workloads
// ---------------------------------------------------------------------------

const SETS_PER_ITER = 100_000;

function atomBaseDerivedSub() {
  const store = createJotaiStore();
  // Start outside 0..N-1 so that the first write of every iteration changes the value.
  const base = atom(-1);
  const derived = atom((get) => get(base) * 2);
  let calls = 0;
  let sum = 0;
  let last = 0;
  store.sub(derived, () => {
    last = store.get(derived);
    sum += last;
    calls += 1;
  });

  const iteration = () => {
    for (let i = 0; i < SETS_PER_ITER; i++) {
      store.set(base, i);
    }
  };

  // One untimed verification pass.
  iteration();
  check(calls === SETS_PER_ITER, `listener ran ${calls} times, expected ${SETS_PER_ITER}`);
  check(last === (SETS_PER_ITER - 1) * 2, `last derived value ${last}`);
  check(sum === SETS_PER_ITER * (SETS_PER_ITER - 1), `accumulated sum ${sum}`);

  let iterations = 1;
  const result = bench({
    group: 'atom_base_derived_sub_100k',
    library: 'jotai',
    iteration: () => {
      iteration();
      iterations += 1;
    },
  });
  check(calls === iterations * SETS_PER_ITER, 'listener count drifted during timing');
  return result;
}

const FANOUT = 1_000;

function atomFanout() {
  const store = createJotaiStore();
  const base = atom(0);
  const counts = new Int32Array(FANOUT);
  const seen = new Float64Array(FANOUT);
  for (let k = 0; k < FANOUT; k++) {
    const derived = atom((get) => get(base) + k);
    store.sub(derived, () => {
      seen[k] = store.get(derived);
      counts[k] += 1;
    });
  }

  let next = 0;
  let writes = 0;
  const iteration = () => {
    next += 1;
    store.set(base, next);
    writes += 1;
  };

  // Untimed verification write.
  iteration();
  for (let k = 0; k < FANOUT; k++) {
    check(counts[k] === 1, `fan-out listener ${k} ran ${counts[k]} times after one write`);
    check(seen[k] === next + k, `fan-out listener ${k} saw ${seen[k]}`);
  }

  const result = bench({ group: 'atom_fanout_1000', library: 'jotai', iteration });
  for (let k = 0; k < FANOUT; k++) {
    check(counts[k] === writes, `fan-out listener ${k} ran ${counts[k]} times for ${writes} writes`);
    check(seen[k] === next + k, `fan-out listener ${k} saw ${seen[k]} at the end`);
  }
  return result;
}

const FAMILY_SIZE = 10_000;

function atomFamilyLookup() {
  const family = atomFamily((id) => atom(id));
  const first = new Array(FAMILY_SIZE);
  for (let id = 0; id < FAMILY_SIZE; id++) {
    first[id] = family(id);
  }

  let mismatches = 0;
  const iteration = () => {
    for (let id = 0; id < FAMILY_SIZE; id++) {
      if (family(id) !== first[id]) {
        mismatches += 1;
      }
    }
  };

  iteration();
  check(mismatches === 0, 'family lookup returned a different atom than the first lookup');
  const result = bench({ group: 'atom_family_lookup_10k', library: 'jotai', iteration });
  check(mismatches === 0, 'family lookup returned a different atom during timing');
  check([...family.getParams()].length === FAMILY_SIZE, 'family grew during lookups');
  return result;
}

function atomFamilyCreate() {
  let lastFamily = null;
  const setup = () => atomFamily((id) => atom(id));
  const iteration = (family) => {
    for (let id = 0; id < FAMILY_SIZE; id++) {
      family(id);
    }
    lastFamily = family;
  };

  const probe = setup();
  iteration(probe);
  check([...probe.getParams()].length === FAMILY_SIZE, 'family does not hold every created id');
  check(probe(FAMILY_SIZE - 1) === probe(FAMILY_SIZE - 1), 'family lookup is not stable');

  const result = bench({ group: 'atom_family_create_10k', library: 'jotai', iteration, setup });
  check([...lastFamily.getParams()].length === FAMILY_SIZE, 'last family has the wrong size');
  return result;
}

// ---------------------------------------------------------------------------
// Zustand workloads
// ---------------------------------------------------------------------------

function storeSetState() {
  const store = createZustandStore(() => ({ count: -1 }));
  let calls = 0;
  let sum = 0;
  store.subscribe((state) => {
    sum += state.count;
    calls += 1;
  });

  const iteration = () => {
    for (let i = 0; i < SETS_PER_ITER; i++) {
      store.setState({ count: i });
    }
  };

  iteration();
  check(calls === SETS_PER_ITER, `listener ran ${calls} times, expected ${SETS_PER_ITER}`);
  check(sum === (SETS_PER_ITER * (SETS_PER_ITER - 1)) / 2, `accumulated sum ${sum}`);
  check(store.getState().count === SETS_PER_ITER - 1, 'final count is wrong');

  let iterations = 1;
  const result = bench({
    group: 'store_set_state_100k',
    library: 'zustand',
    iteration: () => {
      iteration();
      iterations += 1;
    },
  });
  check(calls === iterations * SETS_PER_ITER, 'listener count drifted during timing');
  return result;
}

const FIELDS = 1_000;
const UPDATES_PER_ITER = 1_000;

function storeSelectors() {
  const initial = {};
  for (let k = 0; k < FIELDS; k++) {
    initial[`f${k}`] = k;
  }
  const store = createZustandStore(subscribeWithSelector(() => ({ ...initial })));

  const fired = new Int32Array(FIELDS);
  let lastF0 = 0;
  for (let k = 0; k < FIELDS; k++) {
    const key = `f${k}`;
    store.subscribe(
      (s) => s[key],
      (value) => {
        if (k === 0) lastF0 = value;
        fired[k] += 1;
      },
    );
  }

  // f0 starts at 0; x only grows, so every update changes f0.
  let x = 0;
  let iterations = 0;
  const iteration = () => {
    for (let u = 0; u < UPDATES_PER_ITER; u++) {
      x += 1;
      store.setState({ f0: x });
    }
    iterations += 1;
  };

  const verify = (when) => {
    check(
      fired[0] === iterations * UPDATES_PER_ITER,
      `f0 listener ran ${fired[0]} times ${when}, expected ${iterations * UPDATES_PER_ITER}`,
    );
    check(lastF0 === x, `f0 listener saw ${lastF0} ${when}, expected ${x}`);
    for (let k = 1; k < FIELDS; k++) {
      check(fired[k] === 0, `listener for f${k} fired ${fired[k]} times ${when}`);
    }
  };

  iteration();
  verify('after the first iteration');
  const result = bench({ group: 'store_selectors_1000', library: 'zustand', iteration });
  verify('after timing');
  return result;
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

// `STATELOOM_JS_PEERS=kernel,worker` runs only those peer modules, and the Jotai and Zustand
// workloads above only if the list names `builtin`; unset, everything runs.
const only = process.env.STATELOOM_JS_PEERS?.split(',').filter(Boolean);

const workloads =
  only && !only.includes('builtin')
    ? []
    : [atomBaseDerivedSub, atomFanout, atomFamilyLookup, atomFamilyCreate, storeSetState, storeSelectors];

// ---------------------------------------------------------------------------
// Peers in `peers/`: one module per crate. Each exports `versions` (package name to version)
// and `workloads({ bench, check })`, returning functions that each return one `bench` result.
// ---------------------------------------------------------------------------

const peersDir = new URL('./peers/', import.meta.url);
let peerFiles = [];
try {
  peerFiles = readdirSync(peersDir)
    .filter((name) => name.endsWith('.mjs'))
    .filter((name) => !only || only.includes(name.slice(0, -'.mjs'.length)))
    .sort();
} catch (error) {
  if (error.code !== 'ENOENT') throw error;
}
for (const file of peerFiles) {
  const peer = await import(new URL(file, peersDir));
  Object.assign(versions, peer.versions);
  workloads.push(...peer.workloads({ bench, check }));
}

function formatNs(ns) {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(3)} µs`;
  return `${ns.toFixed(0)} ns`;
}

function printTable(results) {
  const rows = [
    ['group', 'library', 'median', 'min', 'samples'],
    ...results.map((r) => [r.group, r.library, formatNs(r.median_ns), formatNs(r.min_ns), String(r.samples)]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row) =>
    row.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));
}

async function main() {
  const outPath = process.argv[2];
  const packages = Object.entries(versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  console.log(`node ${process.version}, ${packages}`);
  console.log('');

  const results = [];
  for (const workload of workloads) {
    // A peer's workload may be asynchronous (it awaits settling promises).
    const r = await workload();
    results.push(r);
    console.log(`  ${r.group} (${r.library}): median ${formatNs(r.median_ns)}, ${r.samples} samples`);
  }
  console.log('');
  printTable(results);

  if (outPath) {
    const report = {
      node: process.version,
      ...versions,
      results: results.map(({ group, library, median_ns, samples }) => ({
        group,
        library,
        median_ns,
        samples,
      })),
    };
    writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
    console.log('');
    console.log(`wrote ${outPath}`);
  }
}

await main();
