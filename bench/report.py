#!/usr/bin/env python3
"""Writes a benchmark report: DIR/report.md with one plot per axis (gnuplot, PNG), nexnet and its
peers on the same axes, and a table of medians [min-max] with the ratio to nexnet.

    bench/report.py DIR --title TITLE POINTS [--note TEXT]...

POINTS holds one measurement per line: AXIS SIDE X VALUE UNIT, e.g.
    burst nexnet 32 210.5 Mpps
    burst dpdk 32 66.1 Mpps
    tcp kernel-bridge - 13.1 Gbit/s
Repeated (AXIS, SIDE, X) lines are runs: the report shows their median and range. An axis whose
X are numbers is drawn as lines (log2 x for bursts and threads, log x for sizes when they span a
decade); an axis with X "-" or words as grouped bars. Lines starting with # are notes for the report.
The first side listed is nexnet's; ratios are nexnet / that side.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys

LABELS = {"burst": "burst size (packets per receive)", "frame": "frame size (bytes)", "threads": "forwarding threads",
          "size": "frame size (bytes)"}


def load(path):
    axes, notes = {}, []
    for line in open(path):
        if line.startswith("#"):
            notes.append(line[1:].strip())
            continue
        parts = line.split()
        if len(parts) < 5:
            continue
        axis, side, x, value, unit = parts[:5]
        try:
            v = float(value)
        except ValueError:
            continue
        if v != v:  # nan: a run that failed
            continue
        a = axes.setdefault(axis, {"unit": unit, "sides": [], "xs": [], "runs": {}})
        if side not in a["sides"]:
            a["sides"].append(side)
        if x not in a["xs"]:
            a["xs"].append(x)
        a["runs"].setdefault((side, x), []).append(v)
    return axes, notes


def numeric(xs):
    try:
        [float(x) for x in xs]
        return True
    except ValueError:
        return False


def cell(runs):
    if not runs:
        return "-", None
    m = statistics.median(runs)
    if len(runs) == 1:
        return f"{m:.2f}", m
    return f"{m:.2f} [{min(runs):.2f}-{max(runs):.2f}]", m


def plot(directory, name, axis, gnuplot):
    data = os.path.join(directory, f"{name}.dat")
    xs = axis["xs"]
    is_numeric = numeric(xs)
    if is_numeric:
        xs = sorted(xs, key=float)
    with open(data, "w") as out:
        out.write("# x " + " ".join(axis["sides"]) + "\n")
        for x in xs:
            values = []
            for side in axis["sides"]:
                runs = axis["runs"].get((side, x))
                values.append(f"{statistics.median(runs):.6g}" if runs else "NaN")
            label = x if is_numeric else '"' + x + '"'
            out.write(label + " " + " ".join(values) + "\n")
    png = f"{name}.png"
    script = [f'set terminal pngcairo size 820,480 font "sans,10"', f'set output "{os.path.join(directory, png)}"',
              f'set title "{name}: {axis["unit"]}"', f'set ylabel "{axis["unit"]}"', "set grid", "set key outside right top",
              "set yrange [0:*]"]
    columns = len(axis["sides"])
    if is_numeric:
        values = [float(x) for x in xs]
        if name in ("burst", "threads") and min(values) > 0:
            script.append("set logscale x 2")
        elif values and min(values) > 0 and max(values) / min(values) >= 10:
            script.append("set logscale x")
        script.append(f'set xlabel "{LABELS.get(name, name)}"')
        lines = [f'"{data}" using 1:{c + 2} with linespoints lw 2 pt 7 title "{axis["sides"][c]}"' for c in range(columns)]
    else:
        script += ["set style data histograms", "set style histogram cluster gap 1", "set style fill solid 0.8 border -1",
                   "set boxwidth 0.9", 'set xlabel ""']
        lines = [f'"{data}" using {c + 2}:xtic(1) title "{axis["sides"][c]}"' for c in range(columns)]
    script.append("plot " + ", ".join(lines))
    if gnuplot:
        result = subprocess.run([gnuplot], input="\n".join(script) + "\n", text=True, capture_output=True)
        if result.returncode != 0:
            print(f"report.py: gnuplot failed for {name}: {result.stderr.strip()}", file=sys.stderr)
            return None
    return png


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("points")
    parser.add_argument("--title", default="nexnet benchmark")
    parser.add_argument("--note", action="append", default=[])
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    axes, notes = load(args.points)
    gnuplot = shutil.which("gnuplot")
    lines = [f"# {args.title}", ""]
    for note in args.note + notes:
        lines.append(f"- {note}")
    if not gnuplot:
        lines.append("- gnuplot is missing (apt-get install gnuplot-nox): tables only")
    lines.append("")
    for name, axis in axes.items():
        lines.append(f"## {name}")
        lines.append("")
        png = plot(args.directory, name, axis, gnuplot)
        if png:
            lines += [f"![{name}]({png})", ""]
        sides = axis["sides"]
        lines.append("| " + " | ".join([LABELS.get(name, name)] + [f"{s} ({axis['unit']})" for s in sides] +
                                       [f"{sides[0]} / {s}" for s in sides[1:]]) + " |")
        lines.append("|" + "---|" * (1 + 2 * len(sides) - 1))
        xs = sorted(axis["xs"], key=float) if numeric(axis["xs"]) else axis["xs"]
        for x in xs:
            cells, medians = [], []
            for side in sides:
                text, m = cell(axis["runs"].get((side, x), []))
                cells.append(text)
                medians.append(m)
            ratios = [f"{medians[0] / m:.2f}x" if medians[0] and m else "-" for m in medians[1:]]
            lines.append("| " + " | ".join([x] + cells + ratios) + " |")
        lines.append("")
    with open(os.path.join(args.directory, "report.md"), "w") as out:
        out.write("\n".join(lines))
    print(f"report.py: {os.path.join(args.directory, 'report.md')}", file=sys.stderr)


if __name__ == "__main__":
    main()
