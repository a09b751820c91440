//! Stage 1 read against its definitions: pieces, the plain reader against
//! polars' reader, the row checks against their rules, values and dates.

use std::sync::Arc;

use polars::prelude::*;

use super::reader::{count_quotes, dialect, lines_at, read_file, record_pieces, FileRows, BROKEN, LINE};
use super::reject::MAX_TEXT_BYTES;
use super::resolve::index::{self as persons, PersonIndex};
use super::resolve::may_repeat;
use super::rules::any_broken;
use super::stages::{refuse_codici_fiscali, Keep};
use super::typing::{date_days, same_bytes, type_column, NOT_IN_LIST, TOO_LONG_ID, UNREADABLE};
use super::LoadOptions;
use crate::extract::schema::{ACTIVITIES, PERSONS, SPELLS};
use crate::reference::Reference;

#[test]
fn pieces_end_at_line_breaks_outside_quotes_and_cover_the_body() {
    let body = b"a;1\nb;\"x\ny\"\nc;3\nd;4\n";
    let ranges = |body, target| {
        record_pieces(body, target, true)
            .map(|(range, _)| range)
            .collect::<Vec<_>>()
    };
    let quoted = |body, target| {
        record_pieces(body, target, true)
            .map(|(_, quoted)| quoted)
            .collect::<Vec<_>>()
    };
    assert_eq!(ranges(body, 2), vec![0..4, 4..12, 12..16, 16..20]);
    assert_eq!(quoted(body, 2), vec![false, true, false, false]);
    assert_eq!(ranges(body, 100), vec![0..20]);
    assert_eq!(quoted(body, 100), vec![true]);
    assert_eq!(ranges(b"", 4), vec![0..0]);
    assert_eq!(quoted(b"", 4), vec![false]);
    // A quote never closed: no break after it is a record's end.
    assert_eq!(ranges(b"a\n\"b\nc\nd", 1), vec![0..2, 2..8]);
    assert_eq!(quoted(b"a\n\"b\nc\nd", 1), vec![false, true]);
    // The last piece's quotes are counted too.
    assert_eq!(quoted(b"a\nb\"\"", 1), vec![false, true]);
    // A body without quotes ends a piece at the first line break past the target.
    let unquoted = b"a;1\nb;2\n\nc;3\nd";
    for target in 0..=unquoted.len() + 1 {
        let pieces: Vec<_> = record_pieces(unquoted, target, false).collect();
        let counted: Vec<_> = record_pieces(unquoted, target, true).collect();
        assert_eq!(pieces, counted, "target {target}");
    }
}

#[test]
fn the_lines_of_rejected_rows_are_found_by_their_place() {
    let piece = b"a;1\r\nb;2\n\nd;4";
    assert_eq!(lines_at(piece, &[0]), b"a;1\r\n");
    assert_eq!(lines_at(piece, &[1, 3]), b"b;2\nd;4\n");
    assert_eq!(lines_at(piece, &[2]), b"\n");
    assert_eq!(lines_at(piece, &[]), b"");
    assert_eq!(lines_at(b"x\n", &[0]), b"x\n");
}

