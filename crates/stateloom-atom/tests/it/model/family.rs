//! A proptest model of family removal with re-entrant user code: members are subscribed in
//! two scopes, written, read and removed, while their listeners write another atom or remove
//! their own member, and their mount hooks and cleanups count what is mounted. A plain model
//! of Jotai's rule says what must happen: a removed member lives on where it is mounted and
//! is gone everywhere else.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use proptest::prelude::*;
use stateloom_atom::{Atom, AtomHandle, AtomScope, Error, atom, atom_family, registered_atoms};
use stateloom_core::Subscription;

const IDS: u8 = 3;
const SCOPES: usize = 2;

/// What a listener does when it is notified, besides logging.
#[derive(Clone, Copy, Debug)]
enum React {
    Nothing,
    /// Adds the new value to the scope's `total` atom (a commutative write).
    AddToTotal,
    /// Removes its member's id from the family (whatever atom the id has by then).
    RemoveId,
}

#[derive(Clone, Debug)]
enum Step {
    /// `family.get(&id)`; the handle joins the list of handles ever seen.
    Get(u8),
    Remove(u8),
    Sub {
        scope: usize,
        handle: usize,
        react: React,
    },
    Unsub(usize),
    Set {
        scope: usize,
        handle: usize,
        value: i8,
    },
    Read {
        scope: usize,
        handle: usize,
    },
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let react = prop_oneof![
        Just(React::Nothing),
        Just(React::AddToTotal),
        Just(React::RemoveId)
    ];
    let step = prop_oneof![
        (0..IDS).prop_map(Step::Get),
        (0..IDS).prop_map(Step::Remove),
        (0..SCOPES, 0..8_usize, react).prop_map(|(scope, handle, react)| Step::Sub {
            scope,
            handle,
            react
        }),
        (0..8_usize).prop_map(Step::Unsub),
        (0..SCOPES, 0..8_usize, -2..3_i8).prop_map(|(scope, handle, value)| Step::Set {
            scope,
            handle,
            value
        }),
        (0..SCOPES, 0..8_usize).prop_map(|(scope, handle)| Step::Read { scope, handle }),
    ];
    prop::collection::vec(step, 1..60)
}

/// The model of one handle (one atom the family ever made).
#[derive(Clone, Debug)]
struct Member {
    id: u8,
    removed: bool,
    /// Per scope: its value there, or `None` once it was freed there.
    value: [Option<i64>; SCOPES],
    /// Per scope: how many of our subscriptions listen to it.
    subs: [usize; SCOPES],
}

impl Member {
    fn alive(&self, scope: usize) -> bool {
        self.value[scope].is_some()
    }

    /// Frees it in every scope where nothing keeps it mounted, if it was removed.
    fn settle(&mut self) {
        for s in 0..SCOPES {
            if self.removed && self.subs[s] == 0 {
                self.value[s] = None;
            }
        }
    }
}

struct Model {
    members: Vec<Member>,
    current: HashMap<u8, usize>,
    totals: [i64; SCOPES],
}

impl Model {
    fn remove(&mut self, id: u8) -> bool {
        match self.current.remove(&id) {
            Some(h) => {
                self.members[h].removed = true;
                self.members[h].settle();
                true
            }
            None => false,
        }
    }

    fn mounted(&self, scope: usize) -> i64 {
        let n = self.members.iter().filter(|m| m.subs[scope] > 0).count();
        i64::try_from(n).expect("small")
    }
}

struct Listener {
    /// Its number in the log of notifications; never reused.
    number: usize,
    scope: usize,
    handle: usize,
    react: React,
    sub: Subscription,
}

fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let scopes: Vec<AtomScope> = (0..SCOPES).map(|_| AtomScope::new()).collect();
    // Counts the members mounted in each scope, through their hooks and cleanups.
    let mounted = atom(0_i64);
    let total = atom(0_i64);
    let family = atom_family(move |_: &u8| {
        atom(0_i64).on_mount(move |ctx| {
            ctx.write_with(mounted, |n| n + 1);
            let ctx = ctx.clone();
            move || {
                ctx.write_with(mounted, |n| n - 1);
            }
        })
    });
    let registry = registered_atoms();
    let fired: Rc<RefCell<Vec<(usize, i64)>>> = Rc::default();
    let mut model = Model {
        members: Vec::new(),
        current: HashMap::new(),
        totals: [0; SCOPES],
    };
    let mut handles: Vec<Atom<i64>> = Vec::new();
    let mut listeners: Vec<Listener> = Vec::new();
    let mut next_number = 0;
    for step in steps {
        match step {
            Step::Get(id) => {
                let handle = family.get(&id);
                match model.current.get(&id) {
                    Some(&h) => prop_assert_eq!(handle, handles[h]),
                    None => {
                        prop_assert!(!handles.contains(&handle), "a fresh atom");
                        model.current.insert(id, handles.len());
                        model.members.push(Member {
                            id,
                            removed: false,
                            value: [Some(0); SCOPES],
                            subs: [0; SCOPES],
                        });
                        handles.push(handle);
                    }
                }
            }
            Step::Remove(id) => {
                prop_assert_eq!(family.remove(&id), model.remove(id));
            }
            Step::Sub {
                scope,
                handle,
                react,
            } => {
                let Some(&atom) = handles.get(handle) else {
                    continue;
                };
                let s = &scopes[scope];
                if !model.members[handle].alive(scope) {
                    let refused = catch_unwind(AssertUnwindSafe(|| s.sub(atom, |_| {})));
                    prop_assert!(refused.is_err(), "a freed member cannot be subscribed");
                    continue;
                }
                let (f, sc, fam) = (fired.clone(), s.clone(), family.clone());
                let (number, id) = (next_number, model.members[handle].id);
                next_number += 1;
                let sub = s.sub(atom, move |v| {
                    f.borrow_mut().push((number, *v));
                    match react {
                        React::Nothing => {}
                        React::AddToTotal => sc.update(total, |t| *t += *v),
                        React::RemoveId => {
                            fam.remove(&id);
                        }
                    }
                });
                model.members[handle].subs[scope] += 1;
                listeners.push(Listener {
                    number,
                    scope,
                    handle,
                    react,
                    sub,
                });
            }
            Step::Unsub(position) => {
                if position >= listeners.len() {
                    continue;
                }
                let listener = listeners.remove(position);
                listener.sub.unsubscribe();
                let member = &mut model.members[listener.handle];
                member.subs[listener.scope] -= 1;
                member.settle();
            }
            Step::Set {
                scope,
                handle,
                value,
            } => {
                let Some(&atom) = handles.get(handle) else {
                    continue;
                };
                let value = i64::from(value);
                let s = &scopes[scope];
                if !model.members[handle].alive(scope) {
                    let refused = catch_unwind(AssertUnwindSafe(|| s.set(atom, value)));
                    prop_assert!(refused.is_err(), "a freed member cannot be written");
                    continue;
                }
                let changed = model.members[handle].value[scope] != Some(value);
                s.set(atom, value);
                model.members[handle].value[scope] = Some(value);
                let mut expected: Vec<(usize, i64)> = Vec::new();
                if changed {
                    for l in &listeners {
                        if l.scope == scope && l.handle == handle {
                            expected.push((l.number, value));
                            match l.react {
                                React::Nothing => {}
                                React::AddToTotal => model.totals[scope] += value,
                                React::RemoveId => {
                                    let id = model.members[handle].id;
                                    model.remove(id);
                                }
                            }
                        }
                    }
                }
                let mut got = std::mem::take(&mut *fired.borrow_mut());
                got.sort_unstable();
                prop_assert_eq!(got, expected, "each listener of the member, once");
            }
            Step::Read { scope, handle } => {
                let Some(&atom) = handles.get(handle) else {
                    continue;
                };
                let expected =
                    model.members[handle].value[scope].ok_or(Error::Removed { id: atom.id() });
                prop_assert_eq!(scopes[scope].try_get(atom), expected);
            }
        }
        for (s, scope) in scopes.iter().enumerate() {
            prop_assert_eq!(scope.get(mounted), model.mounted(s), "hooks count mounts");
            prop_assert_eq!(scope.get(total), model.totals[s]);
            for (h, member) in model.members.iter().enumerate() {
                prop_assert_eq!(scope.is_mounted(handles[h]), member.subs[s] > 0);
            }
        }
        let live = model
            .members
            .iter()
            .filter(|m| !m.removed || m.value.iter().any(Option::is_some))
            .count();
        prop_assert_eq!(
            registered_atoms(),
            registry + live,
            "no config outlives its nodes"
        );
    }
    for listener in listeners {
        listener.sub.unsubscribe();
    }
    family.clear();
    prop_assert_eq!(registered_atoms(), registry, "everything freed at the end");
    for scope in &scopes {
        prop_assert_eq!(scope.get(mounted), 0);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn family_removal_with_reentrant_listeners_and_hooks_matches_the_model(steps in steps()) {
        run(steps)?;
    }
}
