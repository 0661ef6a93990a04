//! Model-based tests: random graphs of signals, computeds with dynamic branches and effects in
//! several roots, driven by random writes, batches, reads and disposals, and checked after
//! every operation against a naive evaluator that recomputes everything from the signals.
//!
//! User code calls back into the kernel: an operation can arm disposals that fire from inside
//! a computed, an effect, a cleanup or an equality function, while the kernel is committing,
//! checking dependencies, flushing or disposing. A disposed node, and everything that could
//! read it, is tainted: its values and runs are no longer compared with the oracle (a disposed
//! dependency does not notify its readers), but liveness, node and link counts and the final
//! leak check still are, and everything untainted must still match the oracle exactly.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use proptest::prelude::*;
use proptest::strategy::Union;
use stateloom_core::{
    Computed, Effect, Root, RuntimeStats, Signal, batch, computed, computed_with_equals,
    create_root, effect, on_cleanup, runtime_stats, set_retained_slots, signal, signal_with_equals,
};

// ---------------------------------------------------------------------------------------------
// The description of a graph, and the naive evaluator.
// ---------------------------------------------------------------------------------------------

/// A formula over nodes. Node indices: signals first, then computeds in creation order; a
/// computed's formula only names earlier nodes.
#[derive(Clone, Debug)]
enum Formula {
    /// The value of a node.
    Node(usize),
    Const(i64),
    Sum(Box<Formula>, Box<Formula>),
    /// `if cond % 2 == 0 { then } else { else_ }`: reads only the taken branch.
    Branch {
        cond: Box<Formula>,
        then: Box<Formula>,
        else_: Box<Formula>,
    },
    /// `a.rem_euclid(k)` with a small `k`, so equal values recur (equality cut-off).
    Mod(Box<Formula>, i64),
}

impl Formula {
    /// Evaluates the formula, reading nodes through `read`, left to right, taken branches only.
    fn eval(&self, read: &mut dyn FnMut(usize) -> i64) -> i64 {
        match self {
            Self::Node(n) => read(*n),
            Self::Const(c) => *c,
            Self::Sum(a, b) => {
                let a = a.eval(read);
                a.wrapping_add(b.eval(read))
            }
            Self::Branch { cond, then, else_ } => {
                if cond.eval(read) % 2 == 0 {
                    then.eval(read)
                } else {
                    else_.eval(read)
                }
            }
            Self::Mod(a, k) => a.eval(read).rem_euclid(*k),
        }
    }

    /// Every node the formula could read, whichever branches are taken.
    fn static_refs(&self, out: &mut Vec<usize>) {
        match self {
            Self::Node(n) => out.push(*n),
            Self::Const(_) => {}
            Self::Sum(a, b) => {
                a.static_refs(out);
                b.static_refs(out);
            }
            Self::Branch { cond, then, else_ } => {
                cond.static_refs(out);
                then.static_refs(out);
                else_.static_refs(out);
            }
            Self::Mod(a, _) => a.static_refs(out),
        }
    }
}

/// A whole graph: signals' initial values, computeds' formulas, effects' (root, formula).
#[derive(Clone, Debug)]
struct Graph {
    signals: Vec<i64>,
    computeds: Vec<Formula>,
    effects: Vec<(usize, Formula)>,
    roots: usize,
}

/// One step applied to the graph.
#[derive(Clone, Debug)]
enum Op {
    /// `signal.set(value)` outside a batch.
    Write(usize, i64),
    /// `signal.replace(value)` outside a batch: the same effect as `Write`, and it returns the
    /// previous value unless the two are equal.
    Replace(usize, i64),
    /// Writes inside one `batch`.
    Batch(Vec<BatchWrite>),
    /// Disposes an effect root (idempotent in the model: a second dispose is skipped).
    DisposeRoot(usize),
    /// `Effect::dispose` (called again on already disposed effects: it is idempotent).
    DisposeEffect(usize),
    /// An untracked top-level `get` of a computed.
    Read(usize),
    /// Runs the operation with disposals armed: each fires at the user-code site (a computed
    /// or effect run, a cleanup, an equality call) that comes after that many other sites.
    Armed(Vec<(u32, Dispose)>, Box<Op>),
}

/// A disposal made from inside user code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dispose {
    Signal(usize),
    Computed(usize),
    Effect(usize),
    /// An effect root (never the root that owns signals and computeds).
    Root(usize),
}

#[derive(Clone, Debug)]
enum BatchWrite {
    Set(usize, i64),
    /// Writes the value the signal had when the batch started.
    Restore(usize),
}