#[test]
fn a_file_read_in_pieces_gives_the_rows_and_rejects_of_one_read() {
    let mut text = String::from("id_did;id_lav;data_did;data_fine;cpi;prov_cpi\n");
    for i in 0..300 {
        let row = match i % 50 {
            7 => format!("D{i};P{i};31/02/2024;;TO01;001\n"),
            19 => format!("D{i};P{i};01/01/2024;;TO01;0X9\n"),
            23 => format!("D{i};P{i};01/01/2024;;TO01;\"0é;9\"\n"),
            33 => format!("D{i};P{i};01/01/2024;;\"TO\n01\";001\n"),
            _ => format!("D{i};P{i};01/01/2024;;TO01;001\n"),
        };
        text.push_str(&row);
    }
    let reference = Reference::load(None).unwrap();
    let read = |piece_bytes| {
        let bytes = dialect::FileBytes::Decoded(text.clone().into_bytes());
        let prepared = dialect::prepare(bytes, "did.csv", Default::default()).unwrap();
        let read = read_file(&SPELLS, prepared, &reference, Keep::All, None, piece_bytes, &mut Ok).unwrap();
        (read.frame, read.report, read.rejects)
    };
    let (whole, whole_report, whole_rejects) = read(usize::MAX / 2);
    let (pieces, pieces_report, pieces_rejects) = read(100);
    assert_eq!(whole_report.rows_read, 300);
    assert_eq!(pieces_report.rows_read, 300);
    assert_eq!(whole_rejects.len(), 18, "{whole_rejects:?}");
    assert!(whole_rejects.iter().any(|reject| reject.value == "0é;9"));
    assert_eq!(pieces_rejects, whole_rejects);
    assert!(pieces.equals_missing(&whole));
    assert_eq!(whole.height(), 282);
    // The same file in Windows-1252, each piece decoded as it is read.
    let (encoded, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &encoded).unwrap();
    for piece_bytes in [100, usize::MAX / 2] {
        let prepared = dialect::prepare_path_by_pieces(file.path(), Default::default()).unwrap();
        assert!(prepared.windows_1252);
        let read = read_file(&SPELLS, prepared, &reference, Keep::All, None, piece_bytes, &mut Ok).unwrap();
        assert_eq!(
            (read.report.rows_read, read.report.encoding.as_str()),
            (300, "Windows-1252")
        );
        assert_eq!(read.rejects, whole_rejects);
        assert!(read.frame.equals_missing(&whole));
    }
}

