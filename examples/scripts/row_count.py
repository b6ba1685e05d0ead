#!/usr/bin/env python3
"""Count the rows of a CSV file; write a report to $PROCESS_OUTPUT_DIR/report.txt."""
import argparse
import csv
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("-f", "--file", required=True)
parser.add_argument("-H", "--header", action="store_true")
parser.add_argument("-d", "--delimiter", default=",")
args = parser.parse_args()

rows = 0
columns = set()
with open(args.file, newline="", encoding="utf-8", errors="replace") as f:
    reader = csv.reader(f, delimiter=args.delimiter)
    for i, row in enumerate(reader):
        if i == 0 and args.header:
            continue
        rows += 1
        columns.add(len(row))
        if rows % 10000 == 0:
            print(f"counted {rows} rows", flush=True)

print(f"{rows} rows")
if len(columns) > 1:
    print(f"warning: rows have differing column counts: {sorted(columns)}", file=sys.stderr)

out = os.environ["PROCESS_OUTPUT_DIR"]
with open(os.path.join(out, "report.txt"), "w", encoding="utf-8") as r:
    r.write(f"file: {os.path.basename(args.file)}\nrows: {rows}\ncolumns: {sorted(columns)}\n")
