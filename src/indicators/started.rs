//! Beneficiaries by the breakdowns read from their activities (programme,
//! provider, category): a person counts once in each cell whose labels an
//! activity of theirs has, however many such activities they started.
//!
//! Each activity's labels are numbered and packed beside its person into
//! one 64-bit key, so that a person's cells are made distinct by sorting
//! integers; making them distinct by the labels' text took most of a table
//! by programme (`docs/benchmarks.md`, "The report's tables by programme
//! and provider").

use std::collections::BTreeSet;

use anyhow::{ensure, Result};
use polars::prelude::*;

use super::plan::RatesPlan;
use super::rates::{activity_side, dimension_expr, labelled, relabel, source_columns, source_keys, X};
use crate::engine::spread_over_persons;
use crate::reference::Reference;
use crate::table::{Dimension, NOT_AVAILABLE};

const NUMBER: &str = "__number";
const LABEL: &str = "__label";

/// The distinct pairs of a beneficiary and a cell of the activity
/// breakdowns they started an activity in.
pub(super) struct Started {
    dims: Vec<Dimension>,
    /// Each breakdown's labels, numbered in byte order.
    labels: Vec<Vec<String>>,
    /// What a breakdown's label number is multiplied by in a cell's number.
    strides: Vec<u32>,
    /// Sorted and distinct: the person's position in the high 32 bits,
    /// the cell's number (the sum of its label numbers by their strides)
    /// in the low 32.
    pairs: Vec<u64>,
}

impl Started {
    /// The pairs of the counted `activities` by the breakdowns `dims`, all
    /// read from the activities.
    pub(super) fn of(
        activities: &LazyFrame,
        dims: &[Dimension],
        reference: &Reference,
        plan: &RatesPlan,
    ) -> Result<Started> {
        // Read once: each breakdown's labels and the pairs read it again.
        let mut read = vec![col("id_lav")];
        read.extend(dims.iter().map(|d| col(source_column(*d))));
        let activities = &activities.clone().select(read).collect()?.lazy();
        let mut labels = Vec::with_capacity(dims.len());
        let mut strides = Vec::with_capacity(dims.len());
        let mut cell = lit(0u32);
        let mut stride: u64 = 1;
        for dim in dims {
            let (number, names) = label_number(activities, *dim, reference, plan)?;
            cell = cell + number * lit(stride as u32);
            strides.push(stride as u32);
            stride *= names.len().max(1) as u64;
            ensure!(
                stride <= u32::MAX as u64,
                "the activity breakdowns {dims:?} have more than 2^32 cells between them: ask for fewer of them"
            );
            labels.push(names);
        }
        let numbered = activities
            .clone()
            .select([col("id_lav"), cell.alias(NUMBER)])
            .collect()?;
        let persons = numbered.column("id_lav")?.idx()?;
        let cells = numbered.column(NUMBER)?.u32()?;
        let pairs = distinct(
            persons
                .into_no_null_iter()
                .zip(cells.into_no_null_iter())
                .map(|(person, cell)| pair(person, cell))
                .collect(),
        );
        Ok(Started {
            dims: dims.to_vec(),
            labels,
            strides,
            pairs,
        })
    }

    /// The distinct pairs of a person and their label numbers in the
    /// breakdowns `kept` (some of [`Started::of`]'s): the persons, then a
    /// column of label numbers per kept breakdown, named after it.
    fn by(&self, kept: &[Dimension]) -> (IdxCa, Vec<Column>) {
        let at: Vec<usize> = kept
            .iter()
            .map(|d| self.dims.iter().position(|x| x == d).expect("a breakdown counted"))
            .collect();
        let number = |cell: u32, i: usize| (cell / self.strides[i]) % self.labels[i].len().max(1) as u32;
        let kept_pairs = if at.len() == self.dims.len() {
            std::borrow::Cow::Borrowed(&self.pairs)
        } else {
            let narrowed = self.pairs.iter().map(|key| {
                let (person, cell) = unpair(*key);
                pair(person, at.iter().map(|&i| number(cell, i) * self.strides[i]).sum())
            });
            std::borrow::Cow::Owned(distinct(narrowed.collect()))
        };
        let persons: IdxCa = kept_pairs.iter().map(|key| unpair(*key).0).collect_ca("id_lav".into());
        let columns = kept
            .iter()
            .zip(&at)
            .map(|(dim, &i)| {
                let numbers: UInt32Chunked = kept_pairs
                    .iter()
                    .map(|key| number(unpair(*key).1, i))
                    .collect_ca(dim.name().into());
                numbers.into_column()
            })
            .collect();
        (persons, columns)
    }
}

