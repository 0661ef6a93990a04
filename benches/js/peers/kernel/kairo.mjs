// The kairo workloads of js-reactivity-benchmark, as ported in `benches/src/workloads/*.rs`
// (`avoidable.rs`, `broad.rs`, `deep.rs`, `diamond.rs`, `mux.rs`, `repeated.rs`,
// `triangle.rs`, `unstable.rs`). Each builds the same graph under a root and returns
// `{ iter(check), dispose }`, where one `iter` is the Rust `Steady::iter`: the same writes, each
// in its own batch, the same reads, and with `check` the same assertions.

import { busy, expect } from './libraries.mjs';

// `kairo_avoidable`: head → c1 → c2 (always 0) → c3 (busy) → c4 → c5 → effect (busy).
// 1001 writes; c5 is 6 after each.
function avoidable(lib) {
  const { value, dispose } = lib.root(() => {
    const head = lib.signal(0);
    const h = head.read;
    const c1 = lib.computed(() => h());
    const c2 = lib.computed(() => {
      c1();
      return 0;
    });
    const c3 = lib.computed(() => {
      busy();
      return c2() + 1;
    });
    const c4 = lib.computed(() => c3() + 2);
    const c5 = lib.computed(() => c4() + 3);
    lib.effect(() => {
      c5();
      busy();
    });
    return { head, c5 };
  });
  const { head, c5 } = value;
  return {
    dispose,
    iter(check) {
      lib.batch(() => head.write(1));
      expect(check, c5(), 6, 'c5 after writing 1');
      for (let i = 0; i < 1000; i++) {
        lib.batch(() => head.write(i));
        expect(check, c5(), 6, 'c5');
      }
    },
  };
}

// `kairo_broad`: 50 chains a_i = head + i, b_i = a_i + 1, each with an effect. 51 writes,
// the last b read after each of the last 50, and 50 × 50 effect runs.
function broad(lib) {
  const WIDTH = 50;
  const counter = { runs: 0 };
  const { value, dispose } = lib.root(() => {
    const head = lib.signal(0);
    const h = head.read;
    let last;
    for (let i = 0; i < WIDTH; i++) {
      const current = lib.computed(() => h() + i);
      const current2 = lib.computed(() => current() + 1);
      lib.effect(() => {
        current2();
        counter.runs++;
      });
      last = current2;
    }
    return { head, last };
  });
  const { head, last } = value;
  return {
    dispose,
    iter(check) {
      lib.batch(() => head.write(1));
      counter.runs = 0;
      for (let i = 0; i < WIDTH; i++) {
        lib.batch(() => head.write(i));
        expect(check, last(), i + 50, 'last');
      }
      expect(check, counter.runs, WIDTH * WIDTH, 'effect runs');
    },
  };
}

// `kairo_deep`: a chain of 50 computeds `+ 1` with an effect at the end. 51 writes, the tail
// read after each of the last 50, and 50 effect runs.
function deep(lib) {
  const LEN = 50;
  const WRITES = 50;
  const counter = { runs: 0 };
  const { value, dispose } = lib.root(() => {
    const head = lib.signal(0);
    const h = head.read;
    let tail = lib.computed(() => h() + 1);
    for (let k = 1; k < LEN; k++) {
      const prev = tail;
      tail = lib.computed(() => prev() + 1);
    }
    const end = tail;
    lib.effect(() => {
      end();
      counter.runs++;
    });
    return { head, tail: end };
  });
  const { head, tail } = value;
  return {
    dispose,
    iter(check) {
      lib.batch(() => head.write(1));
      counter.runs = 0;
      for (let i = 0; i < WRITES; i++) {
        lib.batch(() => head.write(i));
        expect(check, tail(), LEN + i, 'tail');
      }
      expect(check, counter.runs, WRITES, 'effect runs');
    },
  };
}

// `kairo_diamond`: five computeds head + 1 joined in a sum with an effect. 501 writes, the sum
// read after each, and 500 effect runs for the last 500.
function diamond(lib) {
  const WIDTH = 5;
  const WRITES = 500;
  const counter = { runs: 0 };
  const { value, dispose } = lib.root(() => {
    const head = lib.signal(0);
    const h = head.read;
    const current = [];
    for (let k = 0; k < WIDTH; k++) {
      current.push(lib.computed(() => h() + 1));
    }
    const sum = lib.computed(() => {
      let total = 0;
      for (const c of current) {
        total += c();
      }
      return total;
    });
    lib.effect(() => {
      sum();
      counter.runs++;
    });
    return { head, sum };
  });
  const { head, sum } = value;
  return {
    dispose,
    iter(check) {
      lib.batch(() => head.write(1));
      expect(check, sum(), 2 * WIDTH, 'sum after writing 1');
      counter.runs = 0;
      for (let i = 0; i < WRITES; i++) {
        lib.batch(() => head.write(i));
        expect(check, sum(), (i + 1) * WIDTH, 'sum');
      }
      expect(check, counter.runs, WRITES, 'effect runs');
    },
  };
}

