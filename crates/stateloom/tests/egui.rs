//! The egui integration, headless: a context run without a window.
#![cfg(feature = "egui")]

use stateloom::core::{computed, signal};
use stateloom::egui::repaint_on_change;

/// Runs frames until egui asks for no more.
fn settle(ctx: &egui::Context, label: impl Fn() -> String) {
    for _ in 0..3 {
        let _ = ctx.run(egui::RawInput::default(), |ctx| {
            egui::CentralPanel::default().show(ctx, |ui| ui.label(label()));
        });
    }
    assert!(!ctx.has_requested_repaint(), "egui did not settle");
}

#[test]
fn a_change_asks_for_a_repaint_and_an_equal_write_does_not() {
    let ctx = egui::Context::default();
    let count = signal(0);
    let _repaint = repaint_on_change(&ctx, &count);
    settle(&ctx, || count.get().to_string());
    count.set(0);
    assert!(!ctx.has_requested_repaint());
    count.set(1);
    assert!(ctx.has_requested_repaint());
}

#[test]
fn a_derived_value_repaints_only_when_it_changes() {
    let ctx = egui::Context::default();
    let count = signal(1);
    let parity = computed(move || count.get() % 2);
    let _repaint = repaint_on_change(&ctx, &parity);
    settle(&ctx, || parity.get().to_string());
    count.set(3); // parity stays 1
    assert!(!ctx.has_requested_repaint());
    count.set(4);
    assert!(ctx.has_requested_repaint());
}

#[test]
fn unsubscribing_stops_the_repaints() {
    let ctx = egui::Context::default();
    let count = signal(0);
    let repaint = repaint_on_change(&ctx, &count);
    settle(&ctx, || count.get().to_string());
    repaint.unsubscribe();
    count.set(5);
    assert!(!ctx.has_requested_repaint());
}
