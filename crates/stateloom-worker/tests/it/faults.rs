//! The protocol under loss, duplication, delay and reordering: once the network is quiet,
//! every mirror equals the host's state, and no call ever settled before its state arrived.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use serde_json::Value;
use stateloom_store::Store;
use stateloom_worker::{
    BroadcastBus, BroadcastTransport, Fault, FaultTransport, ManualClock, PendingCall, WorkerApp,
    WorkerClient,
};

use crate::{Counter, cases, counter_module};

#[derive(Debug, Clone)]
enum Op {
    Call { client: usize, by: i64 },
    HostWrite { by: i64 },
    Step { rounds: usize },
    Release { side: usize, reversed: bool },
    Advance { millis: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2_usize, 1..5_i64).prop_map(|(client, by)| Op::Call { client, by }),
        2 => (1..5_i64).prop_map(|by| Op::HostWrite { by }),
        4 => (1..4_usize).prop_map(|rounds| Op::Step { rounds }),
        1 => (0..3_usize, any::<bool>()).prop_map(|(side, reversed)| Op::Release { side, reversed }),
        1 => (1..400_u64).prop_map(|millis| Op::Advance { millis }),
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        6 => Just(Fault::Deliver),
        1 => Just(Fault::Drop),
        1 => Just(Fault::Duplicate),
        1 => Just(Fault::Hold),
    ]
}

/// A plan that takes faults from a shared script, then delivers.
fn scripted(
    script: &Arc<Mutex<VecDeque<Fault>>>,
) -> impl FnMut(&stateloom_worker::Message) -> Fault + Send + 'static {
    let script = Arc::clone(script);
    move |_| script.lock().unwrap().pop_front().unwrap_or(Fault::Deliver)
}

struct World {
    app: WorkerApp,
    store: Store<Counter>,
    clients: Vec<WorkerClient>,
    /// Host, client 0, client 1.
    sides: Vec<FaultTransport<BroadcastTransport>>,
    clock: ManualClock,
    /// Calls not yet settled, by client.
    calls: Vec<(usize, PendingCall)>,
}

impl World {
    fn new(script: &Arc<Mutex<VecDeque<Fault>>>, batch: usize) -> Self {
        let bus = BroadcastBus::new();
        let clock = ManualClock::new();
        let mut sides = Vec::new();
        let mut clients = Vec::new();
        for name in ["one", "two"] {
            let side = FaultTransport::new(bus.client(name, "host"));
            side.set_plan(scripted(script));
            clients.push(
                WorkerClient::builder(side.clone())
                    .clock(clock.clone())
                    .catch_up(Duration::from_millis(100))
                    .build(),
            );
            sides.push(side);
        }
        let host_side = FaultTransport::new(bus.host("host"));
        host_side.set_plan(scripted(script));
        sides.insert(0, host_side.clone());
        let store = Store::new(Counter::default());
        let app = WorkerApp::builder()
            .module(counter_module(store.clone()))
            .batch_calls(batch)
            .build(host_side);
        Self {
            app,
            store,
            clients,
            sides,
            clock,
            calls: Vec::new(),
        }
    }

    /// Handles one message at a time on each client, checking after each that every call
    /// that settled did so with its state in the mirror.
    fn step(&mut self) -> Result<usize, TestCaseError> {
        let mut handled = self.app.pump();
        for index in 0..self.clients.len() {
            loop {
                let more = self.clients[index].pump_one();
                self.check_settled(index)?;
                if !more {
                    break;
                }
                handled += 1;
            }
        }
        Ok(handled)
    }

    fn check_settled(&mut self, index: usize) -> Result<(), TestCaseError> {
        let mirrored = self.clients[index]
            .module_state::<Counter>("counter")
            .map_or(0, |c| c.count);
        let mut still = Vec::new();
        for (client, call) in self.calls.drain(..) {
            if client != index {
                still.push((client, call));
                continue;
            }
            match call.try_result() {
                None => still.push((client, call)),
                Some(Ok(Value::Number(n))) => {
                    // The counter only grows: the mirror holds the call's write once it is at
                    // least the count the method returned.
                    let returned = n.as_i64().unwrap_or(i64::MAX);
                    prop_assert!(
                        mirrored >= returned,
                        "a call settled with {returned} while the mirror showed {mirrored}"
                    );
                }
                Some(Ok(other)) => prop_assert!(false, "unexpected result {other}"),
                Some(Err(stateloom_worker::Error::Timeout { .. })) => {}
                Some(Err(error)) => prop_assert!(false, "unexpected error {error}"),
            }
        }
        self.calls = still;
        Ok(())
    }

    fn run(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Call { client, by } => {
                let call = self.clients[client].call("counter", "increase", by);
                self.calls.push((client, call));
            }
            // Host code writing its store directly, between messages.
            Op::HostWrite { by } => self.store.update(move |c| c.count += by),
            Op::Step { rounds } => {
                for _ in 0..rounds {
                    self.step()?;
                }
            }
            Op::Release { side, reversed } => {
                let side = &self.sides[side];
                let _ = if reversed {
                    side.release_held_reversed()
                } else {
                    side.release_held()
                };
            }
            Op::Advance { millis } => self.clock.advance(Duration::from_millis(millis)),
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(48)))]

    #[test]
    fn mirrors_converge_and_calls_wait_for_their_state(
        ops in prop::collection::vec(op(), 1..40),
        faults in prop::collection::vec(fault(), 0..80),
        // One version per call, or calls already waiting committed together.
        batch in prop_oneof![Just(1_usize), 2_usize..8],
    ) {
        let script = Arc::new(Mutex::new(faults.into_iter().collect::<VecDeque<_>>()));
        let mut world = World::new(&script, batch);
        for op in &ops {
            world.run(op)?;
        }
        // The network goes quiet: no more faults, held messages arrive, time passes.
        script.lock().unwrap().clear();
        for side in &world.sides {
            side.clear_plan();
            let _ = side.release_held();
        }
        for _ in 0..3 {
            world.clock.advance(Duration::from_secs(2));
            world.app.announce();
            while world.step()? > 0 {}
        }
        let host = world.app.published_state();
        for client in &world.clients {
            prop_assert_eq!(client.get_state(), host.clone());
            prop_assert_eq!(client.version(), world.app.version());
        }
    }
}