/// The naive oracle: every node's value, recomputed from scratch from the signals' values.
fn naive_values(graph: &Graph, signals: &[i64]) -> Vec<i64> {
    let mut values = signals.to_vec();
    for formula in &graph.computeds {
        let v = formula.eval(&mut |n| values[n]);
        values.push(v);
    }
    values
}

/// The (node, value) pairs a formula reads, in order, given every node's value.
fn naive_reads(formula: &Formula, values: &[i64]) -> Vec<(usize, i64)> {
    let mut reads = Vec::new();
    formula.eval(&mut |n| {
        reads.push((n, values[n]));
        values[n]
    });
    reads
}

/// Whether some recorded (node, value) pair no longer holds.
fn any_changed(pairs: &[(usize, i64)], values: &[i64]) -> bool {
    pairs.iter().any(|&(n, v)| values[n] != v)
}

fn distinct_nodes(pairs: &[(usize, i64)]) -> usize {
    let mut nodes: Vec<usize> = pairs.iter().map(|&(n, _)| n).collect();
    nodes.sort_unstable();
    nodes.dedup();
    nodes.len()
}

// ---------------------------------------------------------------------------------------------
// Disposals from inside user code.
// ---------------------------------------------------------------------------------------------

/// The handles armed actions dispose, and the actions armed and fired in this operation.
#[derive(Default)]
struct Armory {
    armed: Vec<(u32, Dispose)>,
    fired: Vec<Dispose>,
    signals: Vec<Signal<i64>>,
    computeds: Vec<Computed<i64>>,
    effects: Vec<Effect>,
    roots: Rc<RefCell<Vec<Option<Root>>>>,
}

thread_local! {
    static ARMORY: RefCell<Armory> = RefCell::new(Armory::default());
}

/// A point where user code runs: counts down the armed actions and performs the ones due.
fn site() {
    let due: Vec<Dispose> = ARMORY.with(|armory| {
        let mut armory = armory.borrow_mut();
        let mut due = Vec::new();
        armory.armed.retain_mut(|(countdown, action)| {
            if *countdown == 0 {
                due.push(*action);
                false
            } else {
                *countdown -= 1;
                true
            }
        });
        armory.fired.extend(&due);
        due
    });
    for action in due {
        perform(action);
    }
}

/// Performs a disposal, with the armory released (disposal runs cleanups, which are sites).
fn perform(action: Dispose) {
    match action {
        Dispose::Signal(i) => ARMORY.with(|a| a.borrow().signals[i]).dispose(),
        Dispose::Computed(i) => ARMORY.with(|a| a.borrow().computeds[i]).dispose(),
        Dispose::Effect(i) => ARMORY.with(|a| a.borrow().effects[i]).dispose(),
        Dispose::Root(r) => {
            let roots = ARMORY.with(|a| a.borrow().roots.clone());
            let root = roots.borrow_mut()[r].take();
            if let Some(root) = root {
                root.dispose();
            }
        }
    }
}

/// The equality of every signal and computed of the model: a site, then `==`.
fn equal_at_site(a: &i64, b: &i64) -> bool {
    site();
    a == b
}

// ---------------------------------------------------------------------------------------------
// The real graph and the checks.
// ---------------------------------------------------------------------------------------------

/// What a formula reads from a disposed node (only tainted nodes read one).
const DISPOSED: i64 = 1_000;

#[derive(Clone, Copy)]
enum Handle {
    Sig(Signal<i64>),
    Comp(Computed<i64>),
}

impl Handle {
    fn try_get(self) -> Option<i64> {
        match self {
            Self::Sig(s) => s.try_get().ok(),
            Self::Comp(c) => c.try_get().ok(),
        }
    }
}

/// Evaluates `formula` through the real handles (tracked reads) and records what it read
/// successfully (a read of a disposed node links nothing).
fn eval_real(formula: &Formula, handles: &[Handle], reads: &RefCell<Vec<(usize, i64)>>) -> i64 {
    let mut seen = Vec::new();
    let value = formula.eval(&mut |n| match handles[n].try_get() {
        Some(v) => {
            seen.push((n, v));
            v
        }
        None => DISPOSED,
    });
    *reads.borrow_mut() = seen;
    value
}

struct ComputedState {
    handle: Computed<i64>,
    runs: Rc<Cell<u32>>,
    /// What its last run read, as seen through the real handles.
    real_reads: Rc<RefCell<Vec<(usize, i64)>>>,
    /// Runs accounted for so far.
    seen_runs: u32,
    /// What its last run should have read (oracle); `None` before its first run.
    deps: Option<Vec<(usize, i64)>>,
    /// A recorded dependency differed from the oracle at the end of some operation since the
    /// last run (so a lazy recompute is allowed, though the value may have come back).
    dirty: bool,
    /// Some effect or top-level read could reach it (else it must never run: laziness).
    demanded: bool,
    /// Disposed, or could read a disposed node: no longer compared with the oracle.
    tainted: bool,
}

