"""The `rates` question (stock population, by provincia, gruppo_cittadinanza,
sesso) in DuckDB SQL: the peer silp-access is measured against. Over the
same CSV files, or, with --db, over the tables duckdb_import.py loaded into
DuckDB's own database file (the peer of silp-access's Parquet cache).
Prints `;`-separated rows.

With --link FILE (a linked file of `generate --accoglienza`), the question
of `rates --link FILE --by accoglienza,gruppo_cittadinanza` instead: the
rows are accoglienza;gruppo;;popolazione;beneficiari, NON_COLLEGATO for the
persons the file does not hold.

usage: python3 duckdb_rates.py EXTRACT_DIR REFERENCE_DIR YEAR [--encoding latin-1] [--db FILE] [--link FILE]
"""
import argparse

import duckdb

from duckdb_import import csv_sources

parser = argparse.ArgumentParser()
parser.add_argument("extract")
parser.add_argument("reference")
parser.add_argument("year", type=int)
parser.add_argument("--encoding", default="utf-8")
parser.add_argument("--db")
parser.add_argument("--link")
args = parser.parse_args()
extract, reference, year = args.extract, args.reference, args.year

dal, al = f"{year}-01-01", f"{year}-12-31"
if args.db:
    connection = duckdb.connect(args.db, read_only=True)
    lav, did, pol = "lavoratori", "did", "politiche"
else:
    connection = duckdb.connect()
    lav, did, pol = (f"({source})" for source in csv_sources(extract, args.encoding))
if args.link:
    linked = f", acc AS (SELECT * FROM read_csv('{args.link}', delim=';', header=true, all_varchar=true))"
    keys = """CASE WHEN acc.id_lav IS NULL THEN 'NON_COLLEGATO'
            ELSE coalesce(nullif(trim(acc.accoglienza), ''), 'ND') END AS accoglienza,
       coalesce(cit.gruppo, 'ND') AS gruppo, '' AS sesso"""
    join = "LEFT JOIN acc ON acc.id_lav = r.id_lav"
else:
    linked = ""
    keys = "coalesce(prov.sigla, 'ND') AS provincia, coalesce(cit.gruppo, 'ND') AS gruppo, l.sesso"
    join = ""
query = f"""
WITH lav AS (
  SELECT * FROM {lav}
), did AS (
  SELECT * FROM {did}
), pol AS (
  SELECT * FROM {pol}
), prov AS (
  SELECT * FROM read_csv('{reference}/province.csv', delim=';', header=true, all_varchar=true)
), cit AS (
  SELECT * FROM read_csv('{reference}/cittadinanze.csv', delim=';', header=true, all_varchar=true)
), overlapping AS (
  SELECT id_lav, id_did, data_did, data_fine, prov_cpi FROM did
  WHERE data_did <= DATE '{al}' AND (data_fine IS NULL OR data_fine >= DATE '{dal}')
), latest AS (
  SELECT id_lav, arg_max(prov_cpi, (data_did, id_did)) AS prov_cpi FROM overlapping GROUP BY id_lav
), beneficiaries AS (
  SELECT DISTINCT p.id_lav FROM pol p JOIN overlapping o ON p.id_lav = o.id_lav
  WHERE p.esito <> 'RIFIUTATA'
    AND p.data_inizio BETWEEN DATE '{dal}' AND DATE '{al}'
    AND p.data_inizio >= o.data_did AND (o.data_fine IS NULL OR p.data_inizio <= o.data_fine)
){linked}
SELECT {keys},
       count(*) AS popolazione, count(b.id_lav) AS beneficiari
FROM latest r
JOIN lav l ON l.id_lav = r.id_lav
LEFT JOIN beneficiaries b ON b.id_lav = r.id_lav
LEFT JOIN prov ON prov.codice = r.prov_cpi
LEFT JOIN cit ON cit.codice = l.cittadinanza
{join}
GROUP BY ALL
"""
rows = connection.sql(query).fetchall()
for row in rows:
    print(";".join(str(v) for v in row))
