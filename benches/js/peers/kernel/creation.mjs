// The creation groups, as ported in `benches/src/workloads/creation.rs`: the cost of making
// nodes, linking them and, for `create_dispose`, freeing them.
//
// Every timed run creates its nodes under a fresh root (an effect scope in alien-signals, a
// list of effect disposers in Preact). That root is disposed after the run, untimed, except in
// `create_dispose`, where disposal is the point and is timed. Sources that a case only reads
// are made in the untimed `setup` under their own root.

const COMPUTEDS_1SRC = 10_000;
const COMPUTEDS_8SRC = 1_000;
const SOURCES_8SRC = 1_000;
const FAN_IN = 8;
const DISPOSE_SIZE = 1_000;

const triangular = (n) => (n * (n - 1)) / 2;

function fail(what, actual, expected) {
  throw new Error(`check failed: ${what}: got ${actual}, expected ${expected}`);
}

function makeSources(lib, n) {
  return lib.root(() => {
    const signals = [];
    for (let i = 0; i < n; i++) {
      signals.push(lib.signal(i));
    }
    return signals;
  });
}

// `create_signals_1k`, `create_signals_10k`: n signals holding 0..n.
function createSignals(n) {
  return {
    group: n === 1000 ? 'create_signals_1k' : `create_signals_${n / 1000}k`,
    setup() {},
    routine: (lib) => makeSources(lib, n),
    check({ value }) {
      let sum = 0;
      for (const s of value) {
        sum += s.read();
      }
      if (value.length !== n || sum !== triangular(n)) {
        const expected = `${n} summing to ${triangular(n)}`;
        fail('signal values', `${value.length} signals summing to ${sum}`, expected);
      }
    },
    dispose(root) {
      root.dispose();
    },
  };
}

// The computeds of a run and the sources they read, each under its own root.
function checkComputeds({ computeds }, expected) {
  let sum = 0;
  for (const c of computeds.value) {
    sum += c();
  }
  if (sum !== expected) {
    fail('computed values', sum, expected);
  }
}

function disposeComputeds({ computeds, sources }) {
  computeds.dispose();
  sources.dispose();
}

// `create_computeds_10k_1src`: 10,000 computeds s_i + 1, one per source signal, each read once
// so that it links to its source.
const createComputeds = {
  group: 'create_computeds_10k_1src',
  setup: (lib) => makeSources(lib, COMPUTEDS_1SRC),
  routine(lib, sources) {
    const signals = sources.value;
    const computeds = lib.root(() => {
      const out = [];
      for (const s of signals) {
        const read = s.read;
        const c = lib.computed(() => read() + 1);
        c();
        out.push(c);
      }
      return out;
    });
    return { computeds, sources };
  },
  check: (output) => checkComputeds(output, triangular(COMPUTEDS_1SRC) + COMPUTEDS_1SRC),
  dispose: disposeComputeds,
};

// `create_computeds_8src`: 1,000 computeds, computed i summing sources (8 i + k) % 1000 for k
// in 0..8 (every source is read by 8 computeds), each read once.
const createComputeds8 = {
  group: 'create_computeds_8src',
  setup: (lib) => makeSources(lib, SOURCES_8SRC),
  routine(lib, sources) {
    const signals = sources.value;
    const computeds = lib.root(() => {
      const out = [];
      for (let i = 0; i < COMPUTEDS_8SRC; i++) {
        const reads = [];
        for (let k = 0; k < FAN_IN; k++) {
          reads.push(signals[(i * FAN_IN + k) % SOURCES_8SRC].read);
        }
        const c = lib.computed(() => {
          let sum = 0;
          for (const read of reads) {
            sum += read();
          }
          return sum;
        });
        c();
        out.push(c);
      }
      return out;
    });
    return { computeds, sources };
  },
  check: (output) => checkComputeds(output, FAN_IN * triangular(SOURCES_8SRC)),
  dispose: disposeComputeds,
};

// `create_dispose`: a root with 1,000 signals, 1,000 computeds s_i + 1 and 1,000 effects
// reading them (each effect runs once), then disposed, all timed.
const createDispose = {
  group: 'create_dispose',
  setup() {},
  routine(lib) {
    const counter = { runs: 0 };
    const root = lib.root(() => {
      for (let i = 0; i < DISPOSE_SIZE; i++) {
        const read = lib.signal(i).read;
        const c = lib.computed(() => read() + 1);
        lib.effect(() => {
          c();
          counter.runs++;
        });
      }
    });
    root.dispose();
    return counter.runs;
  },
  check(runs) {
    if (runs !== DISPOSE_SIZE) {
      fail('effect runs', runs, DISPOSE_SIZE);
    }
  },
  dispose() {},
};

/** The creation groups, in the order of `creation_groups` in `benches/src/workloads.rs`. */
export const WORKLOADS = [
  createSignals(1000),
  createSignals(10_000),
  createComputeds,
  createComputeds8,
  createDispose,
];
