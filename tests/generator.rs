//! The synthetic generator: deterministic, valid, calibrated, and its access
//! model recoverable by the analysis.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{run_ok, Workdir};
use silp_access::synth::params::{self, Group, Profile};

fn generate(work: &Workdir, name: &str, persons: u64, seed: u64) -> std::path::PathBuf {
    work.generated(name, persons, seed)
}

fn read(dir: &Path, file: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(';').map(String::from).collect())
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let work = Workdir::new();
    let a = generate(&work, "a", 2_000, 11);
    let b = generate(&work, "b", 2_000, 11);
    let c = generate(&work, "c", 2_000, 12);
    for file in ["lavoratori.csv", "did.csv", "politiche.csv", "avviamenti.csv"] {
        let bytes = std::fs::read(a.join(file)).unwrap();
        assert_eq!(bytes, std::fs::read(b.join(file)).unwrap(), "{file}");
        assert_ne!(bytes, std::fs::read(c.join(file)).unwrap(), "{file}");
    }
}

#[test]
fn the_extract_reproduces_public_figures_and_has_real_edge_cases() {
    let work = Workdir::new();
    let dir = generate(&work, "calibration", 60_000, 3);
    let persons = read(&dir, "lavoratori.csv");
    let n = persons.len() as f64;
    let share = |pred: &dyn Fn(&Vec<String>) -> bool| persons.iter().filter(|p| pred(p)).count() as f64 / n;
    let eu = ["235", "233", "209", "215", "216", "239"];
    let foreign = share(&|p| p[3] != "100" && p[3] != "999");
    let eu_share = share(&|p| eu.contains(&p[3].as_str())) / foreign;
    assert!((0.24..0.30).contains(&foreign), "foreign share {foreign}");
    assert!((0.35..0.41).contains(&eu_share), "EU share of foreigners {eu_share}");
    let romania = share(&|p| p[3] == "235") / share(&|p| eu.contains(&p[3].as_str()));
    assert!((0.86..0.92).contains(&romania), "Romania share of EU {romania}");
    let non_eu = foreign - share(&|p| eu.contains(&p[3].as_str()));
    let morocco = share(&|p| p[3] == "436") / non_eu;
    assert!((0.22..0.28).contains(&morocco), "Morocco share of non-EU {morocco}");
    let women = |code: &str| share(&|p| p[3] == code && p[1] == "F") / share(&|p| p[3] == code);
    assert!(women("243") > 0.72, "Ukraine mostly women: {}", women("243"));
    assert!(women("450") < 0.36, "Senegal mostly men: {}", women("450"));
    let long_term = share(&|p| p[6] == "LUNGO_PERIODO") / share(&|p| !p[6].is_empty() && p[3] != "100");
    assert!((0.50..0.60).contains(&long_term), "long-term permits {long_term}");
    assert!(share(&|p| p[3] == "999") > 0.0, "stateless persons");
    assert!(share(&|p| p[4] == "999") > 0.005, "residents outside the region");

    let spells = read(&dir, "did.csv");
    let mut per_person: HashMap<&str, usize> = HashMap::new();
    spells
        .iter()
        .for_each(|s| *per_person.entry(s[1].as_str()).or_default() += 1);
    assert!(per_person.values().any(|c| *c >= 2), "several spells per person");
    assert!(spells.iter().any(|s| s[3].is_empty()), "open spells");
    let activities = read(&dir, "politiche.csv");
    assert!(activities.iter().any(|a| a[5] == "RIFIUTATA"), "refused activities");
}

/// The share of spells reaching a first activity within `t` days of the DID,
/// were no spell to close (`params::FIRST_SERVICE_DAYS_MEAN`): what
/// Kaplan-Meier estimates when closures censor.
fn first_activity_within(mean_days: f64, t: u32) -> f64 {
    (1.0 - (-(f64::from(t) + 1.0) / mean_days).exp()) / (1.0 - (-365.0 / mean_days).exp())
}

