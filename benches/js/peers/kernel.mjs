// Peer of the kernel suite (`benches/benches/core_propagation.rs` and `core_creation.rs`):
// alien-signals and Preact signals on V8, on every kernel workload, with the group names and the
// per-iteration work of the Rust workloads in `benches/src/workloads/`.
//
// The workloads live in `kernel/`, one module per Rust workload file; this module runs them:
// - a steady workload (kairo, dynamic graphs) is built once, checked once, timed one `iter` per
//   sample (as criterion's `iter`), checked again and disposed;
// - a batched workload (cellx, creation) gets a fresh input from an untimed `setup` for every
//   sample and times `routine` on it (as criterion's `iter_batched` with `PerIteration`); the
//   output of each run is checked and disposed untimed, before the next run's setup.

import { readFileSync } from 'node:fs';

import { LIBRARIES } from './kernel/libraries.mjs';

// Read from the installed packages: neither exports its `package.json`.
function installedVersion(name) {
  const path = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(path, 'utf8')).version;
}

export const versions = {
  alienSignals: installedVersion('alien-signals'),
  preactSignalsCore: installedVersion('@preact/signals-core'),
};

// Prefixes a failed check with the group and library it failed in.
function named(group, lib, f) {
  try {
    return f();
  } catch (error) {
    error.message = `${group} ${lib.library}: ${error.message}`;
    throw error;
  }
}

function steady(bench, workload, lib) {
  return () =>
    named(workload.group, lib, () => {
      const instance = workload.build(lib);
      instance.iter(true);
      const result = bench({
        group: workload.group,
        library: lib.library,
        iteration: () => instance.iter(false),
      });
      instance.iter(true);
      instance.dispose();
      return result;
    });
}

function batched(bench, workload, lib) {
  return () =>
    named(workload.group, lib, () => {
      // The output of the last timed run, checked and disposed before the next setup.
      let pending;
      const finish = () => {
        if (pending !== undefined) {
          const output = pending;
          pending = undefined;
          workload.check(output);
          workload.dispose(output);
        }
      };
      pending = workload.routine(lib, workload.setup(lib));
      finish();
      const result = bench({
        group: workload.group,
        library: lib.library,
        setup: () => {
          finish();
          return workload.setup(lib);
        },
        iteration: (input) => {
          pending = workload.routine(lib, input);
        },
      });
      finish();
      return result;
    });
}

// The workload modules, in the order of `propagation_groups`, then `creation_groups`, in
// `benches/src/workloads.rs`.
const MODULES = ['kairo', 'cellx', 'dynamic', 'creation'];

// Each library gets its own instance of the workload modules (the query makes a distinct module
// URL), so V8's type feedback and inlining decisions for one library's graphs never mix with the
// other's, as the Rust workloads are monomorphised per library.
const PER_LIBRARY = await Promise.all(
  LIBRARIES.map(async (lib) => {
    const groups = [];
    for (const name of MODULES) {
      const module = await import(`./kernel/${name}.mjs?library=${lib.library}`);
      groups.push(...module.WORKLOADS);
    }
    return groups;
  }),
);

export function workloads({ bench }) {
  const all = [];
  for (let g = 0; g < PER_LIBRARY[0].length; g++) {
    LIBRARIES.forEach((lib, l) => {
      const workload = PER_LIBRARY[l][g];
      if (workload.group !== PER_LIBRARY[0][g].group) {
        throw new Error(`kernel workloads out of order: ${workload.group} for ${lib.library}`);
      }
      const run = workload.build ? steady : batched;
      all.push(run(bench, workload, lib));
    });
  }
  return all;
}
