//! `persist`: round trips through memory and files, migration, corrupt data, failed saves,
//! debounce.

use std::cell::RefCell;
use std::fs;
use std::rc::Rc;
use std::time::Duration;

use stateloom_store::{
    Codec, Error, FileStorage, FnCodec, History, MemoryStorage, Persist, Storage, Store,
};

use crate::{Counter, Log};

/// `Counter` as `count|label`.
fn codec() -> impl Codec<Counter, Data = Vec<u8>> {
    FnCodec::new(
        |c: &Counter| format!("{}|{}", c.count, c.label).into_bytes(),
        |bytes: &[u8]| {
            let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
            let (count, label) = text.split_once('|').ok_or("missing `|`")?;
            let count = count.parse().map_err(|e| format!("bad count: {e}"))?;
            Ok(Counter {
                count,
                label: label.to_owned(),
            })
        },
    )
}

fn counter(count: i64, label: &str) -> Counter {
    Counter {
        count,
        label: label.to_owned(),
    }
}

/// Collects the hook's errors as strings.
fn error_log() -> (Log, impl Fn(&Error) + 'static) {
    let log = Log::default();
    let l = log.clone();
    (log, move |e: &Error| l.push(e))
}

#[test]
fn round_trip_through_memory() {
    let storage = MemoryStorage::new();
    let persist = Persist::builder("counter", storage.clone(), codec()).build();
    let store = Store::builder(Counter::default())
        .middleware(persist.clone())
        .build();
    assert!(persist.has_hydrated());
    assert!(
        storage.is_empty(),
        "nothing is saved before the first write"
    );
    store.set_state(counter(3, "saved"));
    assert_eq!(
        storage.load("counter").unwrap(),
        Some(b"v0\n3|saved".to_vec())
    );
    store.destroy();

    let persist = Persist::builder("counter", storage.clone(), codec()).build();
    let store = Store::builder(Counter::default())
        .middleware(persist)
        .build();
    assert_eq!(store.get_state(), counter(3, "saved"));
}

#[test]
fn round_trip_through_a_file_replaces_it_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let storage = FileStorage::new(dir.path());
    let build = || {
        let persist = Persist::builder("counter", storage.clone(), codec()).build();
        Store::builder(Counter::default())
            .middleware(persist)
            .build()
    };
    let store = build();
    store.set_state(counter(1, "one"));
    store.set_state(counter(2, "two"));
    store.destroy();
    assert_eq!(fs::read(dir.path().join("counter")).unwrap(), b"v0\n2|two");
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["counter"], "no temporary file is left behind");
    assert_eq!(build().get_state(), counter(2, "two"));
}

#[test]
fn old_versions_are_migrated_and_saved_in_the_new_version() {
    let storage = MemoryStorage::new();
    // Version 1 stored only the count.
    storage.save("counter", b"v1\n41").unwrap();
    let (errors, hook) = error_log();
    let persist = Persist::builder("counter", storage.clone(), codec())
        .version(2)
        .migrate(|from, data| match from {
            1 => {
                let count: i64 = String::from_utf8_lossy(&data)
                    .parse()
                    .map_err(|e| format!("{e}"))?;
                Ok(counter(count + 1, "migrated"))
            }
            v => Err(format!("cannot migrate version {v}")),
        })
        .on_error(hook)
        .build();
    let store = Store::builder(Counter::default())
        .middleware(persist.clone())
        .build();
    assert_eq!(store.get_state(), counter(42, "migrated"));
    assert_eq!(
        storage.load("counter").unwrap(),
        Some(b"v2\n42|migrated".to_vec())
    );
    assert!(!persist.is_paused());
    assert_eq!(errors.take(), "");
}