fn pair(person: IdxSize, cell: u32) -> u64 {
    (u64::from(person) << 32) | u64::from(cell)
}

fn unpair(key: u64) -> (IdxSize, u32) {
    ((key >> 32) as IdxSize, key as u32)
}

fn distinct(mut pairs: Vec<u64>) -> Vec<u64> {
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// A breakdown's label as a number, and the labels numbered. The label is
/// [`dimension_expr`]'s, computed once per distinct value of the column it
/// reads rather than once per activity.
fn label_number(
    activities: &LazyFrame,
    dim: Dimension,
    reference: &Reference,
    plan: &RatesPlan,
) -> Result<(Expr, Vec<String>)> {
    let source = source_column(dim);
    let values = activities
        .clone()
        .select([col(source)])
        .unique(None, UniqueKeepStrategy::Any)
        .with_column(dimension_expr(dim, reference, plan).alias(LABEL))
        .collect()?;
    // `dimension_expr` labels a missing value `ND`, never null.
    let labels: Vec<&str> = values
        .column(LABEL)?
        .str()?
        .iter()
        .map(|l| l.unwrap_or(NOT_AVAILABLE))
        .collect();
    let names: Vec<String> = labels
        .iter()
        .map(|l| l.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let numbers: Vec<u32> = labels
        .iter()
        .map(|l| {
            names
                .binary_search_by(|n| n.as_str().cmp(l))
                .expect("every label is numbered") as u32
        })
        .collect();
    let source_values = values.column(source)?.as_materialized_series();
    let known = source_values.is_not_null();
    let missing = numbers
        .iter()
        .zip(known.iter())
        .find(|(_, known)| *known == Some(false))
        .map_or(0, |(n, _)| *n);
    let old = source_values.filter(&known)?;
    let new = Series::new(PlSmallStr::EMPTY, numbers).filter(&known)?;
    let number = col(source)
        .replace_strict(lit(old), lit(new), Some(lit(missing)), Some(DataType::UInt32))
        .fill_null(lit(missing));
    Ok((number, names))
}

/// The column of the activities an activity breakdown is read from.
fn source_column(dim: Dimension) -> &'static str {
    let &[source] = source_columns(dim) else {
        unreachable!("an activity breakdown reads one column")
    };
    source
}

/// The beneficiaries `X` by the labels of the person breakdowns and of each
/// set of activity breakdowns that a grouping set keeps. A person may start
/// activities of several programmes or categories, so they are counted
/// afresh for each such set, not summed over the breakdowns a set drops.
///
/// `eligible` holds a row per eligible person, of the `persons` of the
/// extract: each activity's person is found there by position, as an inner
/// join on `id_lav` would find them, without the join's hash table.
pub(super) fn started_by_activity_breakdowns(
    started: &Started,
    eligible: &DataFrame,
    persons: usize,
    sources: &[&str],
    labels: &[Expr],
    grouping_sets: &[Vec<Dimension>],
) -> Result<Vec<(Vec<Dimension>, LazyFrame)>> {
    let rows = IdxCa::from_vec("row".into(), (0..eligible.height() as IdxSize).collect());
    let row_of_person = spread_over_persons(eligible.column("id_lav")?.idx()?, &rows, persons)?;
    let eligible_sources = eligible.select(sources.iter().copied())?;
    let mut counted_sets: Vec<(Vec<Dimension>, LazyFrame)> = Vec::new();
    for kept in grouping_sets {
        let dims = activity_side(kept);
        if dims.is_empty() || counted_sets.iter().any(|(counted, _)| *counted == dims) {
            continue;
        }
        let (beneficiaries, numbers) = started.by(&dims);
        let rows = row_of_person.take(&beneficiaries)?;
        let eligible_row = rows.is_not_null();
        let mut by_person = eligible_sources.take(&rows.filter(&eligible_row)?)?;
        for number in numbers {
            by_person.with_column(number.filter(&eligible_row)?)?;
        }
        let mut keys = source_keys(sources);
        keys.extend(dims.iter().map(|d| col(d.name())));
        let as_labels: Vec<Expr> = dims
            .iter()
            .map(|d| {
                let at = started.dims.iter().position(|x| x == d).expect("a breakdown counted");
                relabel(d.name(), started.labels[at].iter().map(String::as_str)).alias(d.name())
            })
            .collect();
        let by_codes = by_person
            .lazy()
            .group_by(keys)
            .agg([len().alias(X)])
            .with_columns(as_labels);
        let mut counted: Vec<&str> = dims.iter().map(|d| d.name()).collect();
        counted.push(X);
        let by_labels = labelled(by_codes, labels, &counted).collect()?.lazy();
        counted_sets.push((dims, by_labels));
    }
    Ok(counted_sets)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use polars::prelude::*;
    use proptest::prelude::*;

    use super::Started;
    use crate::indicators::plan::{Period, Population, RatesPlan, Selection, SelectionName};
    use crate::reference::Reference;
    use crate::table::{Dimension, NOT_AVAILABLE, PROGRAMMES, PROVIDERS};

    fn label(codes: &[&str], code: Option<u32>) -> String {
        code.map_or(NOT_AVAILABLE.to_string(), |c| codes[c as usize].to_string())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Activities of persons in any order, programmes and providers
        /// missing or repeated: each person is paired once with each set of
        /// labels they started, for both breakdowns and for each alone.
        #[test]
        fn each_person_is_paired_once_with_each_set_of_labels_they_started(
            activities in proptest::collection::vec(
                (0u32..50, proptest::option::of(0u32..PROGRAMMES.len() as u32), proptest::option::of(0u32..PROVIDERS.len() as u32)),
                0..200,
            ),
        ) {
            let frame = DataFrame::new_infer_height(vec![
                IdxCa::from_vec("id_lav".into(), activities.iter().map(|a| a.0).collect()).into_column(),
                UInt32Chunked::from_iter_options("programma".into(), activities.iter().map(|a| a.1)).into_column(),
                UInt32Chunked::from_iter_options("ente".into(), activities.iter().map(|a| a.2)).into_column(),
            ]).unwrap().lazy();
            let reference = Reference::load(None).unwrap();
            let plan = RatesPlan {
                period: Period::year(2024).unwrap(),
                population: Population::Stock,
                selection: Selection::named(SelectionName::Tutte),
                dims: vec![Dimension::Programma, Dimension::Ente],
                top: None,
                margins: true,
                confidence: 0.95,
                threshold: None,
            };
            let started = Started::of(&frame, &plan.dims, &reference, &plan).unwrap();
            for kept in [vec![Dimension::Programma, Dimension::Ente], vec![Dimension::Programma], vec![Dimension::Ente]] {
                let expected: BTreeSet<(u32, Vec<String>)> = activities
                    .iter()
                    .map(|(person, programme, provider)| {
                        let labels = kept.iter().map(|d| match d {
                            Dimension::Programma => label(&PROGRAMMES, *programme),
                            _ => label(&PROVIDERS, *provider),
                        });
                        (*person, labels.collect())
                    })
                    .collect();
                let (persons, numbers) = started.by(&kept);
                let found: Vec<(u32, Vec<String>)> = (0..persons.len())
                    .map(|row| {
                        let labels = kept.iter().zip(&numbers).map(|(d, column)| {
                            let at = started.dims.iter().position(|x| x == d).unwrap();
                            let number = column.u32().unwrap().get(row).unwrap();
                            started.labels[at][number as usize].clone()
                        });
                        (persons.get(row).unwrap(), labels.collect())
                    })
                    .collect();
                prop_assert_eq!(found.len(), expected.len(), "no pair twice");
                prop_assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), expected);
            }
        }
    }
}