struct EffectState {
    handle: Effect,
    formula: Formula,
    root: usize,
    log: Rc<RefCell<Vec<i64>>>,
    real_reads: Rc<RefCell<Vec<(usize, i64)>>>,
    /// Log entries accounted for so far.
    seen_runs: usize,
    alive: bool,
    /// What its last run should have read (oracle); `None` before the run at creation.
    deps: Option<Vec<(usize, i64)>>,
    /// Could read a disposed node: no longer compared with the oracle.
    tainted: bool,
}

/// What the deterministic tests inspect after the operations.
#[derive(Debug, PartialEq)]
struct Trace {
    effect_logs: Vec<Vec<i64>>,
    computed_runs: Vec<u32>,
}

struct Harness {
    graph: Graph,
    /// Read every computed after every operation (else only on `Read` and at the end).
    eager: bool,
    before: RuntimeStats,
    signals: Vec<Signal<i64>>,
    values: Vec<i64>,
    computeds: Vec<ComputedState>,
    effects: Vec<EffectState>,
    data_root: Option<Root>,
    /// The effect roots; shared with the armory, which disposes them from user code.
    roots: Rc<RefCell<Vec<Option<Root>>>>,
    /// Nodes (signals, then computeds) disposed so far.
    disposed: Vec<bool>,
    /// Which operation is being checked, for messages.
    step: String,
}

impl Harness {
    fn build(graph: &Graph, eager: bool) -> Self {
        let before = runtime_stats();
        ARMORY.with(|a| *a.borrow_mut() = Armory::default());
        let ((signals, computeds), data_root) = create_root(|| {
            let signals: Vec<Signal<i64>> = graph
                .signals
                .iter()
                .map(|&v| signal_with_equals(v, equal_at_site))
                .collect();
            let mut handles: Vec<Handle> = signals.iter().map(|&s| Handle::Sig(s)).collect();
            let mut computeds = Vec::new();
            for formula in &graph.computeds {
                let runs = Rc::new(Cell::new(0));
                let real_reads = Rc::new(RefCell::new(Vec::new()));
                let (f, hs, r, rr) = (
                    formula.clone(),
                    handles.clone(),
                    runs.clone(),
                    real_reads.clone(),
                );
                let handle = computed_with_equals(
                    move || {
                        site();
                        r.set(r.get() + 1);
                        eval_real(&f, &hs, &rr)
                    },
                    equal_at_site,
                );
                handles.push(Handle::Comp(handle));
                computeds.push(ComputedState {
                    handle,
                    runs,
                    real_reads,
                    seen_runs: 0,
                    deps: None,
                    dirty: false,
                    demanded: eager,
                    tainted: false,
                });
            }
            (signals, computeds)
        });
        let mut handles: Vec<Handle> = signals.iter().map(|&s| Handle::Sig(s)).collect();
        handles.extend(computeds.iter().map(|c| Handle::Comp(c.handle)));
        let mut h = Self {
            graph: graph.clone(),
            eager,
            before,
            signals,
            values: graph.signals.clone(),
            computeds,
            effects: Vec::new(),
            data_root: Some(data_root),
            roots: Rc::default(),
            disposed: vec![false; graph.signals.len() + graph.computeds.len()],
            step: "build".to_string(),
        };
        for (_, formula) in &graph.effects {
            let mut refs = Vec::new();
            formula.static_refs(&mut refs);
            h.demand(&refs);
        }
        for r in 0..graph.roots {
            let ((), root) = create_root(|| {
                for (root, formula) in &graph.effects {
                    if *root != r {
                        continue;
                    }
                    let log = Rc::new(RefCell::new(Vec::new()));
                    let real_reads = Rc::new(RefCell::new(Vec::new()));
                    let (f, hs, l, rr) = (
                        formula.clone(),
                        handles.clone(),
                        log.clone(),
                        real_reads.clone(),
                    );
                    let handle = effect(move || {
                        site();
                        let v = eval_real(&f, &hs, &rr);
                        l.borrow_mut().push(v);
                        on_cleanup(site);
                    });
                    h.effects.push(EffectState {
                        handle,
                        formula: formula.clone(),
                        root: r,
                        log,
                        real_reads,
                        seen_runs: 0,
                        alive: true,
                        deps: None,
                        tainted: false,
                    });
                }
            });
            h.roots.borrow_mut().push(Some(root));
        }
        ARMORY.with(|a| {
            let mut a = a.borrow_mut();
            a.signals.clone_from(&h.signals);
            a.computeds = h.computeds.iter().map(|c| c.handle).collect();
            a.effects = h.effects.iter().map(|e| e.handle).collect();
            a.roots = h.roots.clone();
        });
        h.check(&[], &[]);
        h
    }