#[test]
fn values_are_trimmed_and_only_optional_columns_spell_missing() {
    let text = "id_lav;sesso;anno_nascita;cittadinanza;prov_domicilio;titolo_studio;motivo_permesso;ex_msna
 P1 ; F ;1980; 100 ;001; MEDIO ;NULL;-
P2;NULL;1980;100;001;;;
P3;M;   ;100;001;;;
P4;M;+1985;100;001;;;
P5;M;-2147483648;100;001;;;
P6;M;1980;100;001;null;-;NULL
P7;M;1980;100;001;medio;;
P8;M;1980;100;001;;ASILO; S\t
";
    let reference = Reference::load(None).unwrap();
    let bytes = dialect::FileBytes::Decoded(text.as_bytes().to_vec());
    let prepared = dialect::prepare(bytes, "lavoratori.csv", Default::default()).unwrap();
    let FileRows {
        frame: kept,
        report,
        rejects,
        ..
    } = read_file(&PERSONS, prepared, &reference, Keep::All, None, 1 << 20, &mut Ok).unwrap();
    assert_eq!(report.rows_read, 8);
    let said: Vec<(u64, &str, &str, &str)> = rejects
        .iter()
        .map(|r| (r.line, r.column.as_str(), r.value.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(
        said,
        vec![
            (3, "sesso", "NULL", "not one of M, F"),
            (
                4,
                "anno_nascita",
                "",
                "empty value: anno_nascita is required (or the row has fewer fields than the header)"
            ),
            (6, "anno_nascita", "-2147483648", "birth year before 1900"),
            (8, "titolo_studio", "medio", "not one of BASSO, MEDIO, ALTO"),
        ]
    );
    let column = |name: &str| kept.column(name).unwrap().as_materialized_series().clone();
    let ids: Vec<Option<&str>> = kept.column("id_lav").unwrap().str().unwrap().iter().collect();
    assert_eq!(ids, [Some("P1"), Some("P4"), Some("P6"), Some("P8")]);
    // Codes and enumerations are numbered by their place in the list.
    let sesso: Vec<Option<u32>> = column("sesso").u32().unwrap().iter().collect();
    assert_eq!(sesso, [Some(1), Some(0), Some(0), Some(0)]);
    let years: Vec<Option<i32>> = column("anno_nascita").i32().unwrap().iter().collect();
    assert_eq!(years, [Some(1980), Some(1985), Some(1980), Some(1980)]);
    let education: Vec<Option<u32>> = column("titolo_studio").u32().unwrap().iter().collect();
    assert_eq!(education, [Some(1), None, None, None]);
    let permit = column("motivo_permesso");
    assert_eq!(permit.null_count(), 3);
    let minor: Vec<Option<u32>> = column("ex_msna").u32().unwrap().iter().collect();
    assert_eq!(minor, [None, None, None, Some(0)]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..Default::default()
    })]

    /// Quoted separators, quotes and line breaks, in fields long enough to
    /// cross 64-byte blocks, split into the records and fields the `csv`
    /// crate finds, whatever the pieces the file is read in (by polars'
    /// reader, as such quotes are not the plain reader's).
    #[test]
    fn quoted_fields_split_as_the_csv_crate_splits_them(
        ids in proptest::collection::vec(("[a;\"\n,Z0é]{1,150}", proptest::bool::ANY), 1..40),
        piece_bytes in 1usize..400,
    ) {
        let mut text = String::from(
            "id_lav;sesso;anno_nascita;cittadinanza;prov_domicilio;titolo_studio;motivo_permesso;ex_msna\n",
        );
        for (id, always_quoted) in &ids {
            if *always_quoted || id.contains([';', '"', '\n']) {
                text.push_str(&format!("\"{}\"", id.replace('"', "\"\"")));
            } else {
                text.push_str(id);
            }
            text.push_str(";F;1980;100;001;;;\n");
        }
        let mut fields = Vec::new();
        let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.as_bytes());
        for record in reader.records() {
            fields.push(record.unwrap()[0].trim().to_string());
        }
        proptest::prop_assert_eq!(fields.len(), ids.len());
        // Values are trimmed; an identifier of line breaks alone is empty.
        let (expected, empty): (Vec<String>, Vec<String>) =
            fields.into_iter().partition(|id| !id.is_empty());
        let reference = Reference::load(None).unwrap();
        let bytes = dialect::FileBytes::Decoded(text.into_bytes());
        let prepared = dialect::prepare(bytes, "lavoratori.csv", Default::default()).unwrap();
        let FileRows { frame: kept, report, rejects, .. } =
            read_file(&PERSONS, prepared, &reference, Keep::All, None, piece_bytes, &mut Ok).unwrap();
        proptest::prop_assert_eq!(report.rows_read, ids.len() as u64);
        proptest::prop_assert_eq!(rejects.len(), empty.len(), "{:?}", rejects);
        let ids_read = kept.column("id_lav").unwrap().str().unwrap();
        let read: Vec<String> = ids_read.iter().map(|id| id.unwrap_or_default().to_string()).collect();
        proptest::prop_assert_eq!(read, expected);
    }

    /// The plain reader reads a piece whose quotes wrap whole fields, and
    /// leaves to polars' reader one with an escaped quote: the same rows,
    /// some fields quoted in the one, an escaped quote in an unknown column
    /// of every row of the other, must give the same typed rows, rejects
    /// and unresolved references, whatever the values (padded, missing,
    /// unreadable, unknown), the line endings, the rows of the wrong width
    /// and the pieces.
    #[test]
    fn a_plain_piece_reads_as_polars_reads_it_quoted(
        rows in proptest::collection::vec(
            (proptest::collection::vec(0usize..100, 7), 0u8..12, proptest::bool::ANY, proptest::collection::vec(proptest::bool::ANY, 8)),
            0..60,
        ),
        piece_bytes in 1usize..600,
        resolved in proptest::bool::ANY,
    ) {
        // Reordered, with a column the spec does not know.
        let header = ["prov_cpi", "id_did", "nota", "id_lav", "data_did", "data_fine", "cpi"];
        let pools: [&[&str]; 7] = [
            &["001", "003", " 004", "0X9", "", "NULL"],
            &["D1", "D2", " D3 ", "D4", "", "NULL"],
            &["x", "", " y z "],
            &["P1", "P2", " P3", "P4", "P9", "", "-"],
            &["01/01/2024", "2024-02-29", " 15/03/2023 ", "31/02/2024", "", "NULL", "2024"],
            &["01/01/2024", "31/12/2024", "2023-01-01", "", "null", "-", "1/1/2024"],
            &["TO01", " NO03 ", "", "null"],
        ];
        let mut plain = header.join(";") + "\n";
        let mut quoted = plain.clone();
        for (picks, shape, crlf, quote) in &rows {
            let fields: Vec<&str> = picks.iter().zip(pools).map(|(&pick, pool)| pool[pick % pool.len()]).collect();
            let fields = match shape {
                0 => vec![],
                1 => fields[..6].to_vec(),
                2 => [fields.as_slice(), &["extra"]].concat(),
                _ => fields,
            };
            let wrapped = |(i, f): (usize, &&str)| if quote[i] { format!("\"{f}\"") } else { f.to_string() };
            plain.push_str(&fields.iter().enumerate().map(wrapped).collect::<Vec<_>>().join(";"));
            let escaped = |(i, f): (usize, &&str)| if i == 2 { "\"x\"\"y\"".to_string() } else { format!("\"{f}\"") };
            quoted.push_str(&fields.iter().enumerate().map(escaped).collect::<Vec<_>>().join(";"));
            let end = if *crlf { "\r\n" } else { "\n" };
            plain.push_str(end);
            quoted.push_str(end);
        }
        let reference = Reference::load(None).unwrap();
        let ids: StringChunked = ["P1", "P2", "P3", "P4"].into_iter().map(Some).collect();
        let index = Arc::new(PersonIndex::new(&ids));
        let persons = resolved.then_some(&index);
        let read = |text: &str| {
            let bytes = dialect::FileBytes::Decoded(text.as_bytes().to_vec());
            let prepared = dialect::prepare(bytes, "did.csv", Default::default()).unwrap();
            read_file(&SPELLS, prepared, &reference, Keep::All, persons, piece_bytes, &mut Ok).unwrap()
        };
        let from_plain = read(&plain);
        let from_quoted = read(&quoted);
        proptest::prop_assert_eq!(from_plain.report.rows_read, rows.len() as u64);
        proptest::prop_assert_eq!(&from_plain.rejects, &from_quoted.rejects);
        proptest::prop_assert_eq!(&from_plain.unknown_persons, &from_quoted.unknown_persons);
        proptest::prop_assert!(
            from_plain.frame.equals_missing(&from_quoted.frame),
            "{:?}\n{:?}", from_plain.frame, from_quoted.frame
        );
        let schema = |frame: &DataFrame| frame.schema().iter().map(|(n, t)| (n.to_string(), t.clone())).collect::<Vec<_>>();
        proptest::prop_assert_eq!(schema(&from_plain.frame), schema(&from_quoted.frame));
    }
}

