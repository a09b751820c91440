//! The generator's parameters, each tied to the public figure it reproduces
//! (`spec/calibration.md`: Regione Piemonte's integrated plan for migrants,
//! 2015, from ISTAT, INPS and Ministry of Labour data, and the other public
//! reports listed there). Change a number here and the sample changes.

/// Citizenship groups, with their share of registered job seekers.
/// Source: 21,316 EU and 35,329 non-EU job seekers against about 200,000 in
/// the region, "roughly a quarter foreign", 38% of them EU.
pub const GROUP_SHARES: [(Group, f64); 4] = [
    (Group::Ita, 0.727),
    (Group::Ue, 0.102),
    (Group::ExtraUe, 0.168),
    (Group::Nd, 0.003),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Ita,
    Ue,
    ExtraUe,
    Nd,
}

/// EU citizenships (ISTAT code, weight). Source: Romania is 89% of the EU component.
pub const EU_CITIZENSHIPS: [(&str, f64); 6] = [
    ("235", 89.0),
    ("233", 3.5),
    ("209", 3.0),
    ("215", 1.5),
    ("216", 1.5),
    ("239", 1.5),
];

/// Non-EU citizenships (ISTAT code, weight). Source: Morocco 25.2%, Albania
/// 16.9%, China 7.5%, Peru in the top five overall; Moldova, Ukraine,
/// Nigeria, Senegal, Egypt, Tunisia, Pakistan, Bangladesh, Brazil, Ecuador follow.
pub const NON_EU_CITIZENSHIPS: [(&str, f64); 29] = [
    ("436", 25.2), // Morocco
    ("201", 16.9), // Albania
    ("314", 7.5),  // China
    ("615", 5.5),  // Peru
    ("254", 4.5),  // Moldova
    ("443", 3.8),  // Nigeria
    ("243", 3.6),  // Ukraine
    ("450", 3.4),  // Senegal
    ("419", 3.0),  // Egypt
    ("460", 2.8),  // Tunisia
    ("344", 2.2),  // Pakistan
    ("605", 2.2),  // Brazil
    ("609", 2.0),  // Ecuador
    ("330", 1.8),  // India
    ("305", 1.6),  // Bangladesh
    ("253", 1.5),  // North Macedonia
    ("323", 1.5),  // Philippines
    ("404", 1.4),  // Côte d'Ivoire
    ("272", 1.2),  // Kosovo
    ("422", 1.2),  // Gambia
    ("423", 1.2),  // Ghana
    ("435", 1.1),  // Mali
    ("425", 1.0),  // Guinea
    ("245", 0.9),  // Russia
    ("411", 0.9),  // Cameroon
    ("271", 0.8),  // Serbia
    ("311", 0.8),  // Sri Lanka
    ("301", 0.4),  // Afghanistan
    ("348", 0.3),  // Syria
];

/// Share of women by citizenship. Source: Ukraine 79.9%, Russia 79.5%,
/// Brazil 71.1% women; Bangladesh, Pakistan, Senegal 71-73% men; non-EU
/// overall 50.1%. West African asylum routes (Gambia, Mali, Guinea) are
/// overwhelmingly male.
pub fn female_share(citizenship: &str, group: Group) -> f64 {
    match citizenship {
        "243" => 0.799,
        "245" => 0.795,
        "605" => 0.711,
        "254" => 0.66,
        "615" => 0.60,
        "235" => 0.57,
        "305" | "344" => 0.28,
        "450" => 0.29,
        "419" => 0.30,
        "422" | "435" | "425" => 0.10,
        "436" => 0.47,
        "201" => 0.48,
        _ => match group {
            Group::Ita => 0.52,
            _ => 0.501,
        },
    }
}

/// Citizenships whose arrivals are mostly through asylum.
pub fn mostly_asylum(citizenship: &str) -> bool {
    matches!(citizenship, "422" | "435" | "425" | "443" | "301" | "348")
}