// `kairo_mux`: 100 signals gathered into one computed array (a new array on each change, like
// upstream's object and the Rust `Arc<[i64]>`), split into x_k = mux[k], y_k = x_k + 1, each y
// with an effect. 20 writes to h_0..h_9 (first i, then 2 i), the matching y read after each.
function mux(lib) {
  const WIDTH = 100;
  const WRITES = 10;
  const { value, dispose } = lib.root(() => {
    const heads = [];
    for (let k = 0; k < WIDTH; k++) {
      heads.push(lib.signal(0));
    }
    const reads = heads.map((s) => s.read);
    const record = lib.computed(() => {
      const values = new Array(WIDTH);
      for (let k = 0; k < WIDTH; k++) {
        values[k] = reads[k]();
      }
      return values;
    });
    const split = [];
    for (let index = 0; index < WIDTH; index++) {
      const x = lib.computed(() => record()[index]);
      split.push(lib.computed(() => x() + 1));
    }
    for (const y of split) {
      lib.effect(() => {
        y();
      });
    }
    return { heads, split };
  });
  const { heads, split } = value;
  return {
    dispose,
    iter(check) {
      for (let i = 0; i < WRITES; i++) {
        const head = heads[i];
        lib.batch(() => head.write(i));
        expect(check, split[i](), i + 1, 'split after i');
      }
      for (let i = 0; i < WRITES; i++) {
        const head = heads[i];
        lib.batch(() => head.write(2 * i));
        expect(check, split[i](), 2 * i + 1, 'split after 2 i');
      }
    },
  };
}

// `kairo_repeated`: one computed reading head 30 times, with an effect. 101 writes, the
// computed read after each, and 100 effect runs for the last 100.
function repeated(lib) {
  const SIZE = 30;
  const WRITES = 100;
  const counter = { runs: 0 };
  const { value, dispose } = lib.root(() => {
    const head = lib.signal(0);
    const h = head.read;
    const current = lib.computed(() => {
      let result = 0;
      for (let k = 0; k < SIZE; k++) {
        result += h();
      }
      return result;
    });
    lib.effect(() => {
      current();
      counter.runs++;
    });
    return { head, current };
  });
  const { head, current } = value;
  return {
    dispose,
    iter(check) {
      lib.batch(() => head.write(1));
      expect(check, current(), SIZE, 'current after writing 1');
      counter.runs = 0;
      for (let i = 0; i < WRITES; i++) {
        lib.batch(() => head.write(i));
        expect(check, current(), i * SIZE, 'current');
      }
      expect(check, counter.runs, WRITES, 'effect runs');
    },
  };
}

// `kairo_triangle`: a chain c_1..c_10 of `+ 1` computeds (c_10 created, never read) and a sum
// of head and c_1..c_9, with an effect. 101 writes, the sum read after each, and 100 effect
// runs for the last 100.
function triangle(lib) {
  const WIDTH = 10;
  const WRITES = 100;
  const CONSTANT = (WIDTH * (WIDTH + 1)) / 2;
  const counter = { runs: 0 };
  const { value, dispose } = lib.root(() => {
    const head = lib.signal(0);
    const h = head.read;
    const list = [];
    let current = lib.computed(() => h() + 1);
    for (let k = 1; k < WIDTH; k++) {
      list.push(current);
      const prev = current;
      current = lib.computed(() => prev() + 1);
    }
    const sum = lib.computed(() => {
      let total = h();
      for (const c of list) {
        total += c();
      }
      return total;
    });
    lib.effect(() => {
      sum();
      counter.runs++;
    });
    return { head, sum };
  });
  const { head, sum } = value;
  return {
    dispose,
    iter(check) {
      lib.batch(() => head.write(1));
      expect(check, sum(), CONSTANT, 'sum after writing 1');
      counter.runs = 0;
      for (let i = 0; i < WRITES; i++) {
        lib.batch(() => head.write(i));
        expect(check, sum(), CONSTANT - WIDTH + i * WIDTH, 'sum');
      }
      expect(check, counter.runs, WRITES, 'effect runs');
    },
  };
}

// `kairo_unstable`: a computed reading either 2 head or -head, 20 times, depending on whether
// head is odd, with an effect. 101 writes and 100 effect runs for the last 100; the value is
// checked after the first write and at the end (head = 99), as in the Rust port.
function unstable(lib) {
  const READS = 20;
  const WRITES = 100;
  const expected = (head) => (head % 2 !== 0 ? READS * 2 * head : -READS * head);
  const counter = { runs: 0 };
  const { value, dispose } = lib.root(() => {
    const head = lib.signal(0);
    const h = head.read;
    const double = lib.computed(() => h() * 2);
    const inverse = lib.computed(() => -h());
    const current = lib.computed(() => {
      let result = 0;
      for (let k = 0; k < READS; k++) {
        result += h() % 2 !== 0 ? double() : inverse();
      }
      return result;
    });
    lib.effect(() => {
      current();
      counter.runs++;
    });
    return { head, current };
  });
  const { head, current } = value;
  return {
    dispose,
    iter(check) {
      lib.batch(() => head.write(1));
      expect(check, current(), expected(1), 'current after writing 1');
      counter.runs = 0;
      for (let i = 0; i < WRITES; i++) {
        lib.batch(() => head.write(i));
      }
      expect(check, counter.runs, WRITES, 'effect runs');
      expect(check, current(), expected(WRITES - 1), 'current');
    },
  };
}

/** The kairo groups, in the order of `propagation_groups` in `benches/src/workloads.rs`. */
export const WORKLOADS = [
  { group: 'kairo_avoidable', build: avoidable },
  { group: 'kairo_broad', build: broad },
  { group: 'kairo_deep', build: deep },
  { group: 'kairo_diamond', build: diamond },
  { group: 'kairo_mux', build: mux },
  { group: 'kairo_repeated', build: repeated },
  { group: 'kairo_triangle', build: triangle },
  { group: 'kairo_unstable', build: unstable },
];