proptest::proptest! {
    /// Each column's checks, as the plain reader marks them, break the
    /// rows their rules' expressions break: values missing, marked
    /// unreadable, too long or not in the list, years before 1900 and
    /// end dates before their start, in chunks of any length.
    #[test]
    fn checks_break_the_rows_their_rules_break(
        rows in proptest::collection::vec(proptest::array::uniform6(0usize..60), 0..40),
        chunk_rows in 1usize..40,
    ) {
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        let references = [None, Some(0), Some(3), Some(persons::TOO_LONG), Some(persons::UNKNOWN)];
        let texts = [None, Some("TO01"), Some(long.as_str())];
        let dates = [None, Some(UNREADABLE), Some(19_000), Some(19_500)];
        let codes = [None, Some(3), Some(NOT_IN_LIST)];
        let hashes = [None, Some(7), Some(TOO_LONG_ID)];
        let years = [None, Some(UNREADABLE), Some(1850), Some(1985)];
        let column = |name: &str, values: Series| {
            // Several chunks, as a frame of vstacked parts has them.
            let mut chunked = values.slice(0, chunk_rows.min(values.len()));
            let mut at = chunked.len();
            while at < values.len() {
                chunked.append(&values.slice(at as i64, chunk_rows)).unwrap();
                at += chunk_rows;
            }
            chunked.with_name(name.into()).into_column()
        };
        // Row by row, the value of the column at `field` in `pool`.
        let pick = |field: usize, pool: &[Option<i32>]| -> Vec<Option<i32>> {
            rows.iter().map(|row| pool[row[field] % pool.len()]).collect()
        };
        let dates = |field: usize| Int32Chunked::from_iter(pick(field, &dates)).into_series().cast(&DataType::Date).unwrap();
        let frame = DataFrame::new(rows.len(), vec![
            column("id_lav", IdxCa::from_iter(rows.iter().map(|row| references[row[0] % references.len()])).into_series()),
            column("cpi", StringChunked::from_iter(rows.iter().map(|row| texts[row[1] % texts.len()])).into_series()),
            column("data_did", dates(2)),
            column("data_fine", dates(3)),
            column("prov_cpi", UInt32Chunked::from_iter(rows.iter().map(|row| codes[row[4] % codes.len()])).into_series()),
            column("id_pol", UInt64Chunked::from_iter(rows.iter().map(|row| hashes[row[1] % hashes.len()])).into_series()),
            column("anno_nascita", Int32Chunked::from_iter(pick(5, &years)).into_series()),
        ]).unwrap();
        let reference = Reference::load(None).unwrap();
        let ids: StringChunked = ["P1"].into_iter().map(Some).collect();
        let index = Arc::new(PersonIndex::new(&ids));
        // The spells' columns as an analysis types them, with an identifier held as its hash.
        let columns = SPELLS.columns.iter().filter(|c| c.name != "id_did").map(|c| (Some(c), false));
        let columns = columns.chain([(PERSONS.column("anno_nascita"), false), (ACTIVITIES.column("id_pol"), true)]);
        for (spec, hashed) in columns {
            let spec = spec.expect("a column of the file");
            let (_, checks) = type_column(spec, &reference, Some(&index), hashed);
            let start = spec.not_before.map(|start| frame.column(start).unwrap());
            for check in checks {
                let mut marked = vec![false; rows.len()];
                check.mark_broken(frame.column(spec.name).unwrap(), start, &mut marked).unwrap();
                let broken = frame.clone().lazy().select([any_broken(&[check.rule(spec)])]).collect().unwrap();
                let broken: Vec<bool> = broken.column(BROKEN).unwrap().bool().unwrap().iter().map(|b| b.unwrap()).collect();
                proptest::prop_assert_eq!(&marked, &broken, "{} {:?}", spec.name, check);
            }
        }
    }

    #[test]
    fn short_strings_compare_inline_as_slices_do(
        a in proptest::collection::vec(proptest::sample::select(b"ab".to_vec()), 0..20),
        b in proptest::collection::vec(proptest::sample::select(b"ab".to_vec()), 0..20),
        flip in proptest::option::of(0usize..20),
    ) {
        proptest::prop_assert_eq!(same_bytes(&a, &b), a == b);
        let mut near = a.clone();
        if let Some(at) = flip.filter(|&at| at < near.len()) {
            near[at] ^= 1;
        }
        proptest::prop_assert_eq!(same_bytes(&a, &near), a == near);
    }

    #[test]
    fn quotes_are_counted_across_blocks_and_the_rest(bytes in proptest::collection::vec(proptest::sample::select(b"\"a;\n".to_vec()), 0..400)) {
        proptest::prop_assert_eq!(count_quotes(&bytes), bytes.iter().filter(|&&b| b == b'"').count());
    }
}

