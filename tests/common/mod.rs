//! Helpers for end-to-end tests: a temporary extract per test, the real
//! binary, and its output parsed back.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    /// A synthetic extract written by `silp-access generate` into `name`.
    pub fn generated(&self, name: &str, persons: u64, seed: u64) -> PathBuf {
        let out = self.path().join(name);
        run_ok(&[
            "generate",
            "--persons",
            &persons.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
            out.to_str().unwrap(),
        ]);
        out
    }

    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes an extract (file name, bytes) into a subfolder and returns it.
    pub fn extract(&self, name: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, bytes) in files {
            std::fs::write(dir.join(file), bytes).unwrap();
        }
        dir
    }
}

/// The binary cargo built for these tests.
pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_silp-access"))
}

/// The binary as a command, to add arguments to.
pub fn command() -> Command {
    Command::new(binary())
}

/// Runs the binary; on an unexpected status the panic shows the command and its output.
pub fn run(args: &[&str]) -> Output {
    command().args(args).output().unwrap()
}

/// Runs `command` to its end, killing it (and failing) past `limit`.
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).unwrap();
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stderr.read_to_end(&mut bytes).unwrap();
        bytes
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{command:?} ran past {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

pub fn run_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "silp-access {} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Rows of a `;`-separated CSV output as (key columns joined by `/`, popolazione, beneficiari).
pub fn counts(csv_text: &str, keys: &[&str]) -> Vec<(String, u64, u64)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let index = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {headers:?}"))
    };
    let key_idx: Vec<usize> = keys.iter().map(|k| index(k)).collect();
    let (n, x) = (index("popolazione"), index("beneficiari"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let key = key_idx.iter().map(|i| r[*i].to_string()).collect::<Vec<_>>().join("/");
            (key, r[n].parse().unwrap(), r[x].parse().unwrap())
        })
        .collect()
}

pub fn owned(rows: &[(&str, u64, u64)]) -> Vec<(String, u64, u64)> {
    rows.iter().map(|(k, n, x)| (k.to_string(), *n, *x)).collect()
}

/// The hand-computed fixture (see tests/fixture.md for every expected number).
pub const PERSONS: &str = "\
id_lav;sesso;anno_nascita;cittadinanza;prov_domicilio;titolo_studio;motivo_permesso;ex_msna
P1;M;1980;100;001;MEDIO;;
P2;F;1990;100;001;ALTO;;
P3;M;1995;436;001;BASSO;LAVORO;N
P4;F;1985;436;001;;FAMIGLIA;N
P5;M;2000;235;004;MEDIO;;
P6;F;1970;100;006;BASSO;;
P7;M;1975;100;001;MEDIO;;
P8;M;1960;100;001;BASSO;;
P9;M;2001;100;001;MEDIO;;
P10;M;1988;436;001;BASSO;LUNGO_PERIODO;N
P11;F;1999;100;003;ALTO;;
";

pub const SPELLS: &str = "\
id_did;id_lav;data_did;data_fine;cpi;prov_cpi
D1;P1;01/03/2023;;TO01;001
D2;P2;10/01/2024;30/06/2024;TO-Ciriè;001
D3;P3;01/02/2024;31/03/2024;TO01;001
D4;P4;01/06/2024;;TO02;001
D5a;P5;01/01/2023;31/01/2024;TO01;001
D5b;P5;01/06/2024;;CN01;004
D6a;P6;01/02/2024;;TO01;001
D6b;P6;01/02/2024;;AL01;006
D7;P7;01/01/2022;31/12/2023;TO01;001
D8;P8;31/12/2024;;TO01;001
D9;P9;01/06/2023;01/01/2024;TO01;001
D10;P10;01/02/2023;30/04/2023;TO01;001
D11b;P11;01/09/2023;15/10/2023;VB01;103
D11a;P11;01/09/2023;30/09/2023;NO01;003
";

pub const ACTIVITIES: &str = "\
id_pol;id_lav;cod_attivita;data_inizio;data_fine;esito;programma;ente
X1;P1;A01;01/03/2023;01/03/2023;CONCLUSA;ORD;CPI
X2;P1;C01;15/05/2024;;AVVIATA;GOL;ACCREDITATO
X3;P2;A02;10/01/2024;10/01/2024;CONCLUSA;GOL;CPI
X4;P3;C06;15/04/2024;;AVVIATA;GOL;ACCREDITATO
X5;P3;A01;15/01/2024;15/01/2024;CONCLUSA;ORD;CPI
X6;P4;C01;01/07/2024;;RIFIUTATA;GOL;ACCREDITATO
X7;P5;A01;20/01/2024;20/01/2024;CONCLUSA;ORD;CPI
X8;P5;B03;01/01/2024;;AVVIATA;GOL;CPI
X9;P7;A01;15/03/2024;15/03/2024;CONCLUSA;ORD;CPI
X10;P8;A01;31/12/2024;;AVVIATA;ORD;CPI
X11;P9;A01;01/01/2024;01/01/2024;CONCLUSA;GG;CPI
X12;P10;A01;02/02/2024;02/02/2024;CONCLUSA;ORD;CPI
";

