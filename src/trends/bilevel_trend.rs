//! `sec5.warm_start`: pairs of Algorithm 1 runs (cold and warm inner starts).

use super::file::Experiment;
use super::run::{ExampleCurves, PairResult};
use crate::error::{Error, Result};

/// One pair of the bilevel experiment.
pub fn pair(_ex: &Experiment, _seed: u64, _want: bool) -> Result<(PairResult, Option<ExampleCurves>)> {
    Err(Error::Numerical("the bilevel experiment is not built yet".into()))
}
