//! Access rates: eligible persons and beneficiaries per cell of a breakdown,
//! with margins, as one polars query over the validated extract.

use std::cell::RefCell;

use anyhow::Result;
use polars::prelude::*;

use super::plan::{Period, Population, RatesPlan, Selection};
use crate::engine::{
    collect_streaming, date_lit, epoch_days, inside_own_spells, is_in_series, is_one_of, spread_over_persons,
};
use crate::extract::schema::{FileKind, REFUSED};
use crate::extract::{Extract, IN_SPELL};
use crate::reference::{Activity, Reference, ITALY};
use crate::table::{
    CellStatus, Codebook, Dimension, Lang, Row, Table, AGE_CLASSES, NOT_AVAILABLE, OTHER_CITIZENSHIPS, PROGRAMMES,
    TOTAL,
};

/// A rates table and what the analyst must know to read it.
#[derive(Debug, Clone)]
pub struct RatesResult {
    pub table: Table,
    /// Cohort only: persons whose follow-up window passes the as-of date
    /// (counted, unless `complete_followup` dropped them).
    pub incomplete_followup: u64,
}

const N: &str = "__n";
const X: &str = "__x";
const BENEFICIARY: &str = "__beneficiary";
const REF_DID: &str = "__ref_did";
const INSIDE: &str = "__inside";

/// The eligible persons of the last period, population and selection asked
/// for, kept (when the memo is [`Memo::shared`]) for the next tables that
/// share them: a report or a batch job asks for a dozen tables of the same
/// persons, and finding them (spells, activities, three joins) costs far
/// more than breaking them down. Only the last is kept, so memory holds one
/// population at a time: ask for tables population by population. A single
/// table is better off with [`Memo::default`], which keeps nothing and lets
/// the query read only the columns it needs.
#[derive(Default)]
pub struct Memo {
    keep: bool,
    last: RefCell<Option<(EligibleKey, Eligible)>>,
}

type EligibleKey = (Period, Population, Selection);

/// One row per eligible person: person and reference-spell columns and
/// whether the person is a beneficiary.
#[derive(Clone)]
struct Eligible {
    persons: LazyFrame,
    incomplete_followup: u64,
}

impl Memo {
    pub fn shared() -> Memo {
        Memo {
            keep: true,
            ..Memo::default()
        }
    }

    fn eligible(&self, extract: &Extract, reference: &Reference, plan: &RatesPlan) -> Result<Eligible> {
        let key = (plan.period, plan.population, plan.selection.clone());
        if let Some((_, found)) = self.last.borrow().as_ref().filter(|(k, _)| *k == key) {
            return Ok(found.clone());
        }
        // The previous population goes before this one is built.
        self.last.borrow_mut().take();
        let mut persons = Query::new(extract, reference, plan)?.flagged()?;
        let mut incomplete_followup = 0;
        if let Population::Cohort {
            window,
            complete_followup,
        } = plan.population
        {
            let incomplete = days(col(REF_DID)).gt(lit(epoch_days(extract.as_of) - window as i32));
            incomplete_followup = count(persons.clone().filter(incomplete.clone()))?;
            if complete_followup {
                persons = persons.filter(incomplete.not());
            }
        }
        if !self.keep {
            return Ok(Eligible {
                persons,
                incomplete_followup,
            });
        }
        let found = Eligible {
            persons: persons.collect()?.lazy(),
            incomplete_followup,
        };
        *self.last.borrow_mut() = Some((key, found.clone()));
        Ok(found)
    }
}

/// The lazy queries behind a table: each eligible person's reference spell
/// (put beside its person's row and flagged as beneficiary by
/// [`Query::flagged`]), and the activities that make them beneficiaries.
/// `id_lav` holds the person's position everywhere (`PersonKey::Position`).
struct Query<'a> {
    reference_spells: LazyFrame,
    persons: &'a DataFrame,
    beneficiary_activities: LazyFrame,
}

impl<'a> Query<'a> {
    /// The eligible persons with `BENEFICIARY`: the beneficiaries are marked
    /// in a flag per person and the flags gathered with the persons' other
    /// columns, far cheaper than looking every eligible person up in a
    /// hashed set of the beneficiaries.
    fn flagged(self) -> Result<LazyFrame> {
        let beneficiaries = self.beneficiary_activities.select([col("id_lav")]).collect()?;
        let beneficiaries = beneficiaries.column("id_lav")?;
        let marked = BooleanChunked::full(BENEFICIARY.into(), false, self.persons.height())
            .scatter_single(beneficiaries.idx()?.into_no_null_iter(), Some(true))?;
        let mut persons = self.persons.clone();
        persons.with_column(marked.into_column())?;
        gathered_persons(self.reference_spells, &persons)
    }