/// Copies of every fixture person in the extract the tests run on: every
/// count is then a multiple of 10, so no cell falls under the disclosure
/// threshold and the hand-computed numbers stay visible (times 10).
pub const REPLICAS: usize = 10;

/// Repeats the data rows `REPLICAS` times, suffixing the identifier columns
/// with `-0`, `-1`, ... (which keeps the byte order of ids within a person).
pub fn replicate(text: &str, id_columns: &[usize]) -> String {
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    let rows: Vec<&str> = lines.collect();
    for replica in 0..REPLICAS {
        for row in &rows {
            let mut fields: Vec<String> = row.split(';').map(String::from).collect();
            for c in id_columns {
                fields[*c] = format!("{}-{replica}", fields[*c]);
            }
            out.push_str(&fields.join(";"));
            out.push('\n');
        }
    }
    out
}

pub fn fixture_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("lavoratori.csv", replicate(PERSONS, &[0]).into_bytes()),
        ("did.csv", replicate(SPELLS, &[0, 1]).into_bytes()),
        ("politiche.csv", replicate(ACTIVITIES, &[0, 1]).into_bytes()),
    ]
}

/// A group of identical persons: province code, sex, citizenship code, birth
/// year, how many, and how many of them start a service in 2024.
pub struct Cell {
    pub province: &'static str,
    pub sex: &'static str,
    pub citizenship: &'static str,
    pub birth_year: u32,
    pub persons: u32,
    pub beneficiaries: u32,
}

/// An extract in which every person has one spell open from 01/01/2024, so
/// the stock of 2024 is exactly the cells given.
pub fn extract_of_cells(cells: &[Cell]) -> Vec<(&'static str, Vec<u8>)> {
    let mut persons =
        String::from("id_lav;sesso;anno_nascita;cittadinanza;prov_domicilio;titolo_studio;motivo_permesso;ex_msna\n");
    let mut spells = String::from("id_did;id_lav;data_did;data_fine;cpi;prov_cpi\n");
    let mut activities = String::from("id_pol;id_lav;cod_attivita;data_inizio;data_fine;esito;programma;ente\n");
    let mut id = 0;
    for cell in cells {
        for i in 0..cell.persons {
            id += 1;
            persons.push_str(&format!(
                "L{id};{};{};{};{};;;\n",
                cell.sex, cell.birth_year, cell.citizenship, cell.province
            ));
            spells.push_str(&format!(
                "D{id};L{id};01/01/2024;;C{};{}\n",
                cell.province, cell.province
            ));
            if i < cell.beneficiaries {
                activities.push_str(&format!("P{id};L{id};A01;01/02/2024;;CONCLUSA;GOL;CPI\n"));
            }
        }
    }
    vec![
        ("lavoratori.csv", persons.into_bytes()),
        ("did.csv", spells.into_bytes()),
        ("politiche.csv", activities.into_bytes()),
    ]
}

pub fn cell(
    province: &'static str,
    sex: &'static str,
    citizenship: &'static str,
    birth_year: u32,
    persons: u32,
    beneficiaries: u32,
) -> Cell {
    Cell {
        province,
        sex,
        citizenship,
        birth_year,
        persons,
        beneficiaries,
    }
}

/// Parses a `;` CSV into rows of column name → value.
pub fn records(csv_text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The names in a folder, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The effective user id: root ignores folder permissions, and only root
/// makes device nodes and mounts file systems.
pub fn user_id() -> u32 {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The README's example job with its paths pointed into `work`.
pub fn example_job(work: &Workdir, extra_tables: &str) -> std::path::PathBuf {
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/job.toml")).unwrap();
    let job = example
        .replace(
            "extract = \"../data-samples/piemonte-20k\"",
            &format!("extract = \"{}\"", sample_dir()),
        )
        .replace(
            "output = \"../out/accesso-{as_of}\"",
            "output = \"out/accesso-{as_of}\"",
        )
        + extra_tables;
    let path = work.path().join("job.toml");
    std::fs::write(&path, job).unwrap();
    path
}

/// The shipped sample extract.
pub fn sample_dir() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/data-samples/piemonte-20k")
}
