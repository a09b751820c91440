"""The `rates` question (stock population, by provincia, gruppo_cittadinanza,
sesso) in DuckDB SQL over the same CSV files: the peer silp-access is
measured against. Prints `;`-separated rows sorted like silp-access's CSV.

usage: python3 duckdb_rates.py EXTRACT_DIR REFERENCE_DIR YEAR [--startup-only]
"""
import sys

import duckdb

extract, reference, year = sys.argv[1], sys.argv[2], int(sys.argv[3])
if "--startup-only" in sys.argv:
    duckdb.sql("SELECT 1").fetchall()
    sys.exit(0)

dal, al = f"{year}-01-01", f"{year}-12-31"
csv = "delim=';', header=true, quote='\"', dateformat='%d/%m/%Y'"
query = f"""
WITH lav AS (
  SELECT * FROM read_csv('{extract}/lavoratori.csv', {csv}, all_varchar=true)
), did AS (
  SELECT * FROM read_csv('{extract}/did.csv', {csv},
    types={{'data_did': 'DATE', 'data_fine': 'DATE', 'id_did': 'VARCHAR', 'prov_cpi': 'VARCHAR'}})
), pol AS (
  SELECT * FROM read_csv('{extract}/politiche.csv', {csv},
    types={{'data_inizio': 'DATE', 'data_fine': 'DATE'}})
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
)
SELECT coalesce(prov.sigla, 'ND') AS provincia, coalesce(cit.gruppo, 'ND') AS gruppo, l.sesso,
       count(*) AS popolazione, count(b.id_lav) AS beneficiari
FROM latest r
JOIN lav l ON l.id_lav = r.id_lav
LEFT JOIN beneficiaries b ON b.id_lav = r.id_lav
LEFT JOIN prov ON prov.codice = r.prov_cpi
LEFT JOIN cit ON cit.codice = l.cittadinanza
GROUP BY ALL
"""
rows = duckdb.sql(query).fetchall()
for row in rows:
    print(";".join(str(v) for v in row))