    fn new(extract: &'a Extract, reference: &Reference, plan: &RatesPlan) -> Result<Query<'a>> {
        let layout = extract.analysed_layout()?;
        let persons = extract.frame(FileKind::Persons)?;
        let spells_held = extract.frame(FileKind::Spells)?;
        let spells = spells_held.clone().lazy();
        let activities_held = extract.frame(FileKind::Activities)?;
        let activities = counted_activities(activities_held.clone().lazy(), reference, plan);
        let (from, to) = (plan.period.from, plan.period.to);

        let (reference_spells, beneficiary_activities) = match plan.population {
            Population::Stock => {
                let overlapping = spells.filter(
                    col("data_did")
                        .lt_eq(date_lit(to))
                        .and(col("data_fine").is_null().or(col("data_fine").gt_eq(date_lit(from)))),
                );
                // The latest spell gives province and job centre; ties go to the greatest id_did.
                let latest = one_spell_per_person(overlapping.clone(), true, layout.spells_by_person)
                    .select(held(spells_held, &["id_lav", "cpi", "prov_cpi"]));
                let in_period = activities.filter(
                    col("data_inizio")
                        .gt_eq(date_lit(from))
                        .and(col("data_inizio").lt_eq(date_lit(to))),
                );
                let inside_a_spell = if layout.activities_in_spells {
                    in_period.filter(col(IN_SPELL))
                } else {
                    inside_own_spell(in_period, overlapping, persons.height())?
                };
                (latest, inside_a_spell)
            }
            Population::Cohort { window, .. } => {
                // The earliest spell starting in the period; ties go to the smallest id_did.
                let mut earliest = one_spell_per_person(
                    spells.filter(
                        col("data_did")
                            .gt_eq(date_lit(from))
                            .and(col("data_did").lt_eq(date_lit(to))),
                    ),
                    false,
                    layout.spells_by_person,
                )
                .select(
                    held(spells_held, &["id_lav", "cpi", "prov_cpi"])
                        .into_iter()
                        .chain([col("data_did").alias(REF_DID)])
                        .collect::<Vec<_>>(),
                );
                let earliest_found = earliest.collect()?;
                let with_reference_did = with_persons_value(activities, &earliest_found, REF_DID, persons.height())?;
                earliest = earliest_found.lazy();
                let within_window = with_reference_did.filter(
                    col("data_inizio")
                        .gt_eq(col(REF_DID))
                        .and(days(col("data_inizio")).lt_eq(days(col(REF_DID)) + lit(window as i32))),
                );
                (earliest, within_window)
            }
        };

        Ok(Query {
            reference_spells,
            persons,
            beneficiary_activities: with_category(beneficiary_activities, activities_held, reference),
        })
    }
}

/// The reference spells beside their persons' columns, gathered from the
/// persons' rows by the positions `id_lav` holds, without the cost of a
/// join on 64-bit keys.
fn gathered_persons(reference_spells: LazyFrame, persons: &DataFrame) -> Result<LazyFrame> {
    let spells = reference_spells.collect()?;
    let gathered = persons.drop("id_lav")?.take(spells.column("id_lav")?.idx()?)?;
    Ok(spells.hstack(gathered.columns())?.lazy())
}

pub fn compute(extract: &Extract, reference: &Reference, plan: &RatesPlan, memo: &Memo) -> Result<RatesResult> {
    plan.check()?;
    let Eligible {
        persons: eligible,
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
    let activity_detail = if beneficiary_dims.is_empty() {
        None
    } else {
        // The activity breakdowns count beneficiaries from the eligible
        // persons once per set of them: materialise the persons once.
        eligible = eligible.collect()?.lazy();
        let mut columns = vec![col("id_lav")];
        columns.extend(
            beneficiary_dims
                .iter()
                .map(|d| dimension_expr(*d, reference, plan).alias(d.name())),
        );
        Some(
            Query::new(extract, reference, plan)?
                .beneficiary_activities
                .select(columns)
                .unique(None, UniqueKeepStrategy::Any)
                .collect()?
                .lazy(),
        )
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
    let started = match &activity_detail {
        Some(detail) => started_by_activity_breakdowns(detail, &eligible, &sources, &labels, &grouping_sets)?,
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
fn activity_side(dims: &[Dimension]) -> Vec<Dimension> {
    dims.iter().copied().filter(|d| d.is_beneficiary_side()).collect()
}

/// Counts by codes given their labels: the label columns, then `counted`.
fn labelled(by_codes: LazyFrame, labels: &[Expr], counted: &[&str]) -> LazyFrame {
    let mut columns = labels.to_vec();
    columns.extend(counted.iter().map(|c| col(*c)));
    by_codes.select(columns)
}

/// The beneficiaries `X` by the labels of the person breakdowns and of each
/// set of activity breakdowns that a grouping set keeps. A person may start
/// activities of several programmes or categories, so they are counted
/// afresh for each such set, not summed over the breakdowns a set drops.
fn started_by_activity_breakdowns(
    detail: &LazyFrame,
    eligible: &LazyFrame,
    sources: &[&str],
    labels: &[Expr],
    grouping_sets: &[Vec<Dimension>],
) -> Result<Vec<(Vec<Dimension>, LazyFrame)>> {
    let mut started: Vec<(Vec<Dimension>, LazyFrame)> = Vec::new();
    for kept in grouping_sets {
        let dims = activity_side(kept);
        if dims.is_empty() || started.iter().any(|(counted, _)| *counted == dims) {
            continue;
        }
        let mut columns = vec![col("id_lav")];
        columns.extend(dims.iter().map(|d| col(d.name())));
        let mut keys = source_keys(sources);
        keys.extend(dims.iter().map(|d| col(d.name())));
        let by_codes = detail
            .clone()
            .select(columns)
            .unique(None, UniqueKeepStrategy::Any)
            .join(
                eligible.clone(),
                [col("id_lav")],
                [col("id_lav")],
                JoinArgs::new(JoinType::Inner),
            )
            .group_by(keys)
            .agg([len().alias(X)]);
        let mut counted: Vec<&str> = dims.iter().map(|d| d.name()).collect();
        counted.push(X);
        let by_labels = labelled(by_codes, labels, &counted).collect()?.lazy();
        started.push((dims, by_labels));
    }
    Ok(started)
}

/// Activities that count as access under the plan's selection: never refused ones.
/// Rows are kept by activity code (those of the selected categories) and
/// only the kept ones get their category.
fn counted_activities(activities: LazyFrame, reference: &Reference, plan: &RatesPlan) -> LazyFrame {
    let outcomes = coded_values(FileKind::Activities, "esito", reference);
    let refused = positions(&outcomes, &[REFUSED]);
    let selected = |a: &Activity| {
        plan.selection.categories.contains(&a.categoria_lmp)
            && plan
                .selection
                .activities
                .as_ref()
                .is_none_or(|codes| codes.contains(&a.codice))
    };
    let selected: Vec<&str> = reference
        .activities
        .iter()
        .filter(|a| selected(a))
        .map(|a| a.codice.as_str())
        .collect();
    let codes = coded_values(FileKind::Activities, "cod_attivita", reference);
    let mut counted = activities
        .filter(is_in_series(col("esito"), refused).not())
        .filter(is_in_series(col("cod_attivita"), positions(&codes, &selected)));
    if let Some(programmes) = &plan.selection.programmes {
        let values = coded_values(FileKind::Activities, "programma", reference);
        counted = counted.filter(is_in_series(col("programma"), positions(&values, programmes)));
    }
    counted
}

/// Counted activities with the columns the breakdowns read, their code
/// turned into their Eurostat category.
fn with_category(activities: LazyFrame, held_by: &DataFrame, reference: &Reference) -> LazyFrame {
    let categories: Vec<String> = reference
        .activities
        .iter()
        .map(|a| a.categoria_lmp.to_string())
        .collect();
    let mut columns = held(held_by, &["id_lav", "data_inizio", "programma"]);
    columns.push(relabel("cod_attivita", categories.iter().map(String::as_str)).alias("categoria_lmp"));
    activities.select(columns)
}

/// The columns of `names` that `frame` holds: loaded for one table, the
/// frames hold only the columns its breakdowns read (see [`columns_read`]).
fn held(frame: &DataFrame, names: &[&str]) -> Vec<Expr> {
    names
        .iter()
        .filter(|name| frame.column(name).is_ok())
        .map(|name| col(*name))
        .collect()
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
    for column in dims.iter().flat_map(|d| source_columns(*d)) {
        if !columns.contains(column) {
            columns.push(column);
        }
    }
    columns
}

/// The activities that start inside a spell of their own person, found
/// without a join where `id_lav` holds the persons' positions (see
/// [`inside_own_spells`]).
fn inside_own_spell(activities: LazyFrame, spells: LazyFrame, persons: usize) -> Result<LazyFrame> {
    let mut activities = activities.collect()?;
    let spells = spells
        .select([col("id_lav"), col("data_did"), col("data_fine")])
        .collect()?;
    let inside = inside_own_spells(
        activities.column("id_lav")?.idx()?,
        activities.column("data_inizio")?.date()?.physical(),
        spells,
        persons,
    )?;
    // Filtered lazily: a table with no activity breakdown reads only `id_lav`.
    activities.with_column(inside.with_name(INSIDE.into()).into_column())?;
    Ok(activities.lazy().filter(col(INSIDE)))
}

/// `rows` with `column` of `persons_rows`, the frame of at most one row per
/// person, as a join on `id_lav` would give them, where `id_lav` holds the
/// persons' positions: the column is spread over the persons by position,
/// then gathered by each row's person, with no hash table.
fn with_persons_value(rows: LazyFrame, persons_rows: &DataFrame, column: &str, persons: usize) -> Result<LazyFrame> {
    let values = persons_rows.column(column)?;
    let by_person = spread_over_persons(
        persons_rows.column("id_lav")?.idx()?,
        values.date()?.physical(),
        persons,
    )?;
    Ok(rows
        .with_column(
            lit(by_person.into_series())
                .gather(col("id_lav"), false)
                .cast(values.dtype().clone())
                .alias(column),
        )
        .filter(col(column).is_not_null()))
}

/// The values of a code or enumeration column, in the order the extract
/// numbers them (analyses hold such columns as positions in this list).
fn coded_values<'a>(file: FileKind, column: &str, reference: &'a Reference) -> Vec<&'a str> {
    file.spec()
        .column(column)
        .and_then(|c| c.kind.values(reference))
        .unwrap_or_else(|| panic!("{column} is a coded column of {}", file.spec().name))
}

/// A coded column as text: position `i` becomes `labels[i]`, a missing value
/// `ND`. A reference table's columns (`sigla`, `gruppo`) line up with its
/// codes, which `Kind::values` lists in the table's order.
fn relabel<'a>(column: &str, labels: impl Iterator<Item = &'a str>) -> Expr {
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
fn positions<S: AsRef<str>>(values: &[&str], wanted: &[S]) -> Series {
    let found: Vec<u32> = wanted
        .iter()
        .filter_map(|w| values.iter().position(|v| *v == w.as_ref()))
        .map(|p| p as u32)
        .collect();
    Series::new(PlSmallStr::EMPTY, found)
}

/// Each person's reference spell: the latest (or earliest) by date, ties
/// going to the greatest (or smallest) id_did in byte order. Spells that
/// come person by person in that order (the Parquet cache keeps them so)
/// give it as the last (or first) row of each person's run; others are
/// sorted so first. Sorting inside every person's group costs more, and
/// keeping the last row of each person through a hash table costs several
/// times more than comparing each overlapping spell with the next.
fn one_spell_per_person(spells: LazyFrame, latest: bool, in_order: bool) -> LazyFrame {
    // Sorted by person first, a person's spells are adjacent; ids are
    // compared only between spells of one person on one day, where sorting
    // by date first compares them between all the spells of a day.
    let spells = if in_order {
        spells
    } else {
        spells.sort(["id_lav", "data_did", "id_did"], SortMultipleOptions::default())
    };
    let person = col("id_lav");
    let neighbour = person.clone().shift(lit(if latest { -1 } else { 1 }));
    spells.filter(person.neq(neighbour).fill_null(lit(true)))
}

fn days(date: Expr) -> Expr {
    date.cast(DataType::Int32)
}

fn count(frame: LazyFrame) -> Result<u64> {
    let counted = frame.select([len().cast(DataType::UInt64)]).collect()?;
    Ok(counted.columns()[0].u64()?.get(0).unwrap_or(0))
}

/// `aggregates` by `keys`, or over the whole frame when there are none.
fn grouped(frame: LazyFrame, keys: Vec<Expr>, aggregates: Vec<Expr>) -> LazyFrame {
    if keys.is_empty() {
        frame.select(aggregates)
    } else {
        frame.group_by(keys).agg(aggregates)
    }
}

fn source_keys(sources: &[&str]) -> Vec<Expr> {
    sources.iter().map(|c| col(*c)).collect()
}

/// The columns [`dimension_expr`] reads for a breakdown.
fn source_columns(dim: Dimension) -> &'static [&'static str] {
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
        Dimension::CategoriaLmp => &["categoria_lmp"],
    }
}

/// How a breakdown's code is derived from the person, spell or activity.
fn dimension_expr(dim: Dimension, reference: &Reference, plan: &RatesPlan) -> Expr {
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
        Dimension::CategoriaLmp => col("categoria_lmp"),
    }
}