/// The share of spells reaching a first activity within `t` days before
/// their closure: what a cohort's rate and the cumulative incidence with
/// closure as a competing event estimate. A spell lasts at least `s` days
/// with probability exp(−s / MEAN_SPELL_DAYS), and an activity on its last
/// day counts.
fn reached_before_closure(mean_days: f64, t: u32) -> f64 {
    (0..=t)
        .map(|s| {
            let on_day = first_activity_within(mean_days, s)
                - if s == 0 {
                    0.0
                } else {
                    first_activity_within(mean_days, s - 1)
                };
            on_day * (-f64::from(s) / params::MEAN_SPELL_DAYS).exp()
        })
        .sum()
}

/// The model's profile of a cell of `provincia,gruppo_cittadinanza,sesso,
/// classe_eta` (columns 0, 2, 3, 4; column 1 is the province's name), with
/// no permit; `None` for the cells the model does not describe (the
/// unknown citizenship, persons outside the region).
fn profile_of(record: &csv::StringRecord) -> Option<Profile<'static>> {
    let province = params::PROVINCE_SIGLE.iter().position(|s| *s == &record[0])?;
    let group = match &record[2] {
        "ITA" => Group::Ita,
        "UE" => Group::Ue,
        // Disclosure control pools the few stateless persons with non-EU
        // citizens where they are small: a fraction of a percent of the cell.
        "EXTRA_UE" | "EXTRA_UE_ND" => Group::ExtraUe,
        _ => return None,
    };
    let age_class = ["15-24", "25-29", "30-54", "55+"]
        .iter()
        .position(|a| *a == &record[4])?;
    Some(Profile {
        group,
        female: &record[3] == "F",
        age_class,
        province,
        permit: None,
    })
}

