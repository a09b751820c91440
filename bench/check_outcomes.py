#!/usr/bin/env python3
"""Cross-checks `survival` against lifelines and `outcomes` against a DuckDB
SQL query, on an extract in the canonical dialect (e.g. one written by
`silp-access generate`). Each side builds its persons from the CSV files
independently of the toolkit: DuckDB finds the cohort, its reference
spells, first measures and hirings; lifelines fits Kaplan-Meier.

    python3 bench/check_outcomes.py --extract /tmp/silp-100k --year 2023 --as-of 2024-12-31

Prints the largest absolute difference per statistic, and exits 1 when any
exceeds 1e-9 (counts must be equal)."""

import argparse
import io
import subprocess
import sys

import duckdb
import pandas as pd
from lifelines import KaplanMeierFitter

DAYS = [30, 90, 180, 365]


def toolkit(binary, command, extract, year, as_of, by, extra):
    out = subprocess.run(
        [binary, "-q", command, "--extract", extract, "--no-cache", "--year", str(year),
         "--as-of", as_of, "--by", by, "--threshold", "3",
         "--days", ",".join(map(str, DAYS)), "--format", "csv", *extra],
        check=True, capture_output=True, text=True).stdout
    return pd.read_csv(io.StringIO(out), sep=";", dtype={"gruppo_cittadinanza": str, "provincia": str},
                       keep_default_na=False, na_values=[""])


def load(con, extract):
    read = "read_csv('{}/{}', delim=';', header=true, all_varchar=true)"
    for name, file in [("persons", "lavoratori.csv"), ("spells", "did.csv"),
                       ("activities", "politiche.csv"), ("hirings", "avviamenti.csv")]:
        con.execute(f"create table {name} as select * from " + read.format(extract, file))
    groups = pd.read_csv(REFERENCE, sep=";", dtype=str)
    con.register("groups", groups[["codice", "gruppo"]])
    activities = pd.read_csv(ACTIVITIES, sep=";", dtype=str)
    con.register("codes", activities[["codice", "categoria_lmp"]])
    con.register("provinces", pd.read_csv(PROVINCES, sep=";", dtype=str)[["codice", "sigla"]])


def d(column):
    return f"strptime({column}, '%d/%m/%Y')::date"


def survival_frame(con, year, as_of):
    return con.execute(f"""
        with reference as (
            select id_lav, {d('data_did')} as start,
                   case when data_fine is null or data_fine = '' then null else {d('data_fine')} end as finish,
                   row_number() over (partition by id_lav order by {d('data_did')}, id_did) as k
            from spells where year({d('data_did')}) = {year}),
        cohort as (select * from reference where k = 1),
        firsts as (
            select c.id_lav, min({d('a.data_inizio')}) as first
            from cohort c join activities a on a.id_lav = c.id_lav
            join codes on codes.codice = a.cod_attivita
            where a.esito <> 'RIFIUTATA' and codes.categoria_lmp::int between 2 and 7
              and {d('a.data_inizio')} >= c.start
            group by c.id_lav)
        select coalesce(g.gruppo, 'ND') as gruppo, c.start, least(coalesce(c.finish, date '{as_of}'), date '{as_of}') as ends, f.first
        from cohort c join persons p on p.id_lav = c.id_lav
        left join groups g on g.codice = p.cittadinanza
        left join firsts f on f.id_lav = c.id_lav""").df()


def outcomes_frame(con, year, as_of):
    return con.execute(f"""
        with origins as (
            select a.id_lav, max({d('a.data_fine')}) as t0
            from activities a join codes on codes.codice = a.cod_attivita
            where a.esito <> 'RIFIUTATA' and codes.categoria_lmp::int between 2 and 7
              and a.data_fine <> '' and year({d('a.data_fine')}) = {year}
            group by a.id_lav),
        jobs as (
            select id_lav, {d('data_avviamento')} as hired,
                   case when data_cessazione = '' or data_cessazione is null then null else {d('data_cessazione')} end as ended
            from hirings),
        horizons as (select unnest({DAYS}) as giorni),
        placed as (
            select o.id_lav, s.prov_cpi,
                   row_number() over (partition by o.id_lav order by {d('s.data_did')} desc, s.id_did desc) as k
            from origins o join spells s on s.id_lav = o.id_lav and {d('s.data_did')} <= o.t0)
        select coalesce(g.gruppo, 'ND') as gruppo, coalesce(pr.sigla, 'ND') as provincia, h.giorni,
               count(*) as popolazione,
               count(*) filter (where exists (select 1 from jobs j where j.id_lav = o.id_lav and j.hired <= o.t0
                                              and (j.ended is null or j.ended >= o.t0))) as gia_occupati,
               count(*) filter (where exists (select 1 from jobs j where j.id_lav = o.id_lav and j.hired > o.t0
                                              and j.hired <= o.t0 + h.giorni
                                              and (j.ended is null or j.ended >= o.t0 + h.giorni))) as esiti
        from origins o join persons p on p.id_lav = o.id_lav cross join horizons h
        left join groups g on g.codice = p.cittadinanza
        left join placed pl on pl.id_lav = o.id_lav and pl.k = 1
        left join provinces pr on pr.codice = pl.prov_cpi
        where o.t0 + h.giorni <= date '{as_of}'
        group by all order by all""").df()