/// Age class shares of job seekers: foreigners are younger (25.5% of non-EU
/// residents are minors; employment gaps concentrate in young adults).
pub const AGE_SHARES_ITA: [f64; 4] = [0.13, 0.11, 0.54, 0.22];
pub const AGE_SHARES_FOREIGN: [f64; 4] = [0.17, 0.16, 0.59, 0.08];
/// Ages drawn uniformly inside each class (15-24, 25-29, 30-54, 55+).
pub const AGE_RANGES: [(i32, i32); 4] = [(15, 24), (25, 29), (30, 54), (55, 66)];

/// ISTAT province codes in `province.csv` order: TO VC NO CN AT AL BI VB.
pub const PROVINCE_CODES: [&str; 8] = ["001", "002", "003", "004", "005", "006", "096", "103"];
pub const PROVINCE_SIGLE: [&str; 8] = ["TO", "VC", "NO", "CN", "AT", "AL", "BI", "VB"];
/// Job centres per province (Piedmont has 31).
pub const JOB_CENTRES: [u32; 8] = [12, 2, 3, 5, 2, 4, 1, 2];

/// Province of domicile. Source: resident population shares (TO about half);
/// non-EU residents Torino 45.5%, Cuneo 16%, Novara 12%, Alessandria 10.7%;
/// foreigners overall 52.2% in Torino, highest incidence in Asti.
pub const PROVINCE_SHARES_ITA: [f64; 8] = [0.52, 0.04, 0.085, 0.135, 0.048, 0.095, 0.04, 0.037];
pub const PROVINCE_SHARES_EU: [f64; 8] = [0.57, 0.03, 0.06, 0.12, 0.07, 0.09, 0.025, 0.025];
pub const PROVINCE_SHARES_NON_EU: [f64; 8] = [0.455, 0.037, 0.12, 0.16, 0.06, 0.107, 0.033, 0.028];
/// Job seekers living outside the region (province code 999).
pub const OUTSIDE_REGION: f64 = 0.015;
/// A spell held by a job centre of another province than the domicile.
pub const OTHER_PROVINCE_SPELL: f64 = 0.04;

/// Education (BASSO, MEDIO, ALTO, missing).
pub const EDUCATION_ITA: [f64; 4] = [0.38, 0.45, 0.14, 0.03];
pub const EDUCATION_EU: [f64; 4] = [0.45, 0.40, 0.10, 0.05];
pub const EDUCATION_NON_EU: [f64; 4] = [0.55, 0.28, 0.07, 0.10];

/// Non-EU residence permits. Source: 56.2% long-term; of the 43.8% expiring,
/// family 45.7%, work 41.7%, study and asylum/humanitarian about 5% each.
pub const PERMITS: [(&str, f64); 8] = [
    ("LUNGO_PERIODO", 0.562),
    ("FAMIGLIA", 0.200),
    ("LAVORO", 0.183),
    ("STUDIO", 0.022),
    ("ASILO", 0.011),
    ("PROTEZIONE_INTERNAZIONALE", 0.010),
    ("PROTEZIONE_SPECIALE", 0.005),
    ("ALTRO", 0.007),
];
/// Permits of those who arrived through asylum.
pub const ASYLUM_PERMITS: [(&str, f64); 4] = [
    ("ASILO", 0.25),
    ("PROTEZIONE_INTERNAZIONALE", 0.35),
    ("PROTEZIONE_SPECIALE", 0.25),
    ("LUNGO_PERIODO", 0.15),
];
/// Non-EU rows with no permit recorded.
pub const PERMIT_MISSING: f64 = 0.03;
/// Italian or EU rows carrying a permit by mistake (a warning in real data).
pub const PERMIT_ON_CITIZEN: f64 = 0.001;

/// Former unaccompanied minors among young non-EU men. Source: about 290
/// MSNA present, ~80% aged 16-17, mostly male, Albania, Morocco, Egypt leading.
pub const EX_MSNA_YOUNG_MEN: f64 = 0.05;
pub const EX_MSNA_YOUNG_MEN_LEADING: f64 = 0.12;

