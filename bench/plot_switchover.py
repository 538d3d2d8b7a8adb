#!/usr/bin/env python3
"""Per-round dirty pages and bytes of the switchover benchmark's migrations, as SVG, from
its JSON (bench/switchover.py): one line per case (write rate and verify mode), rounds on
the x axis; the final (stop-and-copy) round is marked. Uses python3-matplotlib (Debian's
package; scripts/setup.sh installs it), without a display.

    python3 bench/plot_switchover.py build/bench/switchover-svm.json docs/switchover-svm.svg
"""
import json
import sys

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402


def label(row):
    extra = " " + row["fault"] if row.get("fault") else " +spin" if row.get("neighbour") else ""
    return "%d pages/s verify=%s%s" % (row["rate_pages_per_s"], row["verify"], extra)


def plot(json_path, svg_path):
    with open(json_path) as f:
        data = json.load(f)
    rows = [r for r in data["ferry"] if r.get("round_rows")]
    fig, (dirty_ax, bytes_ax) = plt.subplots(2, 1, figsize=(9, 8), sharex=True)
    for row in rows:
        rounds = row["round_rows"]
        xs = [r["round"] for r in rounds]
        line, = dirty_ax.plot(xs, [r["dirty"] for r in rounds], marker="o", label=label(row))
        bytes_ax.plot(xs, [r["bytes"] / 1e6 for r in rounds], marker="o", color=line.get_color())
        final = [r for r in rounds if r["final"]]
        if final:
            bytes_ax.plot([final[0]["round"]], [final[0]["bytes"] / 1e6], marker="s", markersize=10,
                          fillstyle="none", color=line.get_color())
    dirty_ax.set_ylabel("pages dirty at the round's end")
    dirty_ax.set_yscale("symlog")
    bytes_ax.set_ylabel("MB sent in the round")
    bytes_ax.set_yscale("symlog")
    bytes_ax.set_xlabel("round (square: the stop-and-copy)")
    dirty_ax.set_title("Ferry switchover, %s backend: per round" % data.get("backend", "?"))
    dirty_ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(svg_path, format="svg")
    plt.close(fig)


if __name__ == "__main__":
    plot(sys.argv[1], sys.argv[2])
