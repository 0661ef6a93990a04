//! The crate layering from `DESIGN.md`, written out as the table `tidy` checks against.
//!
//! ```text
//! core  <-  atom, store
//! atom  <-  optimistic, bridge
//! core, store  <-  worker
//! ```

/// Which workspace crates a crate may depend on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Allowed {
    /// Exactly these workspace crates, all strictly below it.
    Only(&'static [&'static str]),
    /// Any workspace crate; for tooling that sits above everything (`xtask`, the benches).
    Any,
}

/// Every workspace crate and the workspace crates it may depend on (normal, build or dev).
///
/// A new crate must be added here, at its layer, before `tidy` passes.
pub(crate) const LAYERS: &[(&str, Allowed)] = &[
    // Layer 0.
    ("stateloom-core", Allowed::Only(&[])),
    // Layer 1.
    ("stateloom-atom", Allowed::Only(&["stateloom-core"])),
    ("stateloom-store", Allowed::Only(&["stateloom-core"])),
    // Layer 2.
    (
        "stateloom-optimistic",
        Allowed::Only(&["stateloom-core", "stateloom-atom"]),
    ),
    (
        "stateloom-bridge",
        Allowed::Only(&["stateloom-core", "stateloom-atom"]),
    ),
    // The worker mirrors stores, not atoms.
    (
        "stateloom-worker",
        Allowed::Only(&["stateloom-core", "stateloom-store"]),
    ),
    // The umbrella re-exports every library crate.
    (
        "stateloom",
        Allowed::Only(&[
            "stateloom-core",
            "stateloom-atom",
            "stateloom-store",
            "stateloom-optimistic",
            "stateloom-bridge",
            "stateloom-worker",
        ]),
    ),
    // The showcase app sits on top of everything, like a user's program.
    ("stateloom-todo", Allowed::Only(&["stateloom"])),
    // Tooling.
    ("stateloom-benches", Allowed::Any),
    ("xtask", Allowed::Any),
];

/// Checks one dependency edge `from -> to` between workspace crates against [`LAYERS`].
///
/// # Errors
///
/// Returns a message for the reader when `from` is not in the table, or when `to` is not
/// among the crates `from` may depend on.
pub(crate) fn check_edge(from: &str, to: &str) -> Result<(), String> {
    let allowed = allowed(from)?;
    match allowed {
        Allowed::Any => Ok(()),
        Allowed::Only(deps) if deps.contains(&to) => Ok(()),
        Allowed::Only(deps) => Err(format!(
            "crate `{from}` depends on `{to}`, which is not below it in the layering (it may \
             depend on: {}): remove the dependency or move the code down a layer; see \
             DESIGN.md, section Layering",
            if deps.is_empty() {
                "no workspace crate".to_owned()
            } else {
                deps.join(", ")
            }
        )),
    }
}

/// What `krate` may depend on, from [`LAYERS`].
///
/// # Errors
///
/// Returns a message telling the reader to add `krate` to the table when it is not there.
pub(crate) fn allowed(krate: &str) -> Result<Allowed, String> {
    match LAYERS.iter().find(|(name, _)| *name == krate) {
        Some((_, allowed)) => Ok(*allowed),
        None => Err(format!(
            "crate `{krate}` is not in the layering table: add it at its layer to `LAYERS` in \
             xtask/src/layering.rs"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_only_points_down() {
        // Each crate's allowed dependencies must appear earlier in the table; otherwise the
        // table itself would allow a cycle or an upward edge.
        for (i, (name, allowed)) in LAYERS.iter().enumerate() {
            if let Allowed::Only(deps) = allowed {
                for dep in *deps {
                    let below = LAYERS[..i].iter().any(|(earlier, _)| earlier == dep);
                    assert!(
                        below,
                        "`{name}` may depend on `{dep}`, which is not listed above it"
                    );
                }
            }
        }
    }

    #[test]
    fn downward_edges_are_accepted() {
        assert_eq!(check_edge("stateloom-atom", "stateloom-core"), Ok(()));
        assert_eq!(check_edge("stateloom-bridge", "stateloom-atom"), Ok(()));
        assert_eq!(check_edge("stateloom-worker", "stateloom-store"), Ok(()));
        assert_eq!(check_edge("stateloom", "stateloom-worker"), Ok(()));
        assert_eq!(check_edge("xtask", "stateloom"), Ok(()));
    }

    #[test]
    fn upward_edge_is_rejected() {
        let err = check_edge("stateloom-core", "stateloom-atom").unwrap_err();
        assert!(
            err.contains("`stateloom-core` depends on `stateloom-atom`"),
            "{err}"
        );
        assert!(err.contains("no workspace crate"), "{err}");
    }

    #[test]
    fn sideways_edges_are_rejected() {
        assert!(check_edge("stateloom-atom", "stateloom-store").is_err());
        assert!(check_edge("stateloom-optimistic", "stateloom-bridge").is_err());
        // The worker sits on stores; atoms are a sibling stack it must not know.
        let err = check_edge("stateloom-worker", "stateloom-atom").unwrap_err();
        assert!(err.contains("stateloom-core, stateloom-store"), "{err}");
    }

    #[test]
    fn a_crate_may_not_depend_on_itself_or_the_umbrella() {
        assert!(check_edge("stateloom-core", "stateloom-core").is_err());
        assert!(check_edge("stateloom-store", "stateloom").is_err());
    }

    #[test]
    fn unknown_crate_is_an_error_pointing_at_the_table() {
        let err = check_edge("stateloom-new", "stateloom-core").unwrap_err();
        assert!(
            err.contains("`stateloom-new` is not in the layering table"),
            "{err}"
        );
        assert!(err.contains("xtask/src/layering.rs"), "{err}");
    }
}
