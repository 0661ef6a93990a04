// LiveStore 0.4, the peer of the bridge benches (`benches/benches/bridge.rs`), in the groups
// of the Rust bench. It runs in a child process from its own project, `livestore/`
// (installed by this project's `postinstall`): LiveStore pins Effect packages that conflict
// with those of `@effect-atom/atom` here, and its leader goes on persisting the timed
// commits long after they return, which would slow the peers measured after it.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const child = new URL('./livestore/bench.mjs', import.meta.url);
const livestorePackage = new URL('./livestore/node_modules/@livestore/livestore/package.json', import.meta.url);

export const versions = {
  livestore: JSON.parse(readFileSync(livestorePackage, 'utf8')).version,
};

const GROUPS = ['bridge_commit_1', 'bridge_commit_batch_10k', 'bridge_commit_to_callback', 'bridge_queries_100'];

export function workloads({ check }) {
  let results = null;
  const run = () => {
    if (results === null) {
      const out = execFileSync(process.execPath, [child.pathname], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 20,
      });
      results = JSON.parse(out.trim().split('\n').pop()).results;
      check(results.length === GROUPS.length, 'the child timed every group');
    }
    return results;
  };
  return GROUPS.map((group) => () => {
    const result = run().find((r) => r.group === group);
    check(result !== undefined && result.median_ns > 0, `the child timed ${group}`);
    return result;
  });
}
