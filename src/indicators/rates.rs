//! Access rates: eligible persons and beneficiaries per cell of a breakdown,
//! with margins, as one polars query over the validated extract.

use anyhow::Result;
use polars::prelude::*;

use super::plan::{RatesPlan, Selection};
use super::population::{Eligible, Memo, BENEFICIARY};
use super::started::{started_by_activity_breakdowns, Started};
use crate::engine::{collect_streaming, is_one_of};
use crate::extract::schema::FileKind;
use crate::extract::Extract;
use crate::reference::{Reference, ITALY};
use crate::table::{
    CellStatus, Codebook, Dimension, Lang, Row, Table, AGE_CLASSES, NOT_AVAILABLE, OTHER_CITIZENSHIPS, PROGRAMMES,
    PROVIDERS, TOTAL,
};

/// A rates table and what the analyst must know to read it.
#[derive(Debug, Clone)]
pub struct RatesResult {
    pub table: Table,
    /// Cohort only: persons whose follow-up window passes the as-of date
    /// (counted, unless `complete_followup` dropped them).
    pub incomplete_followup: u64,
}

pub(super) const N: &str = "__n";
pub(super) const X: &str = "__x";

pub fn compute(extract: &Extract, reference: &Reference, plan: &RatesPlan, memo: &Memo) -> Result<RatesResult> {
    plan.check()?;
    let Eligible {
        persons: eligible,
        activities,
        incomplete_followup,
    } = memo.eligible(extract, reference, plan)?;

    let person_dims = person_side(&plan.dims);
    // Persons are counted by the columns their breakdowns are read from and
    // labelled once counted: labelling every person first built a text
    // column per breakdown for millions of rows and grouped by text. Each
    // person falls in one group of codes, so the counts of the groups that
    // share a label add up to the label's.
    let mut sources: Vec<&str> = Vec::new();
    for column in person_dims.iter().flat_map(|d| source_columns(*d)) {
        if !sources.contains(column) {
            sources.push(column);
        }
    }
    let mut person_columns = vec![col("id_lav"), col(BENEFICIARY)];
    person_columns.extend(source_keys(&sources));
    let mut eligible = eligible.select(person_columns);
    let beneficiary_dims = activity_side(&plan.dims);
    // With activity breakdowns: the activities' detail, and the eligible
    // persons they count.
    let activity_breakdowns = if beneficiary_dims.is_empty() {
        None
    } else {
        // The activity breakdowns count beneficiaries from the eligible
        // persons once per set of them: materialise the persons once.
        let persons = eligible.collect()?;
        eligible = persons.clone().lazy();
        Some((Started::of(&activities, &beneficiary_dims, reference, plan)?, persons))
    };
    let counts = [len().alias(N), col(BENEFICIARY).sum().alias(X)];
    // Streamed: polars' streaming engine groups millions of persons by a
    // few codes several times faster than its in-memory engine.
    let by_codes = collect_streaming(grouped(eligible.clone(), source_keys(&sources), counts.to_vec()))?.lazy();
    let mut labels: Vec<Expr> = Vec::with_capacity(person_dims.len());
    for dim in &person_dims {
        let mut label = dimension_expr(*dim, reference, plan);
        if let (Dimension::Cittadinanza, Some(top)) = (dim, plan.top) {
            label = pooled_citizenship(by_codes.clone(), label, top)?;
        }
        labels.push(label.alias(dim.name()));
    }
    let by_labels = labelled(by_codes, &labels, &[N, X]).collect()?.lazy();
    // A published table holds its margins, printed or not: protection
    // treats them as public, since another command prints them.
    let grouping_sets = grouping_sets(
        &plan.dims,
        plan.margins || (plan.threshold.is_some() && !plan.dims.is_empty()),
    );
    let started = match &activity_breakdowns {
        Some((activities, eligible)) => {
            let persons = extract.frame(FileKind::Persons)?.height();
            started_by_activity_breakdowns(activities, eligible, persons, &sources, &labels, &grouping_sets)?
        }
        None => Vec::new(),
    };

    let mut parts = Vec::new();
    for kept in &grouping_sets {
        let dims = activity_side(kept);
        let started = started
            .iter()
            .find(|(counted, _)| *counted == dims)
            .map(|(_, frame)| frame);
        let part = cell_counts(&by_labels, started, kept, plan)?;
        let mut columns: Vec<Expr> = plan
            .dims
            .iter()
            .map(|d| {
                if kept.contains(d) {
                    col(d.name())
                } else {
                    lit(TOTAL).alias(d.name())
                }
            })
            .collect();
        columns.push(col(N).cast(DataType::UInt64));
        columns.push(col(X).cast(DataType::UInt64));
        parts.push(part.select(columns));
    }
    let cells = concat(parts, UnionArgs::default())?.collect()?;

    let mut rows = Vec::with_capacity(cells.height());
    let keys: Vec<&StringChunked> = plan
        .dims
        .iter()
        .map(|d| cells.column(d.name()).and_then(|c| c.str()))
        .collect::<PolarsResult<_>>()?;
    let n = cells.column(N)?.u64()?;
    let x = cells.column(X)?.u64()?;
    for i in 0..cells.height() {
        rows.push(Row {
            keys: keys
                .iter()
                .map(|k| k.get(i).unwrap_or(NOT_AVAILABLE).to_string())
                .collect(),
            population: n.get(i).unwrap_or(0),
            beneficiaries: x.get(i).unwrap_or(0),
            status: CellStatus::Publishable,
        });
    }
    let mut table = Table {
        dims: plan.dims.clone(),
        rows,
        confidence: plan.confidence,
        margins_shown: plan.margins,
    };
    table.sort(&Codebook::new(reference, Lang::It));
    Ok(RatesResult {
        table,
        incomplete_followup,
    })
}

