"""The `rates` question (stock population, by provincia, gruppo_cittadinanza,
sesso) in pandas over the same CSV files: the second peer silp-access is
measured against. Prints `;`-separated rows like duckdb_rates.py.

usage: python3 pandas_rates.py EXTRACT_DIR REFERENCE_DIR YEAR
"""
import sys

import pandas as pd

extract, reference, year = sys.argv[1], sys.argv[2], int(sys.argv[3])
dal, al = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
read = lambda f, **kw: pd.read_csv(f, sep=";", dtype=str, keep_default_na=False, **kw)
date = lambda s: pd.to_datetime(s.replace("", None), format="%d/%m/%Y")

lav = read(f"{extract}/lavoratori.csv", usecols=["id_lav", "sesso", "cittadinanza"])
did = read(f"{extract}/did.csv", usecols=["id_did", "id_lav", "data_did", "data_fine", "prov_cpi"])
pol = read(f"{extract}/politiche.csv", usecols=["id_lav", "data_inizio", "esito"])
prov = read(f"{reference}/province.csv")
cit = read(f"{reference}/cittadinanze.csv")

did["data_did"], did["data_fine"] = date(did["data_did"]), date(did["data_fine"])
pol["data_inizio"] = date(pol["data_inizio"])
overlapping = did[(did.data_did <= al) & (did.data_fine.isna() | (did.data_fine >= dal))]
latest = overlapping.sort_values(["id_lav", "data_did", "id_did"]).groupby("id_lav", sort=False).tail(1)
counted = pol[(pol.esito != "RIFIUTATA") & (pol.data_inizio >= dal) & (pol.data_inizio <= al)]
inside = counted.merge(overlapping[["id_lav", "data_did", "data_fine"]], on="id_lav")
inside = inside[(inside.data_inizio >= inside.data_did) & (inside.data_fine.isna() | (inside.data_inizio <= inside.data_fine))]
beneficiaries = set(inside.id_lav)

people = latest[["id_lav", "prov_cpi"]].merge(lav, on="id_lav")
people["beneficiario"] = people.id_lav.isin(beneficiaries)
people["provincia"] = people.prov_cpi.map(dict(zip(prov.codice, prov.sigla))).fillna("ND")
people["gruppo"] = people.cittadinanza.map(dict(zip(cit.codice, cit.gruppo))).fillna("ND")
table = people.groupby(["provincia", "gruppo", "sesso"]).beneficiario.agg(["size", "sum"]).reset_index()
for row in table.itertuples(index=False):
    print(f"{row.provincia};{row.gruppo};{row.sesso};{row.size};{int(row.sum)}")
