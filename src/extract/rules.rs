//! Rules as polars expressions: which rows break one, the first broken
//! rule's reason and value, and stage 2's rules against the as-of date.

use anyhow::Result;
use chrono::{Datelike, NaiveDate};
use polars::prelude::*;

use crate::engine::{date_lit, is_in_series, null_of};

use crate::extract::reader::{BROKEN, LINE, RULE, VALUE};
use crate::extract::reject::{shorten, Problem, Reject};
use crate::extract::resolve::may_repeat;
use crate::extract::schema::{FileSpec, Kind};

/// One check: rows where `invalid` is true are rejected with `reason`,
/// reporting `value` (a string expression) for `column`.
#[derive(Clone)]
pub(super) struct Rule {
    pub(super) problem: Problem,
    pub(super) column: String,
    pub(super) reason: String,
    pub(super) invalid: Expr,
    pub(super) value: Expr,
}

/// `__broken`: whether the row breaks any rule. A null check (a comparison
/// with a missing value) is not broken.
pub(super) fn any_broken(rules: &[Rule]) -> Expr {
    rules
        .iter()
        .fold(lit(false), |any, r| any.or(r.invalid.clone().fill_null(lit(false))))
        .alias(BROKEN)
}

/// `__rule` (index of the first broken rule).
pub(super) fn rule_index(rules: &[Rule]) -> Expr {
    let index: Vec<Expr> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            when(r.invalid.clone())
                .then(lit(i as u32))
                .otherwise(null_of(DataType::UInt32))
        })
        .collect();
    coalesce(&index).alias(RULE)
}

/// What the broken rule saw; it reads `__rule`, which must exist already, so
/// the rules are evaluated once per row and not once per rule.
pub(super) fn rule_value(rules: &[Rule]) -> Expr {
    rules
        .iter()
        .enumerate()
        .fold(null_of(DataType::String), |acc, (i, r)| {
            when(col(RULE).eq(lit(i as u32)))
                .then(r.value.clone().cast(DataType::String))
                .otherwise(acc)
        })
        .alias(VALUE)
}

/// Splits a frame holding `__broken` into the rows kept (as the `kept`
/// columns) and the rejects. Which rule a row broke, and the value it saw,
/// are worked out for the rejected rows only, taken from `rows` (given the
/// line numbers): on a clean file the checks cost one boolean per row and
/// keeping the rows costs no copy.
pub(super) fn split(
    frame: DataFrame,
    rules: &[Rule],
    kept: &[Expr],
    file: &str,
    rows: impl FnOnce(Series) -> Result<LazyFrame>,
) -> Result<(DataFrame, Vec<Reject>)> {
    let broken = frame.column(BROKEN)?.bool()?.sum().unwrap_or(0);
    if broken == 0 {
        return Ok((frame.lazy().select(kept).collect()?, Vec::new()));
    }
    let broken_lines = frame
        .clone()
        .lazy()
        .filter(col(BROKEN))
        .select([col(LINE)])
        .collect()?
        .column(LINE)?
        .as_materialized_series()
        .clone();
    let rejected = rows(broken_lines)?
        .with_column(rule_index(rules))
        .with_column(rule_value(rules))
        .select([col(LINE), col(RULE), col(VALUE)])
        .sort([LINE], SortMultipleOptions::default())
        .collect()?;
    let lines = rejected.column(LINE)?.idx()?;
    let indexes = rejected.column(RULE)?.u32()?;
    let values = rejected.column(VALUE)?.str()?;
    let rejects = lines
        .iter()
        .zip(indexes.iter())
        .zip(values.iter())
        .map(|((line, index), value)| {
            let rule = &rules[index.expect("a broken row breaks a rule") as usize];
            Reject {
                file: file.to_string(),
                line: line.map_or(0, u64::from),
                column: rule.column.clone(),
                value: shorten(value.unwrap_or("")),
                reason: rule.reason.clone(),
                problem: rule.problem,
            }
        })
        .collect();
    let frame = frame.lazy().filter(col(BROKEN).not()).select(kept).collect()?;
    Ok((frame, rejects))
}

/// Evaluates rules on an already typed frame and removes the rows they reject.
pub(super) fn apply_rules(frame: &mut DataFrame, rules: &[Rule], file: &str) -> Result<Vec<Reject>> {
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    // Mostly none is broken (no date can pass the default as-of date, the
    // latest in the files): asked first, no row is copied then.
    let broken = frame.clone().lazy().select([any_broken(rules).any(true)]).collect()?;
    if !broken.column(BROKEN)?.bool()?.get(0).unwrap_or(false) {
        return Ok(Vec::new());
    }
    let kept: Vec<Expr> = frame
        .get_column_names()
        .into_iter()
        .map(|name| col(name.clone()))
        .collect();
    let checked = frame.clone().lazy().with_column(any_broken(rules)).collect()?;
    let (kept, rejects) = split(checked.clone(), rules, &kept, file, |_| {
        Ok(checked.lazy().filter(col(BROKEN)))
    })?;
    *frame = kept;
    Ok(rejects)
}

pub(super) fn format_date(column: &str) -> Expr {
    col(column).dt().to_string("%d/%m/%Y")
}

/// Stage 2: dates after the as-of date, birth years too recent, duplicate
/// ids (but in the identifiers `distinct` says hold no value twice).
pub(super) fn as_of_rules(
    spec: &FileSpec,
    as_of: NaiveDate,
    frame: &DataFrame,
    distinct: &[&str],
) -> Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for column in spec.columns {
        match column.kind {
            Kind::Date => rules.push(Rule {
                problem: Problem::AfterAsOf,
                column: column.name.to_string(),
                reason: format!("after the as-of date {}", as_of.format("%d/%m/%Y")),
                invalid: col(column.name).gt(date_lit(as_of)),
                value: format_date(column.name),
            }),
            Kind::Year => {
                let latest = as_of.year() - 14;
                rules.push(Rule {
                    problem: Problem::BadYear,
                    column: column.name.to_string(),
                    reason: format!("birth year after {latest} (younger than 14 at the as-of date)"),
                    invalid: col(column.name).gt(lit(latest)),
                    value: col(column.name).cast(DataType::String),
                });
            }
            _ => {}
        }
    }
    for column in spec.columns.iter().filter(|c| c.kind == Kind::Id) {
        // An analysis drops an identifier after stage 1 when it cannot repeat.
        if distinct.contains(&column.name) || frame.column(column.name).is_err() || !may_repeat(frame, column.name)? {
            continue;
        }
        rules.push(Rule {
            problem: Problem::Duplicate,
            column: column.name.to_string(),
            reason: format!("duplicate {}: every row with this value is rejected", column.name),
            invalid: col(column.name).is_duplicated(),
            value: col(column.name),
        });
    }
    Ok(rules)
}

/// Drops from a checked frame the rows whose line is in `lines`.
pub(super) fn drop_lines(frame: &mut DataFrame, lines: Series) -> Result<()> {
    if !lines.is_empty() {
        *frame = std::mem::take(frame)
            .lazy()
            .filter(is_in_series(col(LINE), lines).not())
            .collect()?;
    }
    Ok(())
}