/// The citizenship label that keeps Italy and the `top` foreign
/// citizenships with most eligible persons (ties by code), pooling the
/// others as `ALTRE`. `by_codes` counts the eligible persons (`N`) by the
/// columns `citizenship` reads.
fn pooled_citizenship(by_codes: LazyFrame, citizenship: Expr, top: usize) -> Result<Expr> {
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
fn grouping_sets(dims: &[Dimension], margins: bool) -> Vec<Vec<Dimension>> {
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

#[cfg(test)]
mod tests {
    use polars::prelude::*;
    use proptest::prelude::*;

    use super::{inside_own_spell, with_persons_value};

    fn dates(name: &str, days: Vec<Option<i32>>) -> Column {
        Int32Chunked::from_iter_options(name.into(), days.into_iter())
            .into_date()
            .into_column()
    }

    fn positions(name: &str, persons: Vec<u32>) -> Column {
        IdxCa::from_vec(name.into(), persons).into_column()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

        /// Persons with no spell, one or several, overlapping or not, open
        /// or closed, in any order: an activity is kept, in its place, when
        /// a spell of its own person holds its day.
        #[test]
        fn an_activity_is_kept_when_a_spell_of_its_person_holds_its_day(
            persons in 1usize..8,
            spells in proptest::collection::vec((0u32..8, 0i32..40, proptest::option::of(0i32..15)), 0..24),
            activities in proptest::collection::vec((0u32..8, 0i32..60), 0..40),
        ) {
            let spells: Vec<_> = spells.into_iter().filter(|s| (s.0 as usize) < persons).collect();
            let activities: Vec<_> = activities.into_iter().filter(|a| (a.0 as usize) < persons).collect();
            let expected: Vec<(u32, i32)> = activities
                .iter()
                .copied()
                .filter(|(person, day)| {
                    spells.iter().any(|(owner, start, length)| {
                        owner == person && start <= day && length.is_none_or(|l| *day <= start + l)
                    })
                })
                .collect();
            let spell_frame = DataFrame::new_infer_height(vec![
                positions("id_lav", spells.iter().map(|s| s.0).collect()),
                dates("data_did", spells.iter().map(|s| Some(s.1)).collect()),
                dates("data_fine", spells.iter().map(|s| s.2.map(|l| s.1 + l)).collect()),
            ]).unwrap();
            let activity_frame = DataFrame::new_infer_height(vec![
                positions("id_lav", activities.iter().map(|a| a.0).collect()),
                dates("data_inizio", activities.iter().map(|a| Some(a.1)).collect()),
            ]).unwrap();
            let kept = inside_own_spell(activity_frame.lazy(), spell_frame.lazy(), persons)
                .unwrap()
                .collect()
                .unwrap();
            let found: Vec<(u32, i32)> = kept.column("id_lav").unwrap().idx().unwrap().into_no_null_iter()
                .zip(kept.column("data_inizio").unwrap().date().unwrap().physical().into_no_null_iter())
                .collect();
            prop_assert_eq!(found, expected);
        }
    }

    #[test]
    fn a_persons_value_reaches_their_rows_and_rows_of_persons_without_one_go() {
        let earliest = DataFrame::new_infer_height(vec![
            positions("id_lav", vec![2, 0]),
            dates("__ref_did", vec![Some(10), Some(20)]),
        ])
        .unwrap();
        let rows = DataFrame::new_infer_height(vec![positions("id_lav", vec![0, 1, 2, 2, 3])]).unwrap();
        let paired = with_persons_value(rows.lazy(), &earliest, "__ref_did", 4)
            .unwrap()
            .collect()
            .unwrap();
        let persons: Vec<u32> = paired
            .column("id_lav")
            .unwrap()
            .idx()
            .unwrap()
            .into_no_null_iter()
            .collect();
        let days: Vec<i32> = paired
            .column("__ref_did")
            .unwrap()
            .date()
            .unwrap()
            .physical()
            .into_no_null_iter()
            .collect();
        assert_eq!(persons, [0, 2, 2]);
        assert_eq!(days, [20, 10, 10]);
    }
}