#[test]
fn failed_migrations_and_newer_versions_keep_the_default_and_the_data() {
    let storage = MemoryStorage::new();
    let (errors, hook) = error_log();
    let hook = Rc::new(hook);
    for (stored, version) in [(&b"v0\n1|a"[..], 1), (b"v7\n1|a", 1)] {
        storage.save("counter", stored).unwrap();
        let h = hook.clone();
        let persist = Persist::builder("counter", storage.clone(), codec())
            .version(version)
            .on_error(move |e| h(e))
            .build();
        let store = Store::builder(counter(0, "default"))
            .middleware(persist.clone())
            .build();
        assert_eq!(store.get_state(), counter(0, "default"));
        assert!(persist.is_paused());
        store.set_state(counter(5, "new"));
        store.destroy();
        assert_eq!(storage.load("counter").unwrap().as_deref(), Some(stored));
    }
    insta::assert_snapshot!(errors.take(), @r"
    persisted data `counter` could not be migrated from version 0 to 1: no `migrate` function was given
    persisted data `counter` has version 7, newer than the store's version 1
    ");
}

#[test]
fn a_corrupt_file_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counter");
    let corrupt = b"v0\nnot a counter \xff\x00";
    fs::write(&path, corrupt).unwrap();
    let (errors, hook) = error_log();
    let persist = Persist::builder("counter", FileStorage::new(dir.path()), codec())
        .on_error(hook)
        .build();
    let store = Store::builder(counter(0, "default"))
        .middleware(persist.clone())
        .build();
    assert_eq!(store.get_state(), counter(0, "default"));
    assert!(!persist.has_hydrated());
    assert!(persist.is_paused());
    store.set_state(counter(1, "changed"));
    assert!(matches!(persist.flush(), Err(Error::Paused { .. })));
    store.destroy();
    assert_eq!(fs::read(&path).unwrap(), corrupt, "the file is unchanged");
    insta::assert_snapshot!(errors.take(), @"persisted data `counter` could not be decoded: invalid utf-8 sequence of 1 bytes from index 14");
}

#[test]
fn resume_after_a_corrupt_file_allows_overwriting_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counter");
    fs::write(&path, b"garbage").unwrap();
    let persist = Persist::builder("counter", FileStorage::new(dir.path()), codec()).build();
    let store = Store::builder(counter(0, "default"))
        .middleware(persist.clone())
        .build();
    persist.resume();
    store.set_state(counter(2, "fresh"));
    assert_eq!(fs::read(&path).unwrap(), b"v0\n2|fresh");
}

#[test]
fn a_failed_save_keeps_the_old_file_and_the_new_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counter");
    let (errors, hook) = error_log();
    let persist = Persist::builder("counter", FileStorage::new(dir.path()), codec())
        .on_error(hook)
        .build();
    let store = Store::builder(Counter::default())
        .middleware(persist.clone())
        .build();
    store.set_state(counter(1, "saved"));
    assert_eq!(fs::read(&path).unwrap(), b"v0\n1|saved");
    // Block the temporary file's name with a directory: creating it fails, even for root.
    let temp = dir
        .path()
        .join(format!(".counter.{}.tmp", std::process::id()));
    fs::create_dir(&temp).unwrap();
    store.set_state(counter(2, "lost"));
    assert_eq!(
        store.get_state(),
        counter(2, "lost"),
        "the store is updated"
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        b"v0\n1|saved",
        "the old file is intact"
    );
    let message = errors.take();
    assert!(
        message.starts_with("storage `counter`: save failed: "),
        "{message}"
    );
    // Once the obstacle is gone, the next save goes through.
    fs::remove_dir(&temp).unwrap();
    store.set_state(counter(3, "saved again"));
    assert_eq!(fs::read(&path).unwrap(), b"v0\n3|saved again");
    assert_eq!(persist.save_count(), 2);
}

#[test]
fn a_missing_directory_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("gone");
    let (errors, hook) = error_log();
    let persist = Persist::builder("counter", FileStorage::new(&gone), codec())
        .on_error(hook)
        .build();
    let store = Store::builder(Counter::default())
        .middleware(persist)
        .build();
    store.set_state(counter(1, "x"));
    assert_eq!(store.get_state(), counter(1, "x"));
    assert!(errors.take().starts_with("storage `counter`: save failed"));
}

#[test]
fn invalid_file_keys_are_rejected() {
    let storage = FileStorage::new("unused");
    for key in ["", "../x", "a/b", ".hidden"] {
        assert!(
            matches!(storage.save(key, b""), Err(Error::InvalidKey { .. })),
            "{key:?}"
        );
    }
}

#[test]
fn debounce_saves_the_first_write_then_the_latest_state_on_flush_or_destroy() {
    let storage = MemoryStorage::new();
    let persist = Persist::builder("counter", storage.clone(), codec())
        .debounce(Duration::from_secs(3600))
        .build();
    let store = Store::builder(Counter::default())
        .middleware(persist.clone())
        .build();
    store.set_state(counter(1, "a"));
    store.set_state(counter(2, "b"));
    store.set_state(counter(3, "c"));
    assert_eq!(persist.save_count(), 1);
    assert_eq!(storage.load("counter").unwrap(), Some(b"v0\n1|a".to_vec()));
    persist.flush().unwrap();
    persist.flush().unwrap(); // nothing new: no save
    assert_eq!(persist.save_count(), 2);
    assert_eq!(storage.load("counter").unwrap(), Some(b"v0\n3|c".to_vec()));
    store.set_state(counter(4, "d"));
    store.destroy();
    assert_eq!(persist.save_count(), 3);
    assert_eq!(storage.load("counter").unwrap(), Some(b"v0\n4|d".to_vec()));
}

