// `cellx_1000` and `cellx_2500`, as ported in `benches/src/workloads/cellx.rs`: layers of four
// computeds, each reading two nodes of the layer above, with an effect on every computed.
//
// The write is not idempotent, so every timed run gets a freshly built graph from the untimed
// `setup`. The timed `routine` reads the four end values, batch-writes (4, 3, 2, 1) to the
// start signals (running every affected effect) and reads the end values again; the graph is
// disposed untimed afterwards.

const START = [1, 2, 3, 4];
const WRITE = [4, 3, 2, 1];

// Upstream's expected end values (before, after) for 1000 and 2500 layers.
const UPSTREAM = {
  1000: [
    [-3, -6, -2, 2],
    [-2, -4, 2, 3],
  ],
  2500: [
    [-3, -6, -2, 2],
    [-2, -4, 2, 3],
  ],
};

function endValues(start, layers) {
  let [a, b, c, d] = start;
  for (let l = 0; l < layers; l++) {
    [a, b, c, d] = [b, a - c, b + d, c];
  }
  return [a, b, c, d];
}

function layer(lib, [a, b, c, d]) {
  const nodes = [
    lib.computed(() => b()),
    lib.computed(() => a() - c()),
    lib.computed(() => b() + d()),
    lib.computed(() => c()),
  ];
  for (const node of nodes) {
    lib.effect(() => {
      node();
    });
  }
  return nodes;
}

function cellx(layers) {
  const expectedBefore = endValues(START, layers);
  const expectedAfter = endValues(WRITE, layers);
  const same = (x, y) => x.length === y.length && x.every((v, k) => v === y[k]);
  return {
    group: `cellx_${layers}`,
    setup(lib) {
      const { value, dispose } = lib.root(() => {
        const start = START.map((v) => lib.signal(v));
        let end = layer(lib, start.map((s) => s.read));
        for (let l = 1; l < layers; l++) {
          end = layer(lib, end);
        }
        return { start, end };
      });
      return { ...value, dispose };
    },
    routine(lib, graph) {
      const { start, end } = graph;
      const before = [end[0](), end[1](), end[2](), end[3]()];
      lib.batch(() => {
        for (let k = 0; k < 4; k++) {
          start[k].write(WRITE[k]);
        }
      });
      const after = [end[0](), end[1](), end[2](), end[3]()];
      return { graph, before, after };
    },
    check({ before, after }) {
      if (!same(before, expectedBefore) || !same(after, expectedAfter)) {
        throw new Error(
          `check failed: end values ${before} then ${after}, ` +
            `expected ${expectedBefore} then ${expectedAfter}`,
        );
      }
      const upstream = UPSTREAM[layers];
      if (upstream && (!same(before, upstream[0]) || !same(after, upstream[1]))) {
        throw new Error(`check failed: end values ${before} then ${after} differ from upstream's`);
      }
    },
    dispose({ graph }) {
      graph.dispose();
    },
  };
}

/** The cellx groups, in the order of `propagation_groups` in `benches/src/workloads.rs`. */
export const WORKLOADS = [cellx(1000), cellx(2500)];
