//! The examples each command's `--help` ends with.

pub(super) const RATES_EXAMPLES: &str = "\
Examples:
  silp-access rates --year 2024 --by provincia,gruppo_cittadinanza,sesso
  silp-access rates --extract estrazione/ --year 2024 --by cittadinanza --top 10 --margins
  silp-access rates --population coorte --window 365 --dal 01/01/2023 --al 31/12/2023 --select misure
  silp-access rates --year 2024 --by gruppo_cittadinanza,programma --format csv --output tassi.csv
  silp-access rates --link examples/accoglienza.csv --by accoglienza,gruppo_cittadinanza";

pub(super) const SURVIVAL_EXAMPLES: &str = "\
Examples:
  silp-access survival --year 2023 --by gruppo_cittadinanza
  silp-access survival --year 2023 --event servizio --by provincia,gruppo_cittadinanza --days 30,90,180
  silp-access survival --dal 01/01/2023 --al 30/06/2023 --event assunzione --competing --by sesso,gruppo_cittadinanza
  silp-access survival --year 2023 --by gruppo_cittadinanza --ci log-log --format csv --output attese.csv

The cohort is every person whose DID starts in the period, followed from
that day (day 0) to the event, to the DID's end or to the as-of date. quota
is the share with the event within giorni days (1 - Kaplan-Meier), with R's
interval (--ci log) or lifelines' (--ci log-log); mediana_giorni follows R's
rule. With --competing a closed DID is a competing event and quota is the
Aalen-Johansen cumulative incidence. The log-rank test compares the groups of
--compare (default gruppo_cittadinanza, when in --by) within each stratum of
the other breakdowns. A row is hidden when its counts are small, and a curve
is not shown past the first hidden day.";

pub(super) const OUTCOMES_EXAMPLES: &str = "\
Examples:
  silp-access outcomes --year 2023 --by gruppo_cittadinanza
  silp-access outcomes --year 2023 --outcome stabili --days 90,180 --by provincia,gruppo_cittadinanza
  silp-access outcomes --year 2023 --origin did --outcome assunti --contracts TI,TD,APPR
  silp-access outcomes --year 2023 --by sesso,gruppo_cittadinanza --gap --format csv --output esiti-gap.csv

With --origin fine-misura (default) the persons are those whose latest counted
activity (--select, default misure) ended in the period, followed from that
day; with --origin did the cohort of the period from its DID. At each horizon
only persons followed that long before the as-of date are counted; those
already at work at the origin are counted in gia_occupati. --gap compares each
group with Italians in the same stratum, as the gap command does.";

pub(super) const IMPORT_EXAMPLES: &str = "\
Examples:
  silp-access import --extract /data/silp/2025-01
  silp-access import --extract /data/silp/2025-01 --cache /scratch/silp-2025-01 --rejects scarti.csv
  silp-access rates --extract /data/silp/2025-01 --cache /scratch/silp-2025-01 --year 2024

The cache holds the rows that passed validation, the rejected ones and the
content hash of every CSV file. Every command on the same extract (and the same
--cache, --encoding and --ref-dir) reads it instead of the CSV files while
those files are unchanged, and says so; when a file changes it reads the CSV
files again and tells you to rerun import. --no-cache ignores it.";

pub(super) const GAP_EXAMPLES: &str = "\
Examples:
  silp-access gap --year 2024 --by provincia,sesso
  silp-access gap --year 2024 --by cittadinanza --top 10 --select misure
  silp-access gap --year 2024 --by straniero,classe_eta --standard ita --format csv";

pub(super) const REPORT_EXAMPLES: &str = "\
Examples:
  silp-access report --years 2023-2024 --per-cpi --out reports/piemonte-20k
  silp-access report --extract /data/silp/2025-01 --year 2024 --out /srv/report/2024 --lang en";

pub(super) const AUDIT_EXAMPLES: &str = "\
Examples:
  silp-access audit reports/piemonte-20k/tabelle
  silp-access audit /srv/out/accesso-2024-12-31 --format csv --output audit.csv
  silp-access rates --year 2024 --by provincia,gruppo_cittadinanza --margins --format csv -o pub/rates.csv
  silp-access gap --year 2024 --by provincia --format csv -o pub/gap.csv
  silp-access audit pub

Reads every CSV and JSON table in the folder (and its subfolders), and the manifest of
a report or job (manifest.json, job.json) that says which persons and activities each
table counts; tables without one are taken to count the same. For every suppressed cell
it prints the least and greatest eligible persons, beneficiaries and non-beneficiaries
compatible with everything published, by linear programming.

Exit codes: 0 no suppressed cell can be recovered, 1 a cell is disclosed (a single
value, or a cell under the threshold proved to be under it), 2 usage or reading error.";

pub(super) const VALIDATE_EXAMPLES: &str = "\
Examples:
  silp-access validate --extract /data/silp/2025-01
  silp-access validate --extract /data/silp/2025-01 --rejects scarti.csv --format json --output qualita.json

Exit codes: 0 every row is usable, 1 rows were rejected (the report says which),
2 the extract cannot be read at all.";

pub(super) const PSEUDONYMISE_EXAMPLES: &str = "\
Examples:
  head -c 32 /dev/urandom | base64 > /secure/silp.key
  silp-access pseudonymise --in /data/silp/raw-2025-01 --out /data/silp/2025-01 --key-file /secure/silp.key

The same key gives the same pseudonym for the same person in every extract;
keep it apart from the data, and never in the extract's folder.";

pub(super) const RUN_EXAMPLES: &str = "\
Examples:
  silp-access run --config job.toml
  silp-access run --config /etc/silp/mensile.toml --log-format json

The job writes into a staging folder beside its output and moves it into
place only when every table succeeded; a lock file stops a second run on the
same output. Exit codes: 0 done, 1 rows rejected with strict = true,
2 any other failure (nothing is left half-written).";

pub(super) const GENERATE_EXAMPLES: &str = "\
Examples:
  silp-access generate --persons 20000 --seed 2024 --out data-samples/piemonte-20k
  silp-access generate --persons 1000000 --seed 7 --out /tmp/silp-1m
  silp-access generate --persons 20000 --seed 2024 --out /tmp/sample --accoglienza";
