//! What the toolkit computes: populations, activity selection and access
//! rates by breakdown (`spec/indicators.md`), and their comparison with
//! Italian citizens. The queries run in polars; results are plain tables.

mod cells;
pub mod gap;
pub mod outcomes;
pub mod plan;
mod population;
pub mod publish;
mod rates;
mod reference_spell;
mod started;
pub mod survival;

pub use gap::{Standard, GAP_ALSO_BY};
pub use plan::{Period, Population, RatesPlan, Selection};
pub use population::Memo;
pub use publish::{publish, publish_one, publish_with, Answer, Publication, Question};
pub use rates::{columns_read, compute, RatesResult};