#[test]
fn unread_identifiers_are_dropped_unless_two_hash_alike() {
    let reference = Reference::load(None).unwrap();
    let read = |ids: &[&str]| {
        let mut text = String::from("id_pol;id_lav;cod_attivita;data_inizio;data_fine;esito;programma;ente\n");
        for id in ids {
            text.push_str(&format!("{id};P1;A01;01/01/2024;;CONCLUSA;ORD;CPI\n"));
        }
        let bytes = dialect::FileBytes::Decoded(text.into_bytes());
        let prepared = dialect::prepare(bytes, "politiche.csv", Default::default()).unwrap();
        // About two rows a piece.
        read_file(
            &ACTIVITIES,
            prepared,
            &reference,
            Keep::ForAnalysis(&LoadOptions::default()),
            None,
            60,
            &mut Ok,
        )
        .unwrap()
    };
    // In order or not, in plain pieces or in pieces polars' reader reads
    // (an escaped quote): all different, so the duplicate rule could
    // reject nothing, and the identifiers are gone.
    for ids in [
        ["X1", "X2", "X3", "X4", "X5"],
        ["X1", "X2", "X3", "X0", "X5"],
        ["X2", "X1", "X3", "X4", "X5"],
        ["X2", "\"X\"\"1\"", "X3", "X4", "X5"],
    ] {
        let read = read(&ids);
        assert!(read.frame.column("id_pol").is_err(), "{ids:?}");
        assert_eq!(read.frame.height(), 5);
        assert_eq!(read.report.rows_read, 5);
    }
    // A repeat, in the first piece or a later one, plain or quoted: kept
    // as text for the duplicate rule to name.
    for (ids, text) in [
        (["X1", "X2", "X3", "X4", "X2"], ["X1", "X2", "X3", "X4", "X2"]),
        (["X2", "X1", "X3", "X4", "X2"], ["X2", "X1", "X3", "X4", "X2"]),
        (
            ["\"X\"\"1\"", "X2", "X3", "X4", "\"X\"\"1\""],
            ["X\"1", "X2", "X3", "X4", "X\"1"],
        ),
    ] {
        let again = read(&ids);
        let kept: Vec<Option<&str>> = again.frame.column("id_pol").unwrap().str().unwrap().iter().collect();
        assert_eq!(kept, text.map(Some));
        assert_eq!(again.report.rows_read, 5);
        assert!(again.rejects.is_empty());
    }
    // Too long, plain or quoted: rejected, quoting the text.
    let long = "L".repeat(MAX_TEXT_BYTES + 1);
    for ids in [
        ["X1", &long, "X3", "X4", "X5"],
        ["X1", &format!("\"{long}\"\"\""), "X3", "X4", "X5"],
    ] {
        let read = read(&ids);
        assert_eq!(read.frame.height(), 4);
        assert_eq!(read.rejects.len(), 1, "{:?}", read.rejects);
        assert_eq!(read.rejects[0].line, 3);
        assert!(
            read.rejects[0].reason.starts_with("longer than"),
            "{:?}",
            read.rejects[0]
        );
        assert!(read.rejects[0].value.starts_with(&long[..20]), "{:?}", read.rejects[0]);
    }
}

