//! Settings back to environment variables, for the child processes the
//! tests and the bench start: each settings struct writes its own, so a
//! new setting reaches them where it is declared (a test checks that every
//! variable clap reads is written, and reads back the same settings).

use std::fmt::Display;
use std::path::PathBuf;

use clap::ValueEnum;

/// Variables and their values, in the order written. Secrets are in it in
/// clear (the child needs them): no `Debug`, and never log what
/// [`into_vec`](Self::into_vec) returns.
#[derive(Default)]
pub struct Env(Vec<(&'static str, String)>);

impl Env {
    pub fn set(&mut self, name: &'static str, value: impl Display) {
        self.0.push((name, value.to_string()));
    }

    /// Written only when set.
    pub fn set_some(&mut self, name: &'static str, value: Option<impl Display>) {
        if let Some(value) = value {
            self.set(name, value);
        }
    }

    pub fn set_path(&mut self, name: &'static str, value: &Option<PathBuf>) {
        self.set_some(name, value.as_ref().map(|path| path.display()));
    }

    /// A value of a closed set, by its name on the command line.
    pub fn set_choice(&mut self, name: &'static str, value: Option<&impl ValueEnum>) {
        let named = value.and_then(|value| value.to_possible_value());
        self.set_some(name, named.as_ref().map(|value| value.get_name()));
    }

    pub fn into_vec(self) -> Vec<(&'static str, String)> {
        self.0
    }
}