/// Spells per person: 1, 2 or 3.
pub const SPELL_COUNTS: [(u32, f64); 3] = [(1, 0.68), (2, 0.24), (3, 0.08)];
/// Mean spell length in days (exponential); longer spells stay open at extraction.
pub const MEAN_SPELL_DAYS: f64 = 420.0;
/// Days between the end of a spell and the next registration: at least this
/// plus up to `SPELL_GAP_SPREAD`. Long enough that no activity of one spell,
/// distractors included, falls in the 365-day follow-up of another.
pub const SPELL_GAP_MIN: i32 = 500;
pub const SPELL_GAP_SPREAD: i32 = 400;
/// Years of history before the as-of date.
pub const HISTORY_YEARS: i32 = 4;

/// Access model: the probability that a spell would lead to at least one
/// service (LMP 1) and to at least one measure (LMP 2-7) within 365 days of
/// the DID were it to stay open that long. Spells that close first lose the
/// activities they had not reached yet (see [`FIRST_SERVICE_DAYS_MEAN`]), so
/// a cohort's observed shares are lower: about 0.62 and 0.38 here.
/// Bases: GOL assessed most registrants (218,720 assessment interviews in
/// Piedmont, Nov 2022 - Apr 2025); about 40% of Veneto's DID cohorts receive
/// an active measure within a year.
pub const BASE_SERVICE: f64 = 0.66;
pub const BASE_MEASURE: f64 = 0.46;

/// Time to first activity: the day after the DID of a spell's first service
/// and first measure is an exponential of these means, cut at 365 days and
/// rounded down ([`days_to_first_activity`]), so that, of the spells that
/// reach one, the share that reaches it within t days is
/// `(1 − exp(−(t + 1) / mean)) / (1 − exp(−365 / mean))` were no spell to
/// close. Services come first, as the DID is followed within weeks by the
/// interview that sets the service pact (D.Lgs. 150/2015, art. 20); measures
/// spread over the year. A spell that closes before that day gets no
/// activity: the Kaplan-Meier estimate of `survival` (closures censor)
/// recovers these curves, its `--competing` estimate and `rates` the lower
/// shares of those reached before leaving.
pub const FIRST_SERVICE_DAYS_MEAN: f64 = 30.0;
pub const FIRST_MEASURE_DAYS_MEAN: f64 = 90.0;

/// The inverse of the distribution above at `unit` in [0, 1): a day in 0..=364.
pub fn days_to_first_activity(mean_days: f64, unit: f64) -> i32 {
    let kept = 1.0 - (-365.0 / mean_days).exp();
    (-mean_days * (1.0 - unit * kept).ln()) as i32
}

/// Group multipliers: foreigners reach services about as often as Italians,
/// measures (training above all) noticeably less often: LFS training
/// participation 10.1% Italians, 5.2% EU, 5.3% non-EU.
pub fn group_multiplier(group: Group) -> (f64, f64) {
    match group {
        Group::Ita => (1.0, 1.0),
        Group::Ue => (0.97, 0.72),
        Group::ExtraUe => (0.98, 0.62),
        Group::Nd => (0.90, 0.60),
    }
}

/// Women's measure multiplier: the gap is wider for foreign women
/// (57% of foreign NEETs are women).
pub fn female_multiplier(group: Group) -> f64 {
    match group {
        Group::Ita => 0.95,
        Group::Ue => 0.90,
        Group::ExtraUe | Group::Nd => 0.80,
    }
}

/// Age class multipliers (service, measure): Garanzia Giovani for the young,
/// less activation after 55.
pub const AGE_MULTIPLIERS: [(f64, f64); 4] = [(1.05, 1.20), (1.0, 1.10), (1.0, 1.0), (0.85, 0.65)];

/// Recent non-EU arrivals (any permit but long-term) reach measures less often.
pub const RECENT_ARRIVAL_MEASURE: f64 = 0.85;

/// Province multipliers (service, measure), by the job centre's province.
pub const PROVINCE_MULTIPLIERS: [(f64, f64); 8] = [
    (1.0, 1.0),
    (1.05, 0.90),
    (0.98, 0.95),
    (1.05, 1.10),
    (1.0, 0.90),
    (0.95, 0.92),
    (1.05, 1.05),
    (1.02, 0.95),
];

