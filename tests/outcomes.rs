//! `survival` and `outcomes` end to end on a hand-worked extract: ten
//! persons whose every day is counted below, checked against R's
//! `survival` package (`survfit`, multi-state `survfit` for the competing
//! event) and by hand, from the CSV files and from the Parquet cache.

mod common;

use common::{run, run_ok, Workdir};

const PERSONS: &str = "id_lav;sesso;anno_nascita;cittadinanza;prov_domicilio;titolo_studio;motivo_permesso;ex_msna
P01;M;1990;100;001;;;
P02;M;1990;100;001;;;
P03;M;1990;100;001;;;
P04;M;1990;100;001;;;
P05;M;1990;100;001;;;
P06;M;1990;100;001;;;
P07;M;1990;100;001;;;
P08;M;1990;100;001;;;
P09;M;1990;100;001;;;
P10;M;1990;100;001;;;
";

/// Reference spells from 2023: P03 closes on day 30 and P05 on day 10;
/// P09's 2022 spell is not its reference; P10 has none in 2023.
const SPELLS: &str = "id_did;id_lav;data_did;data_fine;cpi;prov_cpi
D01;P01;01/02/2023;;TO01;001
D02;P02;01/02/2023;;TO01;001
D03;P03;01/03/2023;31/03/2023;TO01;001
D04;P04;01/03/2023;;TO01;001
D05;P05;01/04/2023;11/04/2023;TO01;001
D06;P06;01/05/2023;;TO01;001
D07;P07;01/06/2023;;TO01;001
D08;P08;01/06/2023;;TO01;001
D09a;P09;01/01/2022;31/12/2022;TO01;001
D09b;P09;01/07/2023;;TO01;001
D10;P10;01/01/2022;30/06/2022;TO01;001
";

/// First measures on days 10 (P01), 0 (P02), 40 after a closure on day 30
/// (P03), 30 (P04), 10 on the day of the closure (P05), 60 after a refused
/// one on day 5 (P07), before the DID (P08), 90 (P09).
const ACTIVITIES: &str = "id_pol;id_lav;cod_attivita;data_inizio;data_fine;esito;programma;ente
A01;P01;C01;11/02/2023;28/02/2023;CONCLUSA;GOL;CPI
A02;P02;C01;01/02/2023;10/02/2023;CONCLUSA;GOL;CPI
A03;P03;C01;10/04/2023;20/04/2023;CONCLUSA;GOL;CPI
A04;P04;C01;31/03/2023;30/04/2023;CONCLUSA;GOL;CPI
A05;P05;C01;11/04/2023;20/04/2023;CONCLUSA;GOL;CPI
A06;P07;C01;06/06/2023;06/06/2023;RIFIUTATA;GOL;CPI
A07;P07;C01;31/07/2023;31/08/2023;CONCLUSA;GOL;CPI
A08;P08;C01;22/05/2022;31/05/2022;CONCLUSA;GOL;CPI
A09;P09;C01;29/09/2023;15/10/2023;CONCLUSA;GOL;CPI
";

/// After the measures ending in 2023 (P01 28/02, P02 10/02, P03 20/04,
/// P04 30/04, P05 20/04, P07 31/08, P09 15/10): P01, P03 and P05 are at
/// work on their origin day (H02 ends on it); P02, P04 and P07 are at work
/// 90 days on; P01 and P05 were hired after it but no longer are.
const HIRINGS: &str = "id_avv;id_lav;data_avviamento;data_cessazione;tipo_contratto;prov_sede
H01;P01;15/03/2023;15/04/2023;TD;001
H02;P01;01/01/2022;28/02/2023;TI;001
H03;P02;01/03/2023;;TI;001
H04;P03;01/01/2023;;TD;001
H05;P04;01/05/2023;31/12/2023;SOMM;001
H06;P05;21/04/2023;30/06/2023;TD;001
H07;P05;01/01/2023;30/04/2023;TD;001
H08;P07;01/09/2023;;ALTRO;001
";

