//! In-memory ports for the use cases' unit tests. Each fake keeps what its AWS service keeps,
//! with the same conditions the adapters rely on: a release is saved only over the revision
//! it was loaded at, a lock is taken only if free (or expired, on takeover), an alias write
//! with a revision is a compare-and-swap. Every change of state goes to one shared journal,
//! so a test can assert what happened in which order (the revert before its record, say).
//!
//! A race is staged with `interleave`: a closure that runs once, just before the named call
//! of the fake, as another writer would (an alarm's revert landing between a step's read and
//! its write).
//!
//! Each twin lives beside its port (`router::memory`, `store::memory`, ...), behind the
//! `testing` feature, so the CLI's tests and `tests/` use them too; this module has what they
//! share, and names them all.

use std::sync::{Arc, Mutex};

use crate::error::{AwsError, AwsErrorKind, Error};
use crate::ports::Ports;

pub use crate::analysis::memory::{DashboardPut, MemoryHealth};
pub use crate::hooks::memory::MemoryHooks;
pub use crate::notifier::memory::MemoryNotifier;
pub use crate::retention::memory::MemoryCatalog;
pub use crate::router::memory::MemoryRouter;
pub use crate::store::memory::{MemoryStore, Records};
pub use crate::workflow::memory::{MemoryAnswers, MemoryStacks, MemoryWorkflow};

/// What changed, in order, across every fake of one test.
#[derive(Clone, Default, Debug)]
pub struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    pub fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Where the first entry starting with `prefix` is, if any.
    pub fn position(&self, prefix: &str) -> Option<usize> {
        self.entries().iter().position(|e| e.starts_with(prefix))
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.entries()
            .iter()
            .filter(|e| e.starts_with(prefix))
            .count()
    }
}

pub type Hook<T> = Box<dyn FnOnce(&mut T) + Send>;

/// Hooks by the name of the call they run before, each run once.
pub struct Hooks<T>(Mutex<Vec<(&'static str, Hook<T>)>>);

impl<T> Default for Hooks<T> {
    fn default() -> Self {
        Hooks(Mutex::new(Vec::new()))
    }
}

impl<T> Hooks<T> {
    pub fn add(&self, call: &'static str, hook: Hook<T>) {
        self.0.lock().unwrap().push((call, hook));
    }

    pub fn run(&self, call: &str, state: &mut T) {
        let hook = {
            let mut hooks = self.0.lock().unwrap();
            let at = hooks.iter().position(|(name, _)| *name == call);
            at.map(|i| hooks.remove(i).1)
        };
        if let Some(hook) = hook {
            hook(state);
        }
    }
}

pub fn aws(operation: &'static str, kind: AwsErrorKind, message: &str) -> Error {
    Error::Aws(AwsError {
        operation,
        kind,
        code: None,
        message: message.to_string(),
    })
}

/// Every port in memory: the use cases over the twins (`ReleaseService<Memory>`).
#[derive(Clone, Debug)]
pub struct Memory;

impl Ports for Memory {
    type Router = MemoryRouter;
    type Store = MemoryStore;
    type Health = MemoryHealth;
    type Notifier = MemoryNotifier;
    type Hooks = MemoryHooks;
    type Workflow = MemoryWorkflow;
    type PlanStops = crate::waves::MemoryPlanStops;
}