    /// Applies the disposals that fired from user code during the operation to the model,
    /// and taints what could read a disposed node. Returns the effects that died in it.
    fn record_fired(&mut self) -> Vec<usize> {
        let fired = ARMORY.with(|a| {
            let mut a = a.borrow_mut();
            a.armed.clear();
            std::mem::take(&mut a.fired)
        });
        let s = self.signals.len();
        let mut died = Vec::new();
        for action in fired {
            match action {
                Dispose::Signal(i) => self.disposed[i] = true,
                Dispose::Computed(c) => self.disposed[s + c] = true,
                Dispose::Effect(i) => died.push(i),
                Dispose::Root(r) => {
                    died.extend((0..self.effects.len()).filter(|&i| self.effects[i].root == r));
                }
            }
        }
        for &i in &died {
            self.effects[i].alive = false;
        }
        // Taint, in creation order: a computed only names earlier nodes.
        let mut tainted = self.disposed.clone();
        for c in 0..self.computeds.len() {
            let mut refs = Vec::new();
            self.graph.computeds[c].static_refs(&mut refs);
            tainted[s + c] |= refs.iter().any(|&n| tainted[n]);
            self.computeds[c].tainted = tainted[s + c];
        }
        for e in &mut self.effects {
            let mut refs = Vec::new();
            e.formula.static_refs(&mut refs);
            e.tainted = refs.iter().any(|&n| tainted[n]);
        }
        died
    }

    /// Marks the computeds these nodes could reach as demanded.
    fn demand(&mut self, nodes: &[usize]) {
        let s = self.signals.len();
        let mut stack: Vec<usize> = nodes.iter().copied().filter(|&n| n >= s).collect();
        while let Some(n) = stack.pop() {
            let c = &mut self.computeds[n - s];
            if c.demanded {
                continue;
            }
            c.demanded = true;
            let mut refs = Vec::new();
            self.graph.computeds[n - s].static_refs(&mut refs);
            stack.extend(refs.into_iter().filter(|&m| m >= s));
        }
    }

    fn apply(&mut self, op: &Op) {
        self.step = format!("{op:?}");
        let mut reads = Vec::new();
        self.run(op, &mut reads);
        let died = self.record_fired();
        self.check(&reads, &died);
    }

    /// Performs `op`; the results of top-level reads go to `reads`.
    fn run(&mut self, op: &Op, reads: &mut Vec<(usize, Option<i64>)>) {
        match op {
            Op::Write(s, v) => {
                self.signals[*s].set(*v);
                self.values[*s] = *v;
            }
            Op::Replace(s, v) => {
                let (before, disposed) = (self.values[*s], self.disposed[*s]);
                let result = self.signals[*s].replace(*v);
                if !disposed && !self.disposed[*s] {
                    let expected = if before == *v { Err(*v) } else { Ok(before) };
                    assert_eq!(result, expected, "[{}] replace's result", self.step);
                }
                self.values[*s] = *v;
            }
            Op::Batch(writes) => {
                let start = self.values.clone();
                let (signals, values) = (&self.signals, &mut self.values);
                batch(|| {
                    for w in writes {
                        let (s, v) = match *w {
                            BatchWrite::Set(s, v) => (s, v),
                            BatchWrite::Restore(s) => (s, start[s]),
                        };
                        signals[s].set(v);
                        values[s] = v;
                    }
                });
            }
            Op::DisposeRoot(r) => {
                let root = self.roots.borrow_mut()[*r].take();
                if let Some(root) = root {
                    root.dispose();
                    for e in &mut self.effects {
                        if e.root == *r {
                            e.alive = false;
                        }
                    }
                }
            }
            Op::DisposeEffect(i) => {
                let e = &mut self.effects[*i];
                e.handle.dispose();
                e.alive = false;
            }
            Op::Read(c) => {
                let s = self.signals.len();
                self.demand(&[s + c]);
                reads.push((*c, self.computeds[*c].handle.try_get().ok()));
            }
            Op::Armed(armed, op) => {
                ARMORY.with(|a| a.borrow_mut().armed.clone_from(armed));
                self.run(op, reads);
            }
        }
    }