/// The breakdowns read from the person and the reference spell (a person
/// counts in one of their cells).
fn person_side(dims: &[Dimension]) -> Vec<Dimension> {
    dims.iter().copied().filter(|d| !d.is_beneficiary_side()).collect()
}

/// The breakdowns read from the activities (a person may count in several
/// of their cells).
pub(super) fn activity_side(dims: &[Dimension]) -> Vec<Dimension> {
    dims.iter().copied().filter(|d| d.is_beneficiary_side()).collect()
}

/// Counts by codes given their labels: the label columns, then `counted`.
pub(super) fn labelled(by_codes: LazyFrame, labels: &[Expr], counted: &[&str]) -> LazyFrame {
    let mut columns = labels.to_vec();
    columns.extend(counted.iter().map(|c| col(*c)));
    by_codes.select(columns)
}

/// The columns of the extract that a table by `dims` under `selection`
/// reads: what finds the persons, their spells and activities, and what
/// the breakdowns and the selection read. A single table loads no other,
/// so a cached one reads no other from the Parquet files (at 10 million
/// persons, the job centres' codes alone are 11 million strings).
pub fn columns_read(dims: &[Dimension], selection: &Selection) -> Vec<&'static str> {
    let mut columns = vec![
        "id_lav",
        "id_did",
        "data_did",
        "data_fine",
        "cod_attivita",
        "data_inizio",
        "esito",
    ];
    if selection.programmes.is_some() {
        columns.push("programma");
    }
    if selection.providers.is_some() {
        columns.push("ente");
    }
    for column in dims.iter().flat_map(|d| source_columns(*d)) {
        if !columns.contains(column) {
            columns.push(column);
        }
    }
    columns
}

/// The values of a code or enumeration column, in the order the extract
/// numbers them (analyses hold such columns as positions in this list).
pub(super) fn coded_values<'a>(file: FileKind, column: &str, reference: &'a Reference) -> Vec<&'a str> {
    file.spec()
        .column(column)
        .and_then(|c| c.kind.values(reference))
        .unwrap_or_else(|| panic!("{column} is a coded column of {}", file.spec().name))
}

