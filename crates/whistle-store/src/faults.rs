//! Surviving defects: panics caught at the writer's boundaries, and fault injection for the tests
//! that prove it (feature `failpoints`, which the test builds enable; release builds compile the
//! points away).
//!
//! A point is armed with `fail::cfg(NAME, "return(MARKER)")`: it then panics for a command whose
//! request text contains `MARKER`, so tests running side by side stay unaffected. Points:
//! `decide` (inside one command's decision), `plan` (the SQLite planner, a whole batch),
//! `write` (inside a write transaction, a whole batch, both backends).

use std::any::Any;

use crate::plan::Item;
#[cfg(feature = "failpoints")]
use crate::types::Request;

/// The text of a caught panic, for the log.
pub(crate) fn panic_text(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Panics when the point is armed and `text` carries its marker.
#[cfg(feature = "failpoints")]
pub(crate) fn panic_if_marked(point: &str, text: &str) {
    if let Some(Some(marker)) = fail::eval(point, |arg| arg) {
        if !marker.is_empty() && text.contains(&marker) {
            panic!("injected panic at failpoint {point}");
        }
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub(crate) fn panic_if_marked(_point: &str, _text: &str) {}

/// [`panic_if_marked`] for any intake of a batch.
#[cfg(feature = "failpoints")]
pub(crate) fn panic_if_batch_marked(point: &str, items: &[Item]) {
    for (envelope, _) in items {
        if let Request::Intake { intake, .. } | Request::IntakeAndDispatch { intake, .. } =
            &envelope.request
        {
            panic_if_marked(point, &intake.text);
        }
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub(crate) fn panic_if_batch_marked(_point: &str, _items: &[Item]) {}

/// Whether a component (a writer thread or task, a planner, a worker) is running: set while it
/// runs, cleared when it ends for any reason, a panic included.
#[derive(Clone, Debug, Default)]
pub struct Liveness(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Liveness {
    pub fn is_running(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Marks the component running until the returned guard is dropped.
    pub fn running(&self) -> LivenessGuard {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        LivenessGuard(self.clone())
    }
}

pub struct LivenessGuard(Liveness);

impl Drop for LivenessGuard {
    fn drop(&mut self) {
        self.0 .0.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}
