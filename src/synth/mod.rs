//! The synthetic extract: persons, DID spells, activities and hirings in the
//! canonical dialect, calibrated to public figures for Piedmont (`params`),
//! identical bytes for the same seed. Persons are generated and written one
//! at a time, so memory stays flat whatever the size.

pub mod params;
mod reception;
mod rng;
mod shapes;

pub use shapes::Shape;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{Datelike, NaiveDate};

use params::{Group, Profile};
use rng::{splitmix64, Rng};

use crate::output::{cannot_write, AtomicFile};
use crate::progress::Progress;

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub persons: u64,
    pub seed: u64,
    /// The extraction date: no date in the extract is later.
    pub as_of: NaiveDate,
    /// How the files are laid out beyond their content (see [`Shape`]).
    pub shapes: Vec<Shape>,
    /// Also write the linked file `accoglienza.csv` and its declaration.
    pub reception: bool,
}

/// Counts of what was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub persons: u64,
    pub spells: u64,
    pub activities: u64,
    pub hirings: u64,
}

const FILES: [&str; 4] = ["lavoratori.csv", "did.csv", "politiche.csv", "avviamenti.csv"];
const HEADERS: [&str; 4] = [
    "id_lav;sesso;anno_nascita;cittadinanza;prov_domicilio;titolo_studio;motivo_permesso;ex_msna\n",
    "id_did;id_lav;data_did;data_fine;cpi;prov_cpi\n",
    "id_pol;id_lav;cod_attivita;data_inizio;data_fine;esito;programma;ente\n",
    "id_avv;id_lav;data_avviamento;data_cessazione;tipo_contratto;prov_sede\n",
];

/// Persons generated between two updates of the progress display.
const PROGRESS_EVERY: u64 = 10_000;

/// Writes the four files into `out` (created if needed), each beside its
/// target, all put in place only when all are complete (see `output::files`).
pub fn generate(options: &GenerateOptions, out: &Path, progress: Progress) -> Result<Written> {
    if options.persons == 0 {
        bail!("--persons 0: give at least one person");
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let paths: Vec<PathBuf> = FILES.iter().map(|f| out.join(f)).collect();
    let mut writers = Vec::new();
    for (path, header) in paths.iter().zip(HEADERS) {
        let mut writer = BufWriter::with_capacity(1 << 20, AtomicFile::create(path)?);
        writer
            .write_all(header.as_bytes())
            .with_context(|| cannot_write(path))?;
        writers.push(writer);
    }
    let mut reception = if options.reception {
        let path = out.join(reception::FILE);
        let mut writer = BufWriter::with_capacity(1 << 20, AtomicFile::create(&path)?);
        writer
            .write_all(reception::HEADER.as_bytes())
            .with_context(|| cannot_write(&path))?;
        Some((path, writer))
    } else {
        None
    };
    let mut generator = Generator::new(options);
    let mut written = Written::default();
    let mut buffers: [Vec<u8>; 4] = Default::default();
    let step = progress.counted("generating persons", options.persons);
    for index in 0..options.persons {
        if index % PROGRESS_EVERY == 0 {
            step.advance(PROGRESS_EVERY.min(options.persons - index));
        }
        buffers.iter_mut().for_each(Vec::clear);
        generator.person(index, &mut buffers, &mut written);
        for ((writer, buffer), path) in writers.iter_mut().zip(&buffers).zip(&paths) {
            writer.write_all(buffer).with_context(|| cannot_write(path))?;
        }
        if let Some((path, writer)) = &mut reception {
            writer
                .write_all(&generator.reception_rows)
                .with_context(|| cannot_write(path))?;
            generator.reception_rows.clear();
        }
    }
    let mut files = Vec::new();
    for (writer, path) in writers.into_iter().zip(&paths) {
        files.push(
            writer
                .into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| cannot_write(path))?,
        );
    }
    if let Some((path, writer)) = reception {
        files.push(
            writer
                .into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| cannot_write(&path))?,
        );
        let declaration = out.join(reception::DECLARATION_FILE);
        let mut file = AtomicFile::create(&declaration)?;
        file.write_all(reception::DECLARATION.as_bytes())
            .with_context(|| cannot_write(&declaration))?;
        files.push(file);
    }
    for file in files {
        file.commit()?;
    }
    for name in FILES {
        shapes::reshape(out, name, &options.shapes, options.seed)?;
    }
    Ok(written)
}