/// Who a spell belongs to, as far as the access model cares.
#[derive(Debug, Clone, Copy)]
pub struct Profile<'a> {
    pub group: Group,
    pub female: bool,
    /// 0..=3: 15-24, 25-29, 30-54, 55+ (age in the spell's start year).
    pub age_class: usize,
    /// Index into `PROVINCE_CODES` of the job centre's province.
    pub province: usize,
    pub permit: Option<&'a str>,
}

/// The probabilities (service, measure) of the access model for a spell.
pub fn access_probabilities(p: &Profile) -> (f64, f64) {
    let (group_service, group_measure) = group_multiplier(p.group);
    let (age_service, age_measure) = AGE_MULTIPLIERS[p.age_class];
    let (province_service, province_measure) = PROVINCE_MULTIPLIERS[p.province];
    let female = if p.female { female_multiplier(p.group) } else { 1.0 };
    let recent = match (p.group, p.permit) {
        (Group::ExtraUe, Some(permit)) if permit != "LUNGO_PERIODO" => RECENT_ARRIVAL_MEASURE,
        _ => 1.0,
    };
    let service = BASE_SERVICE * group_service * age_service * province_service;
    let measure = BASE_MEASURE * group_measure * age_measure * province_measure * female * recent;
    (service.min(0.98), measure.min(0.98))
}

/// Extra services after the first (each with this probability), and extra measures.
pub const EXTRA_SERVICE: [f64; 2] = [0.5, 0.2];
pub const EXTRA_MEASURE: f64 = 0.25;

/// Activities that must never count, so the analysis is tested on them:
/// a refused proposal inside the spell, an activity shortly before the DID,
/// and one after a closed spell's end (past the 365-day follow-up).
pub const REFUSED_PER_SPELL: f64 = 0.06;
pub const BEFORE_DID_PER_SPELL: f64 = 0.03;
pub const AFTER_END_PER_SPELL: f64 = 0.04;

pub const SERVICES: [(&str, f64); 7] = [
    ("A01", 0.30),
    ("A02", 0.35),
    ("A03", 0.10),
    ("A06", 0.15),
    ("B01", 0.02),
    ("B03", 0.06),
    ("B08", 0.02),
];
pub const MEASURES: [(&str, f64); 9] = [
    ("C01", 0.22),
    ("C02", 0.12),
    ("C03", 0.03),
    ("C06", 0.25),
    ("C07", 0.05),
    ("D01", 0.15),
    ("D02", 0.03),
    ("E01", 0.04),
    ("E02", 0.04),
];
/// Italian courses for non-EU measure takers (FAMI-funded).
pub const ITALIAN_COURSE_NON_EU: f64 = 0.15;

/// Hirings: share of spells followed by one, and contract types. A spell
/// with a measure that ends gets the hirings of the model after a measure
/// instead (the draws are still made, so the rest of the extract is the
/// same with or without that model).
pub const HIRING_PER_SPELL: f64 = 0.45;

/// After a measure (`docs/contracts/outcomes.md`, "Public figures"): the
/// share of persons hired after each measure that ends, by citizenship
/// group. With [`DAYS_TO_HIRING_MEAN`] it puts the share at work 30 days
/// after the measure near the traineeships' 19.6% (ISFOL 2016) and the
/// share hired within 180 days near GOL's 26-47%, lower for non-EU
/// citizens as the access model is.
pub fn hired_after_measure(group: Group) -> f64 {
    match group {
        Group::Ita => 0.45,
        Group::Ue => 0.42,
        Group::ExtraUe | Group::Nd => 0.36,
    }
}

/// Days from the end of a measure to the hiring that follows it: 1 plus
/// an exponential of this mean, rounded down, so that the share hired
/// within t days is `hired_after_measure × (1 − exp(−t / mean))`.
pub const DAYS_TO_HIRING_MEAN: f64 = 60.0;
pub const CONTRACTS: [(&str, f64); 5] = [
    ("TD", 0.50),
    ("TI", 0.15),
    ("APPR", 0.08),
    ("SOMM", 0.17),
    ("ALTRO", 0.10),
];