/// The cohort rate of measures in each cell equals the model's probability
/// of a measure reached before the spell closes: the analysis recovers the
/// generator's documented parameters. Breakdowns finer than these (the
/// permit) leave too few cells unsuppressed at this size to check.
#[test]
fn the_analysis_recovers_the_access_model() {
    let work = Workdir::new();
    let dir = generate(&work, "model", 120_000, 5);
    let out = run_ok(&[
        "rates",
        "--extract",
        dir.to_str().unwrap(),
        "--population",
        "coorte",
        "--window",
        "365",
        "--year",
        "2022",
        "--select",
        "misure",
        "--by",
        "provincia,gruppo_cittadinanza,sesso,classe_eta",
        "--format",
        "csv",
    ]);
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(out.as_bytes());
    let mut checked = 0;
    let (mut ita, mut extra) = ((0u64, 0u64), (0u64, 0u64));
    for record in reader.records() {
        let r = record.unwrap();
        let Some(profile) = profile_of(&r) else { continue };
        let group = profile.group;
        // Suppressed cells (small counts) publish nothing to compare.
        let (Ok(n), Ok(x)) = (r[5].parse::<u64>(), r[6].parse::<u64>()) else {
            continue;
        };
        match group {
            Group::Ita => ita = (ita.0 + n, ita.1 + x),
            Group::ExtraUe => extra = (extra.0 + n, extra.1 + x),
            _ => {}
        }
        // A non-EU cell mixes permits, whose access probabilities differ.
        if n < 250 || group == Group::ExtraUe {
            continue;
        }
        let (_, access) = params::access_probabilities(&profile);
        let expected = access * reached_before_closure(params::FIRST_MEASURE_DAYS_MEAN, 364);
        let rate = x as f64 / n as f64;
        let tolerance = 4.0 * (expected * (1.0 - expected) / n as f64).sqrt();
        assert!(
            (rate - expected).abs() <= tolerance,
            "cell {:?}: rate {rate:.4}, model {expected:.4}, n {n}",
            r
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} cells large enough to check");
    let ratio = (extra.1 as f64 / extra.0 as f64) / (ita.1 as f64 / ita.0 as f64);
    assert!(
        (0.45..0.70).contains(&ratio),
        "non-EU / Italian measure rate ratio {ratio}"
    );
}

/// Each export shape, alone and all together, holds the same rows: every
/// analysis gives the same numbers from the CSV files and from the cache.
#[test]
fn every_export_shape_gives_the_same_numbers() {
    let work = Workdir::new();
    let plain = generate(&work, "plain", 3_000, 21);
    let questions: [&[&str]; 6] = [
        &[
            "rates",
            "--by",
            "provincia,gruppo_cittadinanza,sesso",
            "--format",
            "csv",
        ],
        &[
            "rates",
            "--population",
            "coorte",
            "--select",
            "misure",
            "--by",
            "cittadinanza",
            "--format",
            "csv",
        ],
        &["gap", "--by", "provincia", "--format", "csv"],
        &[
            "survival",
            "--year",
            "2023",
            "--by",
            "provincia,gruppo_cittadinanza",
            "--format",
            "csv",
        ],
        &[
            "survival",
            "--year",
            "2023",
            "--event",
            "assunzione",
            "--competing",
            "--format",
            "csv",
        ],
        &[
            "outcomes", "--year", "2023", "--by", "sesso", "--gap", "--format", "csv",
        ],
    ];
    let answers = |dir: &Path, cache: bool| -> Vec<String> {
        questions
            .iter()
            .map(|question| {
                let mut args = question.to_vec();
                args.extend(["--extract", dir.to_str().unwrap()]);
                if !cache {
                    args.push("--no-cache");
                }
                run_ok(&args)
            })
            .collect()
    };
    let expected = answers(&plain, false);
    let centres = |dir: &Path| {
        let table = run_ok(&[
            "rates",
            "--extract",
            dir.to_str().unwrap(),
            "--by",
            "cpi",
            "--format",
            "csv",
            "--no-cache",
        ]);
        let mut counts: Vec<(u64, u64)> = common::counts(&table, &["cpi"])
            .into_iter()
            .map(|(_, n, x)| (n, x))
            .collect();
        counts.sort_unstable();
        counts
    };
    let expected_centres = centres(&plain);
    let all = "shuffled,named-centres,quoted,crlf,windows1252";
    // Windows-1252 differs from UTF-8 only in the centres' accented names.
    let shapes = [
        "shuffled",
        "named-centres",
        "quoted",
        "crlf",
        "named-centres,windows1252",
        all,
    ];
    for shape in shapes {
        let dir = work.path().join(shape.replace(',', "+"));
        run_ok(&[
            "generate",
            "--persons",
            "3000",
            "--seed",
            "21",
            "--out",
            dir.to_str().unwrap(),
            "--shape",
            shape,
        ]);
        assert!(
            std::fs::read(dir.join("did.csv")).unwrap() != std::fs::read(plain.join("did.csv")).unwrap(),
            "{shape} changes the bytes"
        );
        assert_eq!(answers(&dir, false), expected, "{shape}, from the CSV files");
        assert_eq!(centres(&dir), expected_centres, "{shape}: the same job centres");
        run_ok(&["import", "--extract", dir.to_str().unwrap()]);
        assert_eq!(answers(&dir, true), expected, "{shape}, from the cache");
    }
}

/// The share hired after the end of a measure recovers the generator's
/// model of hirings after measures (`params::hired_after_measure`,
/// `DAYS_TO_HIRING_MEAN`). A person's other hirings (of an earlier measure,
/// or of another DID spell) can also fall after their latest measure, so
/// the measured share may exceed the model's by a few points, never fall
/// short of it.
#[test]
fn the_analysis_recovers_the_hirings_after_measures() {
    let work = Workdir::new();
    let dir = generate(&work, "after", 120_000, 5);
    let out = run_ok(&[
        "outcomes",
        "--extract",
        dir.to_str().unwrap(),
        "--year",
        "2022",
        "--outcome",
        "assunti",
        "--by",
        "gruppo_cittadinanza",
        "--days",
        "30,90,180,365",
        "--format",
        "csv",
    ]);
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(out.as_bytes());
    let mut checked = 0;
    let mut at_180 = (None, None);
    for record in reader.records() {
        let r = record.unwrap();
        let group = match &r[0] {
            "ITA" => Group::Ita,
            "UE" => Group::Ue,
            "EXTRA_UE" | "EXTRA_UE_ND" => Group::ExtraUe,
            _ => continue,
        };
        let day: f64 = r[1].parse().unwrap();
        let (n, share): (f64, f64) = (r[2].parse().unwrap(), r[5].parse().unwrap());
        let model = params::hired_after_measure(group) * (1.0 - (-day / params::DAYS_TO_HIRING_MEAN).exp());
        let se = (model * (1.0 - model) / n).sqrt();
        assert!(
            share >= model - 4.0 * se && share <= model + 4.0 * se + 0.05,
            "{:?} at {day} days: measured {share:.4}, model {model:.4}, n {n}",
            group
        );
        if day == 180.0 {
            match group {
                Group::Ita => at_180.0 = Some(share),
                Group::ExtraUe => at_180.1 = Some(share),
                _ => {}
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 12, "three groups at four horizons");
    let (Some(italians), Some(non_eu)) = at_180 else {
        panic!("both groups are published")
    };
    assert!(
        (0.65..0.95).contains(&(non_eu / italians)),
        "non-EU / Italian {}",
        non_eu / italians
    );
}

/// The model of time to first activity (`params::FIRST_SERVICE_DAYS_MEAN`,
/// `FIRST_MEASURE_DAYS_MEAN`) is what `survival` recovers in each cell of
/// the access model: Kaplan-Meier, where closures censor, gives the curve
/// the model draws; the cumulative incidence with closure as a competing
/// event gives the lower share reached before leaving. Non-EU measure cells
/// are left out: without the permit among the breakdowns (whose finer
/// cells make protection slow) they mix two access probabilities.
#[test]
fn the_analysis_recovers_the_time_to_first_activity() {
    let work = Workdir::new();
    let dir = generate(&work, "timing", 120_000, 5);
    let mut checked = 0;
    for (event, mean_days) in [
        ("servizio", params::FIRST_SERVICE_DAYS_MEAN),
        ("misura", params::FIRST_MEASURE_DAYS_MEAN),
    ] {
        for competing in [false, true] {
            let mut args = vec![
                "survival",
                "--extract",
                dir.to_str().unwrap(),
                "--year",
                "2022",
                "--event",
                event,
                "--days",
                "30,90,180,364",
                "--by",
                "provincia,gruppo_cittadinanza,sesso,classe_eta",
                "--format",
                "csv",
            ];
            if competing {
                args.push("--competing");
            }
            let out = run_ok(&args);
            let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(out.as_bytes());
            for record in reader.records() {
                let r = record.unwrap();
                let Some(profile) = profile_of(&r) else { continue };
                if profile.group == Group::ExtraUe && event == "misura" {
                    continue;
                }
                let (Ok(n), Ok(share)) = (r[6].parse::<f64>(), r[9].parse::<f64>()) else {
                    continue;
                };
                if n < 250.0 {
                    continue;
                }
                let (service, measure) = params::access_probabilities(&profile);
                let access = if event == "servizio" { service } else { measure };
                let day: u32 = r[5].parse().unwrap();
                let (model, tolerance) = if competing {
                    // Only the as-of date censors, and not before day 364 in 2022.
                    let model = access * reached_before_closure(mean_days, day);
                    (model, 4.0 * (model * (1.0 - model) / n).sqrt())
                } else {
                    // The 95% interval is about four standard errors wide.
                    let (low, high): (f64, f64) = (r[10].parse().unwrap(), r[11].parse().unwrap());
                    (access * first_activity_within(mean_days, day), high - low)
                };
                assert!(
                    (share - model).abs() <= tolerance,
                    "{event}, competing {competing}, cell {r:?}: measured {share:.4}, model {model:.4}"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 4 * 4 * 8,
        "only {checked} cells and days large enough to check"
    );
}
