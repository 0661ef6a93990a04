//! Values from different crates in one graph: store selectors read by atoms, atoms and
//! stores read by one core computed, and one batch across all of them.

use std::cell::RefCell;
use std::rc::Rc;

use stateloom::atom::{AtomScope, atom, derived};
use stateloom::core::{batch, computed, effect, signal};
use stateloom::store::Store;

#[derive(Clone, Debug, PartialEq)]
struct Cart {
    items: Vec<(&'static str, i64)>,
    coupon: Option<&'static str>,
}

fn cart() -> Store<Cart> {
    Store::new(Cart {
        items: vec![("tea", 4)],
        coupon: None,
    })
}

#[test]
fn a_derived_atom_reads_a_store_selector_and_recomputes_only_when_it_changes() {
    let store = cart();
    let subtotal = store.select(|c| c.items.iter().map(|(_, p)| p).sum::<i64>());
    let tax_rate = atom(10_i64);
    let recomputes = Rc::new(RefCell::new(0));
    let r = recomputes.clone();
    let total = derived(move |get| {
        *r.borrow_mut() += 1;
        let sub = subtotal.get();
        sub + sub * get.get(tax_rate) / 100
    });
    let scope = AtomScope::new();
    assert_eq!(scope.get(total), 4);

    store.update(|c| c.items.push(("cake", 6)));
    assert_eq!(scope.get(total), 11);
    // The coupon does not change the subtotal: the selector cuts the update off.
    store.update(|c| c.coupon = Some("SPRING"));
    assert_eq!(scope.get(total), 11);
    scope.set(tax_rate, 20);
    assert_eq!(scope.get(total), 12);
    assert_eq!(*recomputes.borrow(), 3);
}

#[test]
fn one_batch_across_signals_atoms_and_stores_runs_an_effect_once() {
    let store = cart();
    let items = store.select(|c| c.items.len() as i64);
    let scope = AtomScope::new();
    let discount = atom(0_i64);
    let multiplier = signal(1_i64);
    let d = scope.bind(discount);
    let summary = computed(move || {
        use stateloom::core::Subscribable as _;
        (items.get() - d.get()) * multiplier.get()
    });
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    let e = effect(move || log.borrow_mut().push(summary.get()));

    batch(|| {
        store.update(|c| c.items.push(("jam", 3)));
        scope.set(discount, 1);
        multiplier.set(10);
    });
    assert_eq!(*seen.borrow(), [1, 10]);
    e.dispose();
}

#[test]
fn atom_subscribers_see_store_writes_made_by_a_writable_atom_once() {
    use stateloom::atom::writable_atom;

    let store = cart();
    let count = store.select(|c| c.items.len());
    let label = atom("none");
    // A writable atom that writes an atom and the store in one call.
    let s = store.clone();
    let add = writable_atom(
        move |_| count.get(),
        move |set, item: &'static str| {
            set.set(label, item);
            s.update(move |c| c.items.push((item, 1)));
        },
    );
    let scope = AtomScope::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    let _sub = scope.sub(add, move |n| log.borrow_mut().push(*n));
    scope.write(add, "milk");
    scope.write(add, "eggs");
    assert_eq!(*seen.borrow(), [2, 3]);
    assert_eq!(scope.get(label), "eggs");
}