    /// Checks the real graph against the oracle after an operation. `reads`: what the
    /// operation's top-level reads of computeds returned (in eager mode every computed is read
    /// now too); `died`: effects disposed from user code during the operation.
    fn check(&mut self, reads: &[(usize, Option<i64>)], died: &[usize]) {
        let step = self.step.clone();
        let s = self.signals.len();
        let naive = naive_values(&self.graph, &self.values);
        let mut reads = reads.to_vec();
        if self.eager {
            for (c, st) in self.computeds.iter().enumerate() {
                reads.push((c, st.handle.try_get().ok()));
            }
        }

        // (a) Top-level reads of untainted computeds equal the oracle.
        for &(c, got) in &reads {
            if self.computeds[c].tainted {
                continue;
            }
            assert_eq!(
                got,
                Some(naive[s + c]),
                "[{step}] computed c{c} read {got:?}, oracle says {}",
                naive[s + c]
            );
        }

        // Liveness of signals and computeds.
        for (n, &disposed) in self.disposed.iter().enumerate() {
            let alive = if n < s {
                self.signals[n].is_alive()
            } else {
                self.computeds[n - s].handle.is_alive()
            };
            assert_eq!(alive, !disposed, "[{step}] liveness of node {n}");
        }

        // Computed runs: at most once per operation, never without a reason; in eager mode
        // exactly when a value it read changed.
        for (c, st) in self.computeds.iter_mut().enumerate() {
            let runs = st.runs.get();
            let delta = runs - st.seen_runs;
            st.seen_runs = runs;
            if !st.demanded {
                assert_eq!(
                    runs, 0,
                    "[{step}] computed c{c} ran though nothing could read it"
                );
            }
            if st.tainted {
                continue;
            }
            assert!(
                delta <= 1,
                "[{step}] computed c{c} ran {delta} times in one operation"
            );
            let changed = st.deps.as_ref().is_none_or(|d| any_changed(d, &naive));
            if self.eager {
                assert_eq!(
                    delta,
                    u32::from(changed),
                    "[{step}] eager: computed c{c} ran {delta} times; a dependency changed: {changed} (deps {:?})",
                    st.deps
                );
            } else if delta == 1 {
                assert!(
                    changed || st.dirty,
                    "[{step}] computed c{c} recomputed although nothing it read changed (deps {:?})",
                    st.deps
                );
            }
            if delta == 1 {
                let expected = naive_reads(&self.graph.computeds[c], &naive);
                assert_eq!(
                    *st.real_reads.borrow(),
                    expected,
                    "[{step}] computed c{c} saw values inconsistent with the oracle (a glitch)"
                );
                st.deps = Some(expected);
                st.dirty = false;
            } else {
                st.dirty |= changed;
            }
        }

        // (b) Effects: run exactly once iff a (node, value) pair their last run read changed,
        // see the oracle's values, and never run once disposed.
        for (i, e) in self.effects.iter_mut().enumerate() {
            let len = e.log.borrow().len();
            let delta = len - e.seen_runs;
            e.seen_runs = len;
            assert_eq!(
                e.handle.is_alive(),
                e.alive,
                "[{step}] effect e{i} liveness"
            );
            if !e.alive {
                // One disposed during this operation may have run before it was disposed.
                if !died.contains(&i) {
                    assert_eq!(delta, 0, "[{step}] disposed effect e{i} ran {delta} times");
                }
                continue;
            }
            if e.tainted {
                continue;
            }
            // Every effect runs once at creation.
            let should_run = e.deps.as_ref().is_none_or(|d| any_changed(d, &naive));
            assert_eq!(
                delta,
                usize::from(should_run),
                "[{step}] effect e{i} ran {delta} times; should run: {should_run} (deps {:?}, log {:?})",
                e.deps,
                e.log.borrow()
            );
            if should_run {
                let formula = &e.formula;
                let expected = formula.eval(&mut |n| naive[n]);
                let logged = *e.log.borrow().last().expect("ran");
                assert_eq!(
                    logged, expected,
                    "[{step}] effect e{i} logged {logged}, oracle says {expected}"
                );
                let expected_reads = naive_reads(formula, &naive);
                assert_eq!(
                    *e.real_reads.borrow(),
                    expected_reads,
                    "[{step}] effect e{i} saw values inconsistent with the oracle (a glitch)"
                );
                e.deps = Some(expected_reads);
            }
        }

        // Live counts: one node per live signal, computed, effect and root; no effect queued;
        // and for each live computed that ran and each live effect, one link per distinct live
        // node its last run read (a repeated read never adds a link; pinned by
        // `issue_repeated_read_around_a_first_run_links_once`).
        let stats = runtime_stats();
        let live_roots = usize::from(self.data_root.is_some())
            + self.roots.borrow().iter().filter(|r| r.is_some()).count();
        let live_effects = self.effects.iter().filter(|e| e.alive).count();
        let live_nodes = self.disposed.iter().filter(|&&d| !d).count();
        let nodes = live_nodes + live_roots + live_effects;
        let disposed = &self.disposed;
        let last_reads: Vec<Vec<(usize, i64)>> = self
            .computeds
            .iter()
            .enumerate()
            .filter(|(c, st)| st.runs.get() > 0 && !disposed[s + c])
            .map(|(_, st)| st.real_reads.borrow().clone())
            .chain(
                self.effects
                    .iter()
                    .filter(|e| e.alive)
                    .map(|e| e.real_reads.borrow().clone()),
            )
            .map(|reads| reads.into_iter().filter(|&(n, _)| !disposed[n]).collect())
            .collect();
        let min_links: usize = last_reads.iter().map(|r| distinct_nodes(r)).sum();
        let max_links: usize = last_reads.iter().map(Vec::len).sum();
        assert_eq!(
            (stats.nodes, stats.queued),
            (self.before.nodes + nodes, 0),
            "[{step}] runtime_stats (nodes, queued)"
        );
        let links = stats.links - self.before.links;
        assert_eq!(
            links, min_links,
            "[{step}] live links: one per distinct dependency (reads: {max_links})"
        );
    }