/// A coded column as text: position `i` becomes `labels[i]`, a missing value
/// `ND`. A reference table's columns (`sigla`, `gruppo`) line up with its
/// codes, which `Kind::values` lists in the table's order.
pub(super) fn relabel<'a>(column: &str, labels: impl Iterator<Item = &'a str>) -> Expr {
    let labels: Vec<&str> = labels.collect();
    let positions: Vec<u32> = (0..labels.len() as u32).collect();
    col(column)
        .replace_strict(
            lit(Series::new(PlSmallStr::EMPTY, positions)),
            lit(Series::new(PlSmallStr::EMPTY, labels)),
            Some(lit(NOT_AVAILABLE)),
            Some(DataType::String),
        )
        .fill_null(lit(NOT_AVAILABLE))
}

/// The positions of `wanted` among `values` (a value not there matches nothing).
pub(super) fn positions<S: AsRef<str>>(values: &[&str], wanted: &[S]) -> Series {
    let found: Vec<u32> = wanted
        .iter()
        .filter_map(|w| values.iter().position(|v| *v == w.as_ref()))
        .map(|p| p as u32)
        .collect();
    Series::new(PlSmallStr::EMPTY, found)
}

/// `aggregates` by `keys`, or over the whole frame when there are none.
pub(super) fn grouped(frame: LazyFrame, keys: Vec<Expr>, aggregates: Vec<Expr>) -> LazyFrame {
    if keys.is_empty() {
        frame.select(aggregates)
    } else {
        frame.group_by(keys).agg(aggregates)
    }
}

pub(super) fn source_keys(sources: &[&str]) -> Vec<Expr> {
    sources.iter().map(|c| col(*c)).collect()
}

/// The columns [`dimension_expr`] reads for a breakdown.
pub(super) fn source_columns(dim: Dimension) -> &'static [&'static str] {
    match dim {
        Dimension::Provincia => &["prov_cpi"],
        Dimension::Cpi => &["cpi"],
        Dimension::GruppoCittadinanza | Dimension::Straniero | Dimension::Cittadinanza => &["cittadinanza"],
        Dimension::Sesso => &["sesso"],
        Dimension::ClasseEta => &["anno_nascita"],
        Dimension::TitoloStudio => &["titolo_studio"],
        Dimension::MotivoPermesso => &["motivo_permesso"],
        Dimension::ExMsna => &["ex_msna"],
        Dimension::Programma => &["programma"],
        Dimension::Ente => &["ente"],
        Dimension::CategoriaLmp => &["categoria_lmp"],
        Dimension::Linked(column) => std::slice::from_ref(&column.name),
    }
}

/// How a breakdown's code is derived from the person, spell or activity.
pub(super) fn dimension_expr(dim: Dimension, reference: &Reference, plan: &RatesPlan) -> Expr {
    let group = || relabel("cittadinanza", reference.citizenships.iter().map(|c| c.gruppo.as_str()));
    let as_text = |file: FileKind, column: &str| relabel(column, coded_values(file, column, reference).into_iter());
    match dim {
        Dimension::Provincia => relabel("prov_cpi", reference.provinces.iter().map(|p| p.sigla.as_str())),
        Dimension::Cpi => col("cpi"),
        Dimension::GruppoCittadinanza => group(),
        Dimension::Straniero => when(group().eq(lit("ITA")))
            .then(lit("ITA"))
            .when(is_one_of(group(), &["UE", "EXTRA_UE"]))
            .then(lit("STRANIERI"))
            .otherwise(lit(NOT_AVAILABLE)),
        Dimension::Cittadinanza => as_text(FileKind::Persons, "cittadinanza"),
        Dimension::Sesso => as_text(FileKind::Persons, "sesso"),
        Dimension::ClasseEta => {
            let age = lit(plan.period.age_year()) - col("anno_nascita");
            when(age.clone().lt(lit(25)))
                .then(lit(AGE_CLASSES[0]))
                .when(age.clone().lt(lit(30)))
                .then(lit(AGE_CLASSES[1]))
                .when(age.lt(lit(55)))
                .then(lit(AGE_CLASSES[2]))
                .otherwise(lit(AGE_CLASSES[3]))
        }
        Dimension::TitoloStudio => as_text(FileKind::Persons, "titolo_studio"),
        Dimension::MotivoPermesso => as_text(FileKind::Persons, "motivo_permesso"),
        Dimension::ExMsna => as_text(FileKind::Persons, "ex_msna"),
        Dimension::Programma => as_text(FileKind::Activities, "programma"),
        Dimension::Ente => as_text(FileKind::Activities, "ente"),
        Dimension::CategoriaLmp => col("categoria_lmp"),
        Dimension::Linked(column) => relabel(column.name, column.codes.iter().map(String::as_str)),
    }
}

