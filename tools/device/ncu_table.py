#!/usr/bin/env python3
"""Prints profile.sh's ncu.csv as a table: per case and kernel launch, the time, DRAM bytes, thread instructions per
parameter, registers, achieved occupancy and issue-slot use. Usage: ncu_table.py ncu.csv [parameters, default 64M]."""
import collections
import csv
import sys

# The metrics profile.sh asks for, by the column names printed.
COLUMNS = [
    ("gpu__time_duration.sum", "us"),
    ("dram__bytes_read.sum", "read MB"),
    ("dram__bytes_write.sum", "write MB"),
    ("smsp__thread_inst_executed.sum", "instr/param"),
    ("launch__registers_per_thread", "regs"),
    ("sm__warps_active.avg.pct_of_peak_sustained_active", "occupancy %"),
    ("smsp__issue_active.avg.pct_of_peak_sustained_active", "issue %"),
    ("dram__throughput.avg.pct_of_peak_sustained_elapsed", "dram %"),
]


def number(text):
    return float(text.replace(",", ""))


def main():
    path = sys.argv[1]
    params = int(sys.argv[2]) if len(sys.argv) > 2 else 64 << 20
    launches = collections.OrderedDict()
    for row in csv.reader(open(path)):
        if len(row) < 16 or row[1] == "ID":
            continue
        case, launch, kernel, metric, unit, value = row[0], row[1], row[5], row[13], row[14], row[15]
        values = launches.setdefault((case, launch, kernel.split("(")[0]), {})
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3, "byte": 1e-6, "Kbyte": 1e-3, "Mbyte": 1.0, "Gbyte": 1e3}
        values[metric] = number(value) * scale.get(unit, 1.0)
    print("| case | launch | kernel | " + " | ".join(name for _, name in COLUMNS) + " |")
    print("|---" * (3 + len(COLUMNS)) + "|")
    for (case, launch, kernel), values in launches.items():
        cells = []
        for metric, name in COLUMNS:
            v = values.get(metric)
            if v is None:
                cells.append("")
            elif metric == "smsp__thread_inst_executed.sum":
                cells.append(f"{v / params:.1f}")
            else:
                cells.append(f"{v:.0f}" if v >= 100 else f"{v:.1f}")
        print(f"| {case} | {launch} | {kernel} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