def pooled_as(ours, groups):
    """The groups as the toolkit published them: when it pooled the unknown
    citizenship with the non-EU group (disclosure control), pooled alike."""
    if (ours.gruppo_cittadinanza == "EXTRA_UE_ND").any():
        return groups.replace({"EXTRA_UE": "EXTRA_UE_ND", "ND": "EXTRA_UE_ND"})
    return groups


def main():
    global REFERENCE, ACTIVITIES, PROVINCES
    parser = argparse.ArgumentParser()
    parser.add_argument("--extract", required=True)
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--as-of", default="2024-12-31")
    parser.add_argument("--binary", default="target/release/silp-access")
    parser.add_argument("--reference", default="reference")
    args = parser.parse_args()
    REFERENCE = f"{args.reference}/cittadinanze.csv"
    ACTIVITIES = f"{args.reference}/attivita.csv"
    PROVINCES = f"{args.reference}/province.csv"
    con = duckdb.connect()
    load(con, args.extract)
    worst = {}

    compared = {}

    def note(what, difference):
        worst[what] = max(worst.get(what, 0.0), abs(difference))
        compared[what] = compared.get(what, 0) + 1

    persons = survival_frame(con, args.year, args.as_of)
    persons["event"] = persons["first"].notna() & (persons["first"] <= persons["ends"])
    persons["time"] = ((persons["first"].where(persons["event"], persons["ends"])) - persons["start"]).dt.days
    ours = toolkit(args.binary, "survival", args.extract, args.year, args.as_of, "gruppo_cittadinanza",
                   ["--ci", "log-log"])
    persons["gruppo"] = pooled_as(ours, persons["gruppo"])
    for group, members in persons.groupby("gruppo"):
        fit = KaplanMeierFitter().fit(members["time"], members["event"])
        for day in DAYS:
            row = ours[(ours.gruppo_cittadinanza == group) & (ours.giorni == day)]
            if row.empty or row.stato_cella.iloc[0] != "s":
                continue
            row = row.iloc[0]
            note("survival popolazione", row.popolazione - len(members))
            note("survival eventi", row.eventi - int((members.event & (members.time <= day)).sum()))
            note("survival a_rischio", row.a_rischio - int((members.time >= day).sum()))
            note("survival quota (lifelines)", row.quota - (1 - fit.predict(day)))
            bounds = fit.confidence_interval_survival_function_
            at = bounds[bounds.index <= day].iloc[-1]
            note("survival ic95 log-log (lifelines)", row.ic95_inf - (1 - at.iloc[1]))
            note("survival ic95 log-log (lifelines)", row.ic95_sup - (1 - at.iloc[0]))
    expected = outcomes_frame(con, args.year, args.as_of)
    ours = toolkit(args.binary, "outcomes", args.extract, args.year, args.as_of, "provincia,gruppo_cittadinanza", [])
    expected["gruppo"] = pooled_as(ours, expected["gruppo"])
    expected = expected.groupby(["provincia", "gruppo", "giorni"], as_index=False).sum()
    for _, want in expected.iterrows():
        row = ours[(ours.provincia == want.provincia) & (ours.gruppo_cittadinanza == want.gruppo)
                   & (ours.giorni == want.giorni)]
        if row.empty or row.stato_cella.iloc[0] != "s":
            continue
        row = row.iloc[0]
        for column in ["popolazione", "gia_occupati", "esiti"]:
            note(f"outcomes {column} (DuckDB)", row[column] - want[column])
        note("outcomes tasso (DuckDB)", row.tasso - want.esiti / want.popolazione)
    for what, difference in sorted(worst.items()):
        print(f"{what:40} {compared[what]:4} values, largest difference {difference:.3g}")
    sys.exit(1 if any(v > 1e-9 for v in worst.values()) else 0)


if __name__ == "__main__":
    main()
