// The two kernel peers, alien-signals and Preact signals, reduced to the operations the kernel
// workloads use (the JavaScript side of `benches/src/framework.rs`), and the helpers the
// workloads share.
//
// Every library entry has:
// - `signal(value)`: `{ read, write }`, a reading function and a writing function;
// - `computed(fn)`: a reading function;
// - `effect(fn)`: runs `fn` now and after anything it read changed; `fn` must return
//   `undefined` (both libraries treat a returned value as a clean-up);
// - `batch(fn)`: runs `fn` as one batch and the effects it scheduled before returning;
// - `root(fn)`: runs `fn` under a new owner and returns `{ value, dispose }`, where `dispose`
//   stops every effect created under it.

import * as alien from 'alien-signals';
import * as preact from '@preact/signals-core';

// The effect disposers of the Preact root being built: Preact has no owner of its own, so a
// root is the list of disposers of the effects created under it.
let preactOwner;

export const LIBRARIES = [
  {
    library: 'alien_signals_v8',
    signal(value) {
      const s = alien.signal(value);
      return { read: s, write: (v) => s(v) };
    },
    computed: (fn) => alien.computed(fn),
    effect(fn) {
      // The enclosing effect scope, if any, owns the effect.
      alien.effect(fn);
    },
    batch(fn) {
      alien.startBatch();
      try {
        fn();
      } finally {
        alien.endBatch();
      }
    },
    root(fn) {
      let value;
      const dispose = alien.effectScope(() => {
        value = fn();
      });
      return { value, dispose };
    },
  },
  {
    library: 'preact_signals_v8',
    signal(value) {
      const s = preact.signal(value);
      return {
        read: () => s.value,
        write: (v) => {
          s.value = v;
        },
      };
    },
    computed(fn) {
      const c = preact.computed(fn);
      return () => c.value;
    },
    effect(fn) {
      const dispose = preact.effect(fn);
      if (preactOwner !== undefined) {
        preactOwner.push(dispose);
      }
    },
    batch: (fn) => preact.batch(fn),
    root(fn) {
      const outer = preactOwner;
      const disposers = [];
      preactOwner = disposers;
      let value;
      try {
        value = fn();
      } finally {
        preactOwner = outer;
      }
      return {
        value,
        dispose() {
          for (const dispose of disposers) {
            dispose();
          }
        },
      };
    },
  },
];

/** Throws unless `actual === expected` when `check` is set (the timed runs pass `false`). */
export function expect(check, actual, expected, what) {
  if (check && actual !== expected) {
    throw new Error(`check failed: ${what}: got ${actual}, expected ${expected}`);
  }
}

// Where `busy` leaves its result, so that the optimiser cannot drop the loop.
let sink = 0;

/** Spins for a hundred additions, like upstream's `busy()` (`benches/src/framework.rs`). */
export function busy() {
  let a = sink;
  for (let i = 0; i < 100; i++) {
    a = (a + 1) | 0;
  }
  sink = a;
}
