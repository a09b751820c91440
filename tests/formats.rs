//! Parquet and XLSX from the table commands: typed, readable, the same
//! numbers as the CSV, and suppressed values absent.

mod common;

use calamine::{open_workbook, Data, Reader, Xlsx};
use common::{records, run, run_ok, Workdir};
use polars::prelude::*;

const ARGS: [&str; 7] = [
    "rates",
    "--year",
    "2024",
    "--by",
    "provincia,sesso,cittadinanza",
    "--margins",
    "--output",
];

#[test]
fn parquet_holds_typed_columns_with_nulls_for_suppressed_cells() {
    let work = Workdir::new();
    let path = work.path().join("tassi.parquet");
    run_ok(&[&ARGS[..], &[path.to_str().unwrap(), "--format", "parquet"]].concat());
    let csv = records(&run_ok(&[
        "rates",
        "--year",
        "2024",
        "--by",
        "provincia,sesso,cittadinanza",
        "--margins",
        "--format",
        "csv",
    ]));
    let file = std::fs::File::open(&path).unwrap();
    let frame = ParquetReader::new(file).finish().unwrap();
    assert_eq!(frame.height(), csv.len());
    assert_eq!(frame.column("popolazione").unwrap().dtype(), &DataType::UInt64);
    assert_eq!(frame.column("tasso").unwrap().dtype(), &DataType::Float64);
    assert_eq!(frame.column("affidabile").unwrap().dtype(), &DataType::Boolean);
    let population = frame.column("popolazione").unwrap().u64().unwrap().clone();
    let status = frame.column("stato_cella").unwrap().str().unwrap().clone();
    for (i, row) in csv.iter().enumerate() {
        assert_eq!(status.get(i), Some(row["stato_cella"].as_str()));
        assert_eq!(population.get(i), row["popolazione"].parse().ok(), "row {i}");
    }
    assert!(population.null_count() > 0, "suppressed cells are nulls");
}

#[test]
fn xlsx_has_percent_cells_and_marks_suppressed_rows() {
    let work = Workdir::new();
    let path = work.path().join("tassi.xlsx");
    run_ok(&[&ARGS[..], &[path.to_str().unwrap(), "--format", "xlsx"]].concat());
    let mut workbook: Xlsx<_> = open_workbook(&path).unwrap();
    let range = workbook.worksheet_range("tabella").unwrap();
    let header: Vec<String> = range.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    let rate = header.iter().position(|h| h == "tasso").unwrap();
    let status = header.iter().position(|h| h == "stato_cella").unwrap();
    let first = range.rows().nth(1).unwrap();
    assert!(
        matches!(first[rate], Data::Float(r) if (0.0..=1.0).contains(&r)),
        "{:?}",
        first[rate]
    );
    let suppressed = range.rows().skip(1).find(|r| r[status] != "s").unwrap();
    assert_eq!(suppressed[rate].to_string(), "n.d.");
}

#[test]
fn binary_formats_need_an_output_file() {
    let out = run(&["rates", "--format", "parquet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a binary format needs --output FILE"));
}