struct Generator {
    rng: Rng,
    /// The hirings after measures draw from their own stream, so that
    /// every other row is what it would be without them.
    after_measure: Rng,
    /// Mixes person indexes into identifiers that look like keyed hashes.
    id_key: u64,
    as_of: i32,
    history_start: i32,
    next_spell: u64,
    next_activity: u64,
    next_hiring: u64,
    /// The linked file's generator and the rows of the current person.
    reception: Option<reception::Reception>,
    reception_rows: Vec<u8>,
}

/// Days since 0001-01-01, the unit all generator dates are in.
fn day(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

impl Generator {
    fn new(options: &GenerateOptions) -> Generator {
        let as_of = day(options.as_of);
        let start = NaiveDate::from_ymd_opt(options.as_of.year() - params::HISTORY_YEARS, 1, 1)
            .expect("four years before a valid date");
        Generator {
            rng: Rng::new(options.seed),
            after_measure: Rng::new(splitmix64(options.seed ^ 0x4849_5245)),
            id_key: splitmix64(options.seed ^ 0x5349_4C50),
            as_of,
            history_start: day(start),
            next_spell: 0,
            next_activity: 0,
            next_hiring: 0,
            reception: options.reception.then(|| reception::Reception::new(options.seed)),
            reception_rows: Vec::new(),
        }
    }

    fn person(&mut self, index: u64, out: &mut [Vec<u8>; 4], written: &mut Written) {
        let rng = &mut self.rng;
        let group = *rng.pick(&params::GROUP_SHARES);
        let citizenship = match group {
            Group::Ita => "100",
            Group::Ue => rng.pick(&params::EU_CITIZENSHIPS),
            Group::ExtraUe => rng.pick(&params::NON_EU_CITIZENSHIPS),
            Group::Nd => "999",
        };
        let female = rng.chance(params::female_share(citizenship, group));
        let age_shares = if group == Group::Ita {
            params::AGE_SHARES_ITA
        } else {
            params::AGE_SHARES_FOREIGN
        };
        let age_class = rng.index(&age_shares);
        let (low, high) = params::AGE_RANGES[age_class];
        let reference_year = NaiveDate::from_num_days_from_ce_opt(self.as_of).expect("valid").year() - 1;
        let birth_year = reference_year - rng.between(low, high);
        let province_shares = match group {
            Group::Ita | Group::Nd => params::PROVINCE_SHARES_ITA,
            Group::Ue => params::PROVINCE_SHARES_EU,
            Group::ExtraUe => params::PROVINCE_SHARES_NON_EU,
        };
        let home = if rng.chance(params::OUTSIDE_REGION) {
            None
        } else {
            Some(rng.index(&province_shares))
        };
        let education = rng.index(match group {
            Group::Ita => &params::EDUCATION_ITA,
            Group::Ue => &params::EDUCATION_EU,
            _ => &params::EDUCATION_NON_EU,
        });
        let permit = match group {
            Group::ExtraUe if rng.chance(params::PERMIT_MISSING) => None,
            Group::ExtraUe if params::mostly_asylum(citizenship) => Some(*rng.pick(&params::ASYLUM_PERMITS)),
            Group::ExtraUe => Some(*rng.pick(&params::PERMITS)),
            _ if rng.chance(params::PERMIT_ON_CITIZEN) => Some("LAVORO"),
            _ => None,
        };
        let young_man = !female && age_class == 0;
        let ex_msna = match group {
            Group::ExtraUe if young_man => {
                let leading = matches!(citizenship, "201" | "436" | "419");
                let p = if leading {
                    params::EX_MSNA_YOUNG_MEN_LEADING
                } else {
                    params::EX_MSNA_YOUNG_MEN
                };
                if rng.chance(p) {
                    "S"
                } else {
                    "N"
                }
            }
            Group::ExtraUe => "N",
            _ => "",
        };

        let id = format!("{:016x}", splitmix64(index ^ self.id_key));
        let row = &mut out[0];
        writeln!(
            row,
            "{id};{};{birth_year};{citizenship};{};{};{};{ex_msna}",
            if female { "F" } else { "M" },
            home.map_or("999", |p| params::PROVINCE_CODES[p]),
            ["BASSO", "MEDIO", "ALTO", ""][education],
            permit.unwrap_or(""),
        )
        .expect("writing to memory");
        written.persons += 1;
        if let Some(reception) = &mut self.reception {
            reception.person(
                &id,
                group == Group::ExtraUe,
                permit,
                ex_msna == "S",
                &mut self.reception_rows,
            );
        }

        let spells = *self.rng.pick(&params::SPELL_COUNTS);
        let mut start = self.rng.between(self.history_start, self.as_of - 30);
        for _ in 0..spells {
            if start > self.as_of {
                break;
            }
            let province = match home {
                Some(p) if !self.rng.chance(params::OTHER_PROVINCE_SPELL) => p,
                _ => self.rng.index(&params::PROVINCE_SHARES_ITA),
            };
            let length = (-params::MEAN_SPELL_DAYS * (1.0 - self.rng.unit()).ln()) as i32;
            let end = (start + length <= self.as_of).then_some(start + length);
            let start_year = NaiveDate::from_num_days_from_ce_opt(start).expect("valid").year();
            let age = start_year - birth_year;
            let profile = Profile {
                group,
                female,
                age_class: match age {
                    ..=24 => 0,
                    25..=29 => 1,
                    30..=54 => 2,
                    _ => 3,
                },
                province,
                permit,
            };
            self.spell(&id, start, end, &profile, out, written);
            let Some(end) = end else { break };
            start = end + params::SPELL_GAP_MIN + self.rng.between(0, params::SPELL_GAP_SPREAD);
        }
    }

    fn spell(
        &mut self,
        person: &str,
        start: i32,
        end: Option<i32>,
        profile: &Profile,
        out: &mut [Vec<u8>; 4],
        written: &mut Written,
    ) {
        self.next_spell += 1;
        let province = params::PROVINCE_CODES[profile.province];
        let centre = 1 + (self.rng.unit() * f64::from(params::JOB_CENTRES[profile.province])) as u32;
        writeln!(
            out[1],
            "D{:010};{person};{};{};{}{centre:02};{province}",
            self.next_spell,
            date(start),
            end.map(date).unwrap_or_default(),
            params::PROVINCE_SIGLE[profile.province],
        )
        .expect("writing to memory");
        written.spells += 1;

        // Counted activities fall in the spell and within 365 days of the DID.
        let last_day = end.unwrap_or(self.as_of).min(start + 364).min(self.as_of);
        let (p_service, p_measure) = params::access_probabilities(profile);
        let non_eu = profile.group == Group::ExtraUe;
        let first_service = self.first_activity(p_service, params::FIRST_SERVICE_DAYS_MEAN, start, last_day);
        if let Some(first) = first_service {
            let extra = params::EXTRA_SERVICE.iter().filter(|p| self.rng.chance(**p)).count();
            for index in 0..=extra {
                let code = *self.rng.pick(&params::SERVICES);
                let on = if index == 0 {
                    first
                } else {
                    self.rng.between(first, last_day)
                };
                self.activity(person, code, on, None, profile, out, written);
            }
        }
        let mut measure_ended = false;
        let first_measure = self.first_activity(p_measure, params::FIRST_MEASURE_DAYS_MEAN, start, last_day);
        if let Some(first) = first_measure {
            let count = 1 + usize::from(self.rng.chance(params::EXTRA_MEASURE));
            for index in 0..count {
                let code = if non_eu && self.rng.chance(params::ITALIAN_COURSE_NON_EU) {
                    "C03"
                } else {
                    *self.rng.pick(&params::MEASURES)
                };
                let on = if index == 0 {
                    first
                } else {
                    self.rng.between(first, last_day)
                };
                measure_ended |= self.activity(person, code, on, None, profile, out, written).is_some();
            }
        }
        if self.rng.chance(params::REFUSED_PER_SPELL) {
            let code = *self.rng.pick(&params::MEASURES);
            let on = self.rng.between(start, last_day);
            self.activity(person, code, on, Some("RIFIUTATA"), profile, out, written);
        }
        if self.rng.chance(params::BEFORE_DID_PER_SPELL) {
            let on = start - self.rng.between(1, 60);
            let code = *self.rng.pick(&params::SERVICES);
            self.activity(person, code, on, None, profile, out, written);
        }
        if let Some(end) = end {
            if self.rng.chance(params::AFTER_END_PER_SPELL) {
                let on = end.max(start + 365) + self.rng.between(1, 90);
                if on <= self.as_of {
                    let code = *self.rng.pick(&params::MEASURES);
                    self.activity(person, code, on, None, profile, out, written);
                }
            }
        }
        if self.rng.chance(params::HIRING_PER_SPELL) {
            let on = start + self.rng.between(30, 600);
            if on <= self.as_of {
                let contract = *self.rng.pick(&params::CONTRACTS);
                let ends = match contract {
                    "TI" => None,
                    _ => Some(on + self.rng.between(30, 365)).filter(|d| *d <= self.as_of),
                };
                let outside = self.rng.chance(0.05);
                if !measure_ended {
                    self.hiring(person, on, contract, ends, outside, profile, &mut out[3], written);
                }
            }
        }
    }

    /// The day of a spell's first service or measure under the model of
    /// time to first activity (`params::days_to_first_activity`): drawn with
    /// probability `access`, and `None` also when the spell closes (or the
    /// extract ends) before that day: leaving the register competes with
    /// access.
    fn first_activity(&mut self, access: f64, mean_days: f64, start: i32, last_day: i32) -> Option<i32> {
        if !self.rng.chance(access) {
            return None;
        }
        let on = start + params::days_to_first_activity(mean_days, self.rng.unit());
        (on <= last_day).then_some(on)
    }

    /// The model of hirings after a measure ending on `end` (see
    /// `params::hired_after_measure`).
    fn hire_after_measure(
        &mut self,
        person: &str,
        end: i32,
        profile: &Profile,
        out: &mut [Vec<u8>; 4],
        written: &mut Written,
    ) {
        let rng = &mut self.after_measure;
        if !rng.chance(params::hired_after_measure(profile.group)) {
            return;
        }
        let delay = 1 + (-params::DAYS_TO_HIRING_MEAN * (1.0 - rng.unit()).ln()) as i32;
        let on = end + delay;
        let contract = *rng.pick(&params::CONTRACTS);
        let ends = match contract {
            "TI" => None,
            _ => Some(on + rng.between(30, 365)).filter(|d| *d <= self.as_of),
        };
        let outside = rng.chance(0.05);
        if on <= self.as_of {
            self.hiring(person, on, contract, ends, outside, profile, &mut out[3], written);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn hiring(
        &mut self,
        person: &str,
        on: i32,
        contract: &str,
        ends: Option<i32>,
        outside: bool,
        profile: &Profile,
        out: &mut Vec<u8>,
        written: &mut Written,
    ) {
        self.next_hiring += 1;
        let workplace = if outside {
            "999"
        } else {
            params::PROVINCE_CODES[profile.province]
        };
        writeln!(
            out,
            "A{:010};{person};{};{};{contract};{workplace}",
            self.next_hiring,
            date(on),
            ends.map(date).unwrap_or_default()
        )
        .expect("writing to memory");
        written.hirings += 1;
    }

    #[allow(clippy::too_many_arguments)]
    fn activity(
        &mut self,
        person: &str,
        code: &str,
        on: i32,
        outcome: Option<&str>,
        profile: &Profile,
        out: &mut [Vec<u8>; 4],
        written: &mut Written,
    ) -> Option<i32> {
        self.next_activity += 1;
        let service = code.starts_with('A') || code.starts_with('B');
        let length = if service {
            self.rng.between(0, 20)
        } else {
            self.rng.between(20, 180)
        };
        let ends = Some(on + length).filter(|d| *d <= self.as_of);
        let outcome = outcome.unwrap_or(match ends {
            None => "AVVIATA",
            Some(_) if self.rng.chance(0.07) => "INTERROTTA",
            Some(_) => "CONCLUSA",
        });
        let gol_started = day(NaiveDate::from_ymd_opt(2022, 7, 1).expect("valid"));
        let programme = if code == "C03" && profile.group == Group::ExtraUe {
            "FAMI"
        } else if on >= gol_started && self.rng.chance(0.65) {
            "GOL"
        } else if profile.age_class <= 1 && self.rng.chance(0.4) {
            "GG"
        } else if !service && self.rng.chance(0.3) {
            "FSE"
        } else {
            "ORD"
        };
        let provider = if self.rng.chance(if service { 0.2 } else { 0.6 }) {
            "ACCREDITATO"
        } else {
            "CPI"
        };
        writeln!(
            out[2],
            "P{:010};{person};{code};{};{};{outcome};{programme};{provider}",
            self.next_activity,
            date(on),
            ends.map(date).unwrap_or_default()
        )
        .expect("writing to memory");
        written.activities += 1;
        let ended = ends.filter(|_| outcome != "RIFIUTATA");
        if let (Some(end), false) = (ended, service) {
            self.hire_after_measure(person, end, profile, out, written);
        }
        ended
    }
}

/// `dd/mm/yyyy`, the canonical dialect.
fn date(days: i32) -> String {
    let d = NaiveDate::from_num_days_from_ce_opt(days).expect("generated dates are valid");
    format!("{:02}/{:02}/{:04}", d.day(), d.month(), d.year())
}
