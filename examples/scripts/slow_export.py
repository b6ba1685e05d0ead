#!/usr/bin/env python3
"""A slow export: one item every 0.2 s, with ::progress:: lines, into exportCSV/export.csv."""
import argparse
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("-n", "--items", type=int, required=True)
parser.add_argument("-s", "--since", default="1970-01-01")
args = parser.parse_args()

target = os.path.join(os.environ["PROCESS_OUTPUT_DIR"], "exportCSV")
os.makedirs(target, exist_ok=True)
with open(os.path.join(target, "export.csv"), "w", encoding="utf-8") as out:
    out.write("id,title,changed\n")
    for i in range(1, args.items + 1):
        out.write(f"{i},item {i},{args.since}\n")
        print(f"exported item {i}", flush=True)
        print(f"::progress::{i * 100 // max(args.items, 1)}", flush=True)
        time.sleep(0.2)
print(f"done: {args.items} items since {args.since}")