    fn trace(&self) -> Trace {
        Trace {
            effect_logs: self
                .effects
                .iter()
                .map(|e| e.log.borrow().clone())
                .collect(),
            computed_runs: self.computeds.iter().map(|c| c.runs.get()).collect(),
        }
    }

    /// Reads every computed, disposes everything and checks nothing is left.
    fn finish(mut self) {
        self.step = "final read of every computed".to_string();
        let all: Vec<usize> = (0..self.computeds.len()).collect();
        let s = self.signals.len();
        let nodes: Vec<usize> = all.iter().map(|c| s + c).collect();
        self.demand(&nodes);
        let reads: Vec<(usize, Option<i64>)> = all
            .iter()
            .map(|&c| (c, self.computeds[c].handle.try_get().ok()))
            .collect();
        self.check(&reads, &[]);
        let roots: Vec<Root> = self
            .roots
            .borrow_mut()
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for root in roots {
            root.dispose();
        }
        self.data_root.take().expect("data root").dispose();
        assert_eq!(
            runtime_stats(),
            self.before,
            "disposing every root frees every node and link"
        );
        assert!(self.signals.iter().all(|s| !s.is_alive()));
        assert!(self.computeds.iter().all(|c| !c.handle.is_alive()));
        assert!(self.effects.iter().all(|e| !e.handle.is_alive()));
    }
}

/// Builds the graph, applies the operations with checks after each, and returns the trace
/// after the last operation (before the final read-all and disposal, which are checked too).
fn run_case(graph: &Graph, ops: &[Op], eager: bool) -> Trace {
    // Keep no spare slots: every disposal that leaves less than a quarter of the arenas live
    // gives slots back, also from inside user code, so the model covers shrinking too.
    set_retained_slots(0);
    let mut h = Harness::build(graph, eager);
    for op in ops {
        h.apply(op);
    }
    let trace = h.trace();
    h.finish();
    trace
}

// ---------------------------------------------------------------------------------------------
// Strategies.
// ---------------------------------------------------------------------------------------------

fn value() -> impl Strategy<Value = i64> + Clone {
    -2i64..=4
}

/// A formula over nodes `0..nodes`.
fn formula(nodes: usize) -> BoxedStrategy<Formula> {
    let leaf = prop_oneof![
        5 => (0..nodes).prop_map(Formula::Node),
        1 => (-2i64..=3).prop_map(Formula::Const),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            2 => (inner.clone(), inner.clone())
                .prop_map(|(a, b)| Formula::Sum(Box::new(a), Box::new(b))),
            3 => (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, t, e)| {
                Formula::Branch {
                    cond: Box::new(c),
                    then: Box::new(t),
                    else_: Box::new(e),
                }
            }),
            2 => (inner, 2i64..=3).prop_map(|(a, k)| Formula::Mod(Box::new(a), k)),
        ]
    })
    .boxed()
}

fn graph_strategy() -> impl Strategy<Value = Graph> {
    (2usize..=6, 0usize..=12, 1usize..=3, 0usize..=6).prop_flat_map(|(s, c, roots, e)| {
        let signals = prop::collection::vec(value(), s);
        let computeds: Vec<BoxedStrategy<Formula>> = (0..c).map(|j| formula(s + j)).collect();
        let effects = prop::collection::vec((0..roots, formula(s + c)), e);
        (signals, computeds, effects).prop_map(move |(signals, computeds, effects)| Graph {
            signals,
            computeds,
            effects,
            roots,
        })
    })
}

