//! Rebuild equivalence: over random event sequences, re-materializing from the log gives
//! the state the commits built, which is also what a plain model of the events gives.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::todo::{TodoEvent, builder, dump};

fn event() -> impl Strategy<Value = TodoEvent> {
    let id = 0..6_i64;
    let text = "[a-z\"' ]{0,5}";
    prop_oneof![
        4 => (id.clone(), text).prop_map(|(id, text)| TodoEvent::Added { id, text }),
        2 => id.clone().prop_map(|id| TodoEvent::Completed { id }),
        2 => (id.clone(), "[a-z]{0,4}").prop_map(|(id, text)| TodoEvent::Renamed { id, text }),
        1 => id.clone().prop_map(|id| TodoEvent::Removed { id }),
        2 => (id, "[a-c]").prop_map(|(id, tag)| TodoEvent::Tagged { id, tag }),
        1 => Just(TodoEvent::Cleared),
    ]
}

/// The state the events should give, with the materializer's rules.
#[derive(Default)]
struct Model {
    todos: BTreeMap<i64, (String, bool)>,
    tags: Vec<(i64, String)>,
}

impl Model {
    /// Applies `event`; `false` when the materializer refuses it (a duplicate id).
    fn apply(&mut self, event: &TodoEvent) -> bool {
        match event {
            TodoEvent::Added { id, text } => {
                if self.todos.contains_key(id) {
                    return false;
                }
                self.todos.insert(*id, (text.clone(), false));
            }
            TodoEvent::Completed { id } => {
                if let Some(todo) = self.todos.get_mut(id) {
                    todo.1 = true;
                }
            }
            TodoEvent::Renamed { id, text } => {
                if let Some(todo) = self.todos.get_mut(id) {
                    todo.0 = text.clone();
                }
            }
            TodoEvent::Removed { id } => {
                self.todos.remove(id);
                self.tags.retain(|(todo, _)| todo != id);
            }
            TodoEvent::Tagged { id, tag } => self.tags.push((*id, tag.clone())),
            TodoEvent::Cleared => {
                self.todos.clear();
                self.tags.clear();
            }
        }
        true
    }

    fn dump(&self) -> String {
        let mut tags = self.tags.clone();
        tags.sort();
        self.todos
            .iter()
            .map(|(id, (text, done))| format!("todo {id} {text:?} {}", i64::from(*done)))
            .chain(tags.iter().map(|(todo, tag)| format!("tag {todo} {tag:?}")))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::cases(48)))]

    #[test]
    fn rebuild_gives_the_committed_state(
        events in prop::collection::vec(event(), 0..40),
        batch in any::<bool>(),
    ) {
        let store = builder().open_in_memory().unwrap();
        let mut model = Model::default();
        if batch {
            // All or nothing: the batch commits only if every event materializes.
            let mut trial = Model::default();
            let accepted = events.iter().all(|e| trial.apply(e));
            let result = store.commit_all(events.clone());
            prop_assert_eq!(result.is_ok(), accepted);
            if accepted {
                model = trial;
            }
        } else {
            for event in &events {
                let accepted = model.apply(event);
                prop_assert_eq!(store.commit(event.clone()).is_ok(), accepted);
            }
        }
        let committed = dump(&store);
        prop_assert_eq!(&committed, &model.dump());
        store.rebuild().unwrap();
        prop_assert_eq!(dump(&store), committed);
    }
}
