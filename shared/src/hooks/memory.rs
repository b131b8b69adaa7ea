//! Traffic hooks in memory: each hook answers from its script, in turn (the last answer
//! repeats), and every call is kept with its payload. A hook with no script does not exist:
//! it fails, as Lambda's ResourceNotFound makes the adapter say.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::hooks::{HookPayload, HookVerdict};
use crate::ports::HookCaller;

type BeforeCall = Box<dyn FnOnce() + Send>;

#[derive(Clone, Default)]
pub struct MemoryHooks {
    scripts: Arc<Mutex<HashMap<String, Vec<Result<HookVerdict>>>>>,
    calls: Arc<Mutex<Vec<(String, HookPayload)>>>,
    before_call: Arc<Mutex<Option<BeforeCall>>>,
}

impl MemoryHooks {
    /// `hook` answers these, one per call, the last one from then on.
    pub fn script(&self, hook: &str, answers: Vec<Result<HookVerdict>>) {
        self.scripts.lock().unwrap().insert(hook.into(), answers);
    }

    /// Every call so far: the hook and what it was told.
    pub fn calls(&self) -> Vec<(String, HookPayload)> {
        self.calls.lock().unwrap().clone()
    }

    /// Runs `act` once, while the next hook call is in flight (as an operator acting then).
    pub fn while_calling(&self, act: impl FnOnce() + Send + 'static) {
        *self.before_call.lock().unwrap() = Some(Box::new(act));
    }
}

impl HookCaller for MemoryHooks {
    fn allowed(&self) -> Option<&str> {
        Some("orders-*")
    }

    async fn call(&self, hook: &str, payload: &HookPayload) -> Result<HookVerdict> {
        self.calls
            .lock()
            .unwrap()
            .push((hook.to_string(), payload.clone()));
        let act = self.before_call.lock().unwrap().take();
        if let Some(act) = act {
            act();
        }
        let count = self.calls().iter().filter(|(h, _)| h == hook).count();
        let scripts = self.scripts.lock().unwrap();
        let Some(answers) = scripts.get(hook).filter(|a| !a.is_empty()) else {
            return Ok(HookVerdict::Failed {
                reason: format!("hook {hook} could not be invoked: Function not found"),
            });
        };
        match &answers[count.min(answers.len()) - 1] {
            Ok(verdict) => Ok(verdict.clone()),
            Err(e) => Err(crate::Error::BadRequest(e.to_string())),
        }
    }
}