fn extract(work: &Workdir) -> std::path::PathBuf {
    work.extract(
        "hand",
        &[
            ("lavoratori.csv", PERSONS.as_bytes().to_vec()),
            ("did.csv", SPELLS.as_bytes().to_vec()),
            ("politiche.csv", ACTIVITIES.as_bytes().to_vec()),
            ("avviamenti.csv", HIRINGS.as_bytes().to_vec()),
        ],
    )
}

/// The CSV rows of a command, the same from the CSV files and from the cache.
fn rows(command: &str, extra: &[&str]) -> Vec<Vec<String>> {
    answer(command, extra).0
}

/// The CSV rows of a command (the same from the CSV files and from the
/// cache), and what it said on stderr reading the CSV files.
fn answer(command: &str, extra: &[&str]) -> (Vec<Vec<String>>, String) {
    let work = Workdir::new();
    let dir = extract(&work);
    let mut args = vec![
        command,
        "--extract",
        dir.to_str().unwrap(),
        "--as-of",
        "31/12/2023",
        "--year",
        "2023",
        "--threshold",
        "3",
        "--format",
        "csv",
    ];
    args.extend_from_slice(extra);
    let output = run(&args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let from_csv = String::from_utf8(output.stdout).unwrap();
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    run_ok(&["import", "--extract", dir.to_str().unwrap()]);
    assert_eq!(run_ok(&args), from_csv, "from the cache: {command} {extra:?}");
    let rows = from_csv
        .lines()
        .map(|line| line.split(';').map(String::from).collect())
        .collect();
    (rows, said)
}

fn number(text: &str) -> f64 {
    text.parse().unwrap_or_else(|_| panic!("{text:?} is not a number"))
}

fn close(text: &str, expected: f64) {
    let value = number(text);
    assert!((value - expected).abs() < 1e-9, "{value} is not {expected}");
}

#[test]
fn survival_matches_r_on_the_hand_worked_cohort() {
    let table = rows("survival", &["--days", "30,60,90,365"]);
    assert_eq!(
        table[0][..11],
        [
            "giorni",
            "popolazione",
            "a_rischio",
            "eventi",
            "quota",
            "ic95_inf",
            "ic95_sup",
            "mediana_giorni",
            "affidabile",
            "stato_cella",
            "logrank_chi2"
        ]
    );
    // R: summary(survfit(Surv(t, s) ~ 1), times = c(30, 60, 90)) with
    // t = 0, 10, 10, 30, 30+, 60, 90, 213+, 244+: 1 - surv, 1 - upper, 1 - lower.
    // (Day 10 is not asked for: only P02 has left by then, a count under
    // the threshold that popolazione - a_rischio would show.)
    let expected = [
        ("30", "6", "4", 4.0 / 9.0, 0.0034324003175, 0.690294993127),
        ("60", "4", "5", 0.583333333333, 0.0602019274657, 0.815267645056),
        ("90", "3", "6", 0.722222222222, 0.1306045529989, 0.911248104538),
    ];
    for (row, (day, at_risk, events, share, low, high)) in table[1..4].iter().zip(expected) {
        assert_eq!([&row[0], &row[1], &row[2], &row[3]], [day, "9", at_risk, events]);
        assert!((number(&row[4]) - share).abs() < 1e-9);
        assert!((number(&row[5]) - low).abs() < 1e-8, "{row:?}");
        assert!((number(&row[6]) - high).abs() < 1e-8, "{row:?}");
        // R: quantile(fit, 0.5) is 60.
        assert_eq!(row[7], "60");
        assert_eq!(row[9], "s");
    }
    // Nobody is followed to day 365: the row is hidden.
    assert_eq!(table[4][0], "365");
    assert!(table[4][1..9].iter().all(String::is_empty), "{:?}", table[4]);
    assert_eq!(table[4][9], "u");
}

#[test]
fn a_closed_did_is_a_competing_event_with_competing() {
    // R: multi-state survfit, P03's closure on day 30 competing, P05's
    // event on its closure day still an event: pstate of the event.
    let table = rows("survival", &["--days", "30,60,90", "--competing"]);
    for (row, (day, incidence)) in table[1..]
        .iter()
        .zip([("30", 4.0 / 9.0), ("60", 5.0 / 9.0), ("90", 2.0 / 3.0)])
    {
        assert_eq!(row[0], day);
        close(&row[4], incidence);
        assert!(row[5].is_empty() && row[6].is_empty() && row[7].is_empty(), "{row:?}");
    }
}

#[test]
fn outcomes_count_only_persons_followed_long_enough() {
    let (table, stderr) = answer("outcomes", &["--days", "30,90"]);
    assert!(stderr.contains("at 90 days, 1 persons are left out"), "{stderr}");
    assert_eq!(
        table[0],
        [
            "giorni",
            "popolazione",
            "gia_occupati",
            "esiti",
            "tasso",
            "ic95_inf",
            "ic95_sup",
            "affidabile",
            "stato_cella"
        ]
    );
    // Day 30: 5 of 7 at work, so 2 are not: a small count, hidden.
    assert_eq!(table[1][0], "30");
    assert_eq!(table[1][8], "u");
    // Day 90: P09 is not followed that long; 3 of 6 at work, 3 already at
    // work at the origin. R: prop.test(3, 6, correct = FALSE)$conf.int.
    assert_eq!(table[2][..4], ["90", "6", "3", "3"]);
    close(&table[2][4], 0.5);
    assert!((number(&table[2][5]) - 0.187616306483).abs() < 1e-9);
    assert!((number(&table[2][6]) - 0.812383693517).abs() < 1e-9);
    assert_eq!(table[2][8], "s");
}

#[test]
fn outcomes_from_the_did() {
    // From each cohort member's DID, 90 days on: P02 (TI from 01/03), P04
    // (SOMM from 01/05) and P05 (TD to 30/06, its 90th day) are at work;
    // P01, P03 and P05 were at work on their DID day.
    let at_work = rows("outcomes", &["--days", "90", "--origin", "did"]);
    assert_eq!(at_work[1][..4], ["90", "9", "3", "3"]);
    close(&at_work[1][4], 1.0 / 3.0);
    // Hired after the DID within 90 days: also P01 (15/03): 4 of 9.
    let hired = rows("outcomes", &["--days", "90", "--origin", "did", "--outcome", "assunti"]);
    assert_eq!(hired[1][..4], ["90", "9", "3", "4"]);
    // In a stable job: P02 (open-ended) and P04 (245 days) only, 2 of 9: hidden.
    let stable = rows("outcomes", &["--days", "90", "--origin", "did", "--outcome", "stabili"]);
    assert_eq!(stable[1][8], "u");
    // Without open-ended contracts P02's job and P01's earlier one do not
    // count: 2 at work (P04, P05) and 2 already at work (P03, P05), both
    // hidden. The audit of two hidden counts of one population once
    // stopped here, summing that population's column once instead of twice.
    let fixed_term = rows(
        "outcomes",
        &["--days", "90", "--origin", "did", "--contracts", "TD,SOMM"],
    );
    assert_eq!(fixed_term[1][8], "u");
}

#[test]
fn without_avviamenti_hirings_cannot_be_counted_and_the_error_says_what_to_add() {
    let work = Workdir::new();
    let dir = work.extract(
        "no-hirings",
        &[
            ("lavoratori.csv", PERSONS.as_bytes().to_vec()),
            ("did.csv", SPELLS.as_bytes().to_vec()),
            ("politiche.csv", ACTIVITIES.as_bytes().to_vec()),
        ],
    );
    for args in [&["outcomes"][..], &["survival", "--event", "assunzione"][..]] {
        let mut args = args.to_vec();
        args.extend(["--extract", dir.to_str().unwrap(), "--year", "2023"]);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("has no avviamenti.csv: add the hirings of the Comunicazioni Obbligatorie"),
            "{stderr}"
        );
    }
    let out = run(&["survival", "--extract", dir.to_str().unwrap(), "--compare", "nazione"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--compare \"nazione\""));
}
