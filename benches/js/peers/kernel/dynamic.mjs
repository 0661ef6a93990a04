// The dynamic-graph workloads, as ported in `benches/src/workloads/dynamic.rs`: the five
// dynamic-graph configurations of js-reactivity-benchmark, with upstream's checks (the sum of
// the read leaves and the number of computed runs per run).
//
// The graph is built once; two untimed runs warm it up, as upstream does, and each `iter` is one
// run (the writes and reads of `iterations` steps, then the sum).

import { expect } from './libraries.mjs';

// Upstream's configurations, in the order of `CONFIGS` in dynamic.rs.
const CONFIGS = [
  { group: 'dyn_simple_component', width: 10, layers: 5, staticFraction: 1, sources: 2, readFraction: 0.2, iterations: 600_000, sum: 19_199_968, count: 3_480_000 },
  { group: 'dyn_dynamic_component', width: 10, layers: 10, staticFraction: 3 / 4, sources: 6, readFraction: 0.2, iterations: 15_000, sum: 302_310_782_860, count: 1_155_000 },
  { group: 'dyn_large_web_app', width: 1000, layers: 12, staticFraction: 0.95, sources: 4, readFraction: 1, iterations: 7000, sum: 29_355_933_696_000, count: 1_463_000 },
  { group: 'dyn_wide_dense', width: 1000, layers: 5, staticFraction: 1, sources: 25, readFraction: 1, iterations: 3000, sum: 1_171_484_375_000, count: 732_000 },
  { group: 'dyn_very_dynamic', width: 100, layers: 15, staticFraction: 0.5, sources: 6, readFraction: 1, iterations: 2000, sum: 15_664_996_402_790_400, count: 1_078_000 },
];

// Upstream's generator: sfc32 seeded with four outputs of the xmur3a hash of the seed.
function seeded(seed) {
  let h = 2166136261 >>> 0;
  for (let i = 0; i < seed.length; i++) {
    let k = Math.imul(seed.charCodeAt(i), 3432918353);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 461845907);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 3864292196) | 0;
  }
  h ^= seed.length;
  const next = () => {
    h ^= h >>> 16;
    h = Math.imul(h, 2246822507);
    h ^= h >>> 13;
    h = Math.imul(h, 3266489909);
    h ^= h >>> 16;
    return h >>> 0;
  };
  let a = next();
  let b = next();
  let c = next();
  let d = next();
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

function makeGraph(lib, config, counter) {
  const random = seeded('seed');
  const sources = [];
  for (let i = 0; i < config.width; i++) {
    sources.push(lib.signal(i));
  }
  let row = sources.map((s) => s.read);
  for (let layer = 1; layer < config.layers; layer++) {
    const above = row;
    row = above.map((_, j) => {
      const mine = [];
      for (let k = 0; k < config.sources; k++) {
        mine.push(above[(j + k) % above.length]);
      }
      if (random() < config.staticFraction) {
        return lib.computed(() => {
          counter.count++;
          let sum = 0;
          for (const read of mine) {
            sum += read();
          }
          return sum;
        });
      }
      const first = mine[0];
      const tail = mine.slice(1);
      return lib.computed(() => {
        counter.count++;
        let sum = first();
        const drop = sum & 0x1;
        const skip = sum % tail.length;
        for (let i = 0; i < tail.length; i++) {
          if (drop && i === skip) continue;
          sum += tail[i]();
        }
        return sum;
      });
    });
  }
  const pick = seeded('seed');
  const leaves = row.slice();
  const skip = Math.round(leaves.length * (1 - config.readFraction));
  for (let i = 0; i < skip; i++) {
    leaves.splice(Math.floor(pick() * leaves.length), 1);
  }
  lib.effect(() => {
    for (const leaf of leaves) {
      leaf();
    }
  });
  return { sources, leaves };
}

function runGraph(lib, graph, iterations) {
  const { sources, leaves } = graph;
  for (let i = 0; i < iterations; i++) {
    const at = i % sources.length;
    lib.batch(() => sources[at].write(i + at));
    for (const leaf of leaves) {
      leaf();
    }
  }
  return leaves.reduce((total, leaf) => leaf() + total, 0);
}

function dynamic(config) {
  return {
    group: config.group,
    build(lib) {
      const counter = { count: 0 };
      const { value: graph, dispose } = lib.root(() => makeGraph(lib, config, counter));
      runGraph(lib, graph, config.iterations);
      runGraph(lib, graph, config.iterations);
      return {
        dispose,
        iter(check) {
          counter.count = 0;
          const sum = runGraph(lib, graph, config.iterations);
          expect(check, sum, config.sum, 'sum of the read leaves');
          expect(check, counter.count, config.count, 'computed runs');
        },
      };
    },
  };
}

/** The dynamic-graph groups, in the order of `propagation_groups` in `benches/src/workloads.rs`. */
export const WORKLOADS = CONFIGS.map(dynamic);