fn op_strategy(graph: &Graph) -> BoxedStrategy<Op> {
    let s = graph.signals.len();
    let write = prop_oneof![
        3 => (0..s, value()).prop_map(|(s, v)| BatchWrite::Set(s, v)),
        1 => (0..s).prop_map(BatchWrite::Restore),
    ];
    let batch = (prop::collection::vec(write, 1..=4), any::<bool>()).prop_map(
        |(mut writes, restore_all)| {
            if restore_all {
                // Write every signal back: the batch must end up changing nothing.
                let written: Vec<usize> = writes
                    .iter()
                    .map(|w| match *w {
                        BatchWrite::Set(s, _) | BatchWrite::Restore(s) => s,
                    })
                    .collect();
                writes.extend(written.into_iter().rev().map(BatchWrite::Restore));
            }
            Op::Batch(writes)
        },
    );
    let mut arms: Vec<(u32, BoxedStrategy<Op>)> = vec![
        (
            4,
            (0..s, value()).prop_map(|(s, v)| Op::Write(s, v)).boxed(),
        ),
        (
            1,
            (0..s, value()).prop_map(|(s, v)| Op::Replace(s, v)).boxed(),
        ),
        (4, batch.boxed()),
        (1, (0..graph.roots).prop_map(Op::DisposeRoot).boxed()),
    ];
    if !graph.computeds.is_empty() {
        arms.push((3, (0..graph.computeds.len()).prop_map(Op::Read).boxed()));
    }
    if !graph.effects.is_empty() {
        arms.push((
            1,
            (0..graph.effects.len()).prop_map(Op::DisposeEffect).boxed(),
        ));
    }
    let plain = Union::new_weighted(arms).boxed();
    // Some operations run with disposals armed, to fire from inside user code.
    let armed = (
        prop::collection::vec(armed_action(graph), 1..=2),
        plain.clone(),
    )
        .prop_map(|(armed, op)| Op::Armed(armed, Box::new(op)));
    prop_oneof![5 => plain, 1 => armed].boxed()
}

/// A disposal, and how many user-code sites pass before it fires.
fn armed_action(graph: &Graph) -> BoxedStrategy<(u32, Dispose)> {
    let mut actions: Vec<(u32, BoxedStrategy<Dispose>)> = vec![
        (
            2,
            (0..graph.signals.len()).prop_map(Dispose::Signal).boxed(),
        ),
        (1, (0..graph.roots).prop_map(Dispose::Root).boxed()),
    ];
    if !graph.computeds.is_empty() {
        actions.push((
            3,
            (0..graph.computeds.len())
                .prop_map(Dispose::Computed)
                .boxed(),
        ));
    }
    if !graph.effects.is_empty() {
        actions.push((
            3,
            (0..graph.effects.len()).prop_map(Dispose::Effect).boxed(),
        ));
    }
    (0u32..12, Union::new_weighted(actions)).boxed()
}

