"""DuckDB's peer of `silp-access import`: the extract's three analysed CSV
files loaded into tables of a DuckDB database file, typed as duckdb_rates.py
reads them.

usage: python3 duckdb_import.py EXTRACT_DIR DB_FILE [--encoding latin-1]
"""
import argparse
import os

import duckdb


def csv_sources(extract, encoding):
    """SELECTs over lavoratori.csv, did.csv and politiche.csv."""
    csv = f"delim=';', header=true, quote='\"', dateformat='%d/%m/%Y', encoding='{encoding}'"
    return (
        f"SELECT * FROM read_csv('{extract}/lavoratori.csv', {csv}, all_varchar=true)",
        f"SELECT * FROM read_csv('{extract}/did.csv', {csv}, "
        "types={'data_did': 'DATE', 'data_fine': 'DATE', 'id_did': 'VARCHAR', 'prov_cpi': 'VARCHAR', "
        "'cpi': 'VARCHAR'})",
        f"SELECT * FROM read_csv('{extract}/politiche.csv', {csv}, "
        "types={'data_inizio': 'DATE', 'data_fine': 'DATE'})",
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("extract")
    parser.add_argument("db")
    parser.add_argument("--encoding", default="utf-8")
    args = parser.parse_args()
    if os.path.exists(args.db):
        os.remove(args.db)
    connection = duckdb.connect(args.db)
    for table, source in zip(["lavoratori", "did", "politiche"], csv_sources(args.extract, args.encoding)):
        connection.execute(f"CREATE TABLE {table} AS {source}")
    connection.close()


if __name__ == "__main__":
    main()