/// The citizenship label that keeps Italy and the `top` foreign
/// citizenships with most eligible persons (ties by code), pooling the
/// others as `ALTRE`. `by_codes` counts the eligible persons (`N`) by the
/// columns `citizenship` reads.
pub(super) fn pooled_citizenship(by_codes: LazyFrame, citizenship: Expr, top: usize) -> Result<Expr> {
    let sizes = by_codes
        .select([citizenship.clone().alias("cittadinanza"), col(N)])
        .group_by([col("cittadinanza")])
        .agg([col(N).sum()])
        .filter(col("cittadinanza").neq(lit(ITALY)))
        .sort_by_exprs(
            [col(N), col("cittadinanza")],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .limit(top as IdxSize)
        .collect()?;
    let mut kept: Vec<String> = sizes
        .column("cittadinanza")?
        .str()?
        .iter()
        .flatten()
        .map(String::from)
        .collect();
    kept.push(ITALY.to_string());
    Ok(when(is_one_of(citizenship.clone(), &kept))
        .then(citizenship)
        .otherwise(lit(OTHER_CITIZENSHIPS)))
}

/// The sets of breakdowns to group by: all of them, and with margins every
/// subset (a dropped breakdown shows `TOTALE`), down to the grand total.
pub(super) fn grouping_sets(dims: &[Dimension], margins: bool) -> Vec<Vec<Dimension>> {
    if !margins {
        return vec![dims.to_vec()];
    }
    let mut sets: Vec<Vec<Dimension>> = (0..1u32 << dims.len())
        .map(|mask| {
            dims.iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, d)| *d)
                .collect()
        })
        .collect();
    sets.sort_by_key(|s: &Vec<Dimension>| std::cmp::Reverse(s.len()));
    sets
}

/// Eligible persons `N` and beneficiaries `X` per cell of one grouping set,
/// summed from the counts by the labels of every person breakdown
/// (`by_labels`) and, when the set keeps activity breakdowns, from the
/// beneficiaries counted by those and the person breakdowns (`started`).
fn cell_counts(
    by_labels: &LazyFrame,
    started: Option<&LazyFrame>,
    kept: &[Dimension],
    plan: &RatesPlan,
) -> Result<LazyFrame> {
    let person_keys: Vec<Expr> = person_side(kept).iter().map(|d| col(d.name())).collect();
    let activity_dims = activity_side(kept);
    let summed = |frame: &LazyFrame, keys: Vec<Expr>, counted: &[&str]| {
        grouped(frame.clone(), keys, counted.iter().map(|c| col(*c).sum()).collect())
    };
    if activity_dims.is_empty() {
        return Ok(summed(by_labels, person_keys, &[N, X]));
    }
    // Beneficiary-side cells: every code of the activity breakdowns for every
    // stratum, with the stratum's eligible population as denominator.
    let mut grid = summed(by_labels, person_keys, &[N]);
    for dim in &activity_dims {
        let codes: Vec<String> = match dim {
            Dimension::Programma => PROGRAMMES.iter().map(|p| p.to_string()).collect(),
            Dimension::Ente => PROVIDERS.iter().map(|p| p.to_string()).collect(),
            _ => plan.selection.categories.iter().map(|c| c.to_string()).collect(),
        };
        grid = grid.cross_join(df!(dim.name() => codes)?.lazy(), None);
    }
    let all_keys: Vec<Expr> = kept.iter().map(|d| col(d.name())).collect();
    let started = summed(
        started.expect("a set with activity breakdowns comes with their beneficiaries"),
        all_keys.clone(),
        &[X],
    );
    Ok(grid
        .join(started, all_keys.clone(), all_keys, JoinArgs::new(JoinType::Left))
        .with_column(col(X).fill_null(lit(0u32))))
}