#[test]
fn identifiers_may_repeat_unless_they_ascend_strictly_or_hash_apart() {
    let repeats = |ids: &[&str]| {
        let frame = DataFrame::new(ids.len(), vec![Column::new("id".into(), ids)]).unwrap();
        may_repeat(&frame, "id").unwrap()
    };
    assert!(!repeats(&["A1", "A2", "B0"]));
    assert!(!repeats(&["B0", "A1", "A2"]));
    assert!(repeats(&["A1", "A1", "A2"]));
    assert!(repeats(&["A2", "A1", "A2"]));
    assert!(!repeats(&[]));
}

#[test]
fn dates_in_both_layouts_and_nothing_else() {
    assert_eq!(date_days("01/01/1970"), Some(0));
    assert_eq!(date_days("1970-01-02"), Some(1));
    assert_eq!(date_days("29/02/2024"), date_days("2024-02-29"));
    assert_eq!(date_days("31/12/1969"), Some(-1));
    for bad in [
        "29/02/2023",
        "31/04/2024",
        "00/01/2024",
        "1/2/2024",
        "2024-1-01",
        "2024/01/01",
        "01-01-2024",
        "0a/01/2024",
        "01/01/２０２",
    ] {
        assert_eq!(date_days(bad), None, "{bad}");
    }
}

/// Every day of every year four digits can write, and the months and days
/// just outside the calendar's, read as chrono reads them.
#[test]
fn dates_read_as_chrono_reads_them() {
    for year in 0..=9999 {
        for month in 0..=13 {
            for day in 0..=32 {
                let expected = chrono::NaiveDate::from_ymd_opt(year, month, day).map(crate::engine::epoch_days);
                for text in [
                    format!("{day:02}/{month:02}/{year:04}"),
                    format!("{year:04}-{month:02}-{day:02}"),
                ] {
                    assert_eq!(date_days(&text), expected, "{text}");
                }
            }
        }
    }
}

#[test]
fn a_codice_fiscale_is_refused_at_its_line_in_any_chunk() {
    let ids = |values: &[&str]| StringChunked::from_iter_values("id_lav".into(), values.iter().copied());
    let mut column = ids(&["P1", "P2"]);
    column.append(&ids(&["P3", "RSSMRA80A01L219X", "P5"])).unwrap();
    let lines = IdxCa::from_vec(LINE.into(), vec![2, 3, 5, 7, 8]);
    let frame = DataFrame::new(5, vec![column.into_column(), lines.into_column()]).unwrap();
    let error = refuse_codici_fiscali(&frame).unwrap_err().to_string();
    assert!(error.starts_with("lavoratori.csv, line 7: id_lav holds"), "{error}");
    assert!(!error.contains("RSSMRA"), "{error}");
    refuse_codici_fiscali(&frame.slice(0, 3)).unwrap();
}