fn case_strategy() -> impl Strategy<Value = (Graph, Vec<Op>, bool)> {
    graph_strategy().prop_flat_map(|graph| {
        let ops = prop::collection::vec(op_strategy(&graph), 1..=25);
        (Just(graph), ops, any::<bool>())
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: crate::cases(256),
        ..ProptestConfig::default()
    })]

    /// The real graph agrees with the naive oracle after every operation: computed values,
    /// which effects run (exactly those whose read values changed, never disposed ones), what
    /// they see, how often computeds recompute, and the live node and link counts.
    #[test]
    fn graph_matches_naive_model((graph, ops, eager) in case_strategy()) {
        run_case(&graph, &ops, eager);
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-built cases pinning the oracle.
// ---------------------------------------------------------------------------------------------

fn node(n: usize) -> Box<Formula> {
    Box::new(Formula::Node(n))
}

#[test]
fn model_diamond_recomputes_once_and_cuts_off_equal_values() {
    // s0 = 1; c0 = s0 + s0 (node 1); c1 = s0 mod 3 (node 2); c2 = c0 + c1 (node 3).
    let graph = Graph {
        signals: vec![1],
        computeds: vec![
            Formula::Sum(node(0), node(0)),
            Formula::Mod(node(0), 3),
            Formula::Sum(node(1), node(2)),
        ],
        effects: vec![(0, Formula::Node(3)), (0, Formula::Node(2))],
        roots: 1,
    };
    let ops = [
        Op::Write(0, 4), // c1 stays 1: e1 does not run
        Op::Write(0, 4), // equal write: nothing
        Op::Batch(vec![BatchWrite::Set(0, 2), BatchWrite::Restore(0)]), // ends where it started
        Op::Write(0, 5),
    ];
    for eager in [false, true] {
        let trace = run_case(&graph, &ops, eager);
        assert_eq!(
            trace,
            Trace {
                effect_logs: vec![vec![3, 9, 12], vec![1, 2]],
                computed_runs: vec![3, 3, 3],
            },
            "eager: {eager}"
        );
    }
}

#[test]
fn model_branch_switch_tracks_only_the_taken_branch() {
    // s0 = 0 (condition), s1 = 10, s2 = 20; c0 = if s0 even { s1 } else { s2 } (node 3).
    let branch = Formula::Branch {
        cond: node(0),
        then: node(1),
        else_: node(2),
    };
    let graph = Graph {
        signals: vec![0, 10, 20],
        computeds: vec![branch.clone()],
        effects: vec![(0, Formula::Node(3)), (1, branch)],
        roots: 2,
    };
    let ops = [
        Op::Write(2, 21), // untaken branch: nothing runs or recomputes
        Op::Write(0, 1),  // switch to s2
        Op::Write(1, 11), // now untaken
        Op::Write(2, 22),
        Op::Write(0, 3), // still odd: the condition changed, so c0 recomputes, to an equal value
        Op::Read(0),
    ];
    let trace = run_case(&graph, &ops, false);
    assert_eq!(
        trace,
        Trace {
            effect_logs: vec![vec![10, 21, 22], vec![10, 21, 22, 22]],
            computed_runs: vec![4],
        }
    );
}

#[test]
fn model_disposed_roots_and_effects_stay_silent() {
    // s0 = 1, s1 = 2; c0 = s0 + s1 (node 2); effects: e0 in root 0, e1 and e2 in root 1.
    let graph = Graph {
        signals: vec![1, 2],
        computeds: vec![Formula::Sum(node(0), node(1))],
        effects: vec![
            (0, Formula::Node(2)),
            (1, Formula::Node(2)),
            (1, Formula::Sum(node(0), Box::new(Formula::Const(100)))),
        ],
        roots: 2,
    };
    let ops = [
        Op::Write(0, 3),
        Op::DisposeRoot(1),
        Op::Write(0, 4),
        Op::DisposeEffect(0),
        Op::DisposeEffect(0), // idempotent
        Op::DisposeRoot(1),   // already disposed
        Op::Batch(vec![BatchWrite::Set(0, 0), BatchWrite::Set(1, 0)]),
        Op::Read(0),
    ];
    let trace = run_case(&graph, &ops, false);
    assert_eq!(
        trace,
        Trace {
            effect_logs: vec![vec![3, 5, 6], vec![3, 5], vec![101, 103]],
            computed_runs: vec![4],
        }
    );
}

/// Regression: a consumer that read `s0`, then a computed whose first run subscribed it to
/// `s0`, then `s0` again, got a second `s0` link, because the repeated read was only looked
/// for at the tail of `s0`'s subscribers, which was the computed's link by then.
#[test]
fn issue_repeated_read_around_a_first_run_links_once() {
    let before = runtime_stats();
    let ((), root) = create_root(|| {
        let s0 = signal(1_i64);
        let c0 = computed(move || s0.get());
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        effect(move || {
            let v = s0.get() + c0.get() + s0.get();
            l.borrow_mut().push(v);
        });
        s0.set(2);
        assert_eq!(*log.borrow(), [3, 6]);
    });
    // Links: s0 -> c0, s0 -> effect, c0 -> effect.
    assert_eq!(runtime_stats().links, before.links + 3);
    root.dispose();
    assert_eq!(runtime_stats(), before);
}

/// Repeated reads that alternate with a dependency recomputing inside the run (the kairo
/// `unstable` shape) are recognised by the source's mark, not by walking lists: every run
/// keeps exactly one link per dependency, and no dependency is lost between runs.
#[test]
fn repeated_alternating_reads_around_a_nested_recompute_link_once() {
    let before = runtime_stats();
    let ((), root) = create_root(|| {
        let head = signal(1_i64);
        let double = computed(move || head.get() * 2);
        let sum = computed(move || (0..5).map(|_| head.get() + double.get()).sum::<i64>());
        assert_eq!(sum.get(), 15);
        for n in 2..6 {
            head.set(n);
            // `double` recomputes inside `sum`'s run, between reads of `head`.
            assert_eq!(sum.get(), 15 * n);
            // Links: head -> double, head -> sum, double -> sum.
            assert_eq!(runtime_stats().links, before.links + 3);
        }
    });
    root.dispose();
    assert_eq!(runtime_stats(), before);
}