#[test]
fn a_zero_debounce_saves_every_write() {
    let storage = MemoryStorage::new();
    let persist = Persist::builder("counter", storage, codec())
        .debounce(Duration::ZERO)
        .build();
    let store = Store::builder(Counter::default())
        .middleware(persist.clone())
        .build();
    for n in 1..=5 {
        store.update(move |s| s.count = n);
    }
    assert_eq!(persist.save_count(), 5);
}

#[test]
fn hydration_is_not_an_undo_step_and_undo_is_saved() {
    let storage = MemoryStorage::new();
    storage.save("counter", b"v0\n10|stored").unwrap();
    let history = History::new(10);
    let persist = Persist::builder("counter", storage.clone(), codec()).build();
    let store = Store::builder(Counter::default())
        .middleware(persist)
        .middleware(history.clone())
        .build();
    assert_eq!(store.get_state(), counter(10, "stored"));
    assert!(!history.can_undo().get());
    store.update(|s| s.count += 1);
    assert!(history.undo());
    assert_eq!(
        storage.load("counter").unwrap(),
        Some(b"v0\n10|stored".to_vec())
    );
}

#[test]
fn a_storage_that_fails_to_load_pauses_saving() {
    struct Broken(RefCell<u32>);
    impl Storage for Broken {
        fn load(&self, key: &str) -> stateloom_store::Result<Option<Vec<u8>>> {
            Err(Error::Storage {
                key: key.to_owned(),
                operation: "load",
                source: std::io::Error::other("disk on fire"),
            })
        }
        fn save(&self, _key: &str, _data: &[u8]) -> stateloom_store::Result<()> {
            *self.0.borrow_mut() += 1;
            Ok(())
        }
        fn remove(&self, _key: &str) -> stateloom_store::Result<()> {
            Ok(())
        }
    }
    let broken = Rc::new(Broken(RefCell::new(0)));
    let (errors, hook) = error_log();
    let persist = Persist::builder("counter", broken.clone(), codec())
        .on_error(hook)
        .build();
    let store = Store::builder(Counter::default())
        .middleware(persist)
        .build();
    store.set_state(counter(1, "x"));
    store.destroy();
    assert_eq!(*broken.0.borrow(), 0, "nothing was saved");
    insta::assert_snapshot!(errors.take(), @"storage `counter`: load failed: disk on fire");
}

#[cfg(feature = "serde")]
#[test]
fn json_round_trip_and_migration_through_values() {
    use stateloom_store::JsonCodec;

    let storage = MemoryStorage::new();
    let persist = Persist::builder("counter", storage.clone(), JsonCodec).build();
    let store = Store::builder(Counter::default())
        .middleware(persist)
        .build();
    store.set_state(counter(7, "json"));
    store.destroy();
    let saved = String::from_utf8(storage.load("counter").unwrap().unwrap()).unwrap();
    insta::assert_snapshot!(saved, @r#"{"state":{"count":7,"label":"json"},"version":0}"#);

    // Version 1 renames `label` to `name`; migrate an old file through JSON values.
    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Renamed {
        count: i64,
        name: String,
    }
    let persist = Persist::builder("counter", storage.clone(), JsonCodec)
        .version(1)
        .migrate(|from, mut state| {
            if from != 0 {
                return Err(format!("unknown version {from}"));
            }
            let label = state["label"].take();
            state["name"] = label;
            serde_json::from_value(state).map_err(|e| e.to_string())
        })
        .build();
    let store = Store::builder(Renamed {
        count: 0,
        name: String::new(),
    })
    .middleware(persist)
    .build();
    assert_eq!(
        store.get_state(),
        Renamed {
            count: 7,
            name: "json".into()
        }
    );
}

#[cfg(feature = "serde")]
#[test]
fn corrupt_json_never_panics() {
    use proptest::prelude::*;
    use stateloom_store::JsonCodec;

    proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..64))| {
        let storage = MemoryStorage::new();
        storage.save("counter", &bytes).unwrap();
        let persist = Persist::builder("counter", storage.clone(), JsonCodec).build();
        let store = Store::builder(Counter::default()).middleware(persist.clone()).build();
        store.set_state(counter(1, "x"));
        if persist.is_paused() {
            prop_assert_eq!(storage.load("counter").unwrap(), Some(bytes));
        }
    });
}
