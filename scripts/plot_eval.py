#!/usr/bin/python3
"""Plots of toolgym evaluation runs (docs/evaluation.md), drawn with matplotlib.

Usage: plot_eval.py [--out DIR] [--label NAME]... [--table FILE] RUN_DIR [RUN_DIR...]

Reads each RUN_DIR/summary.json (what `toolgym eval` writes) and draws into DIR (default: the
first run's directory):
  success_by_family.png      success rate per scenario family with Wilson 95% intervals, one bar
                             per run
  pass_at_k.png              pass@k (solid) and pass^k (dashed) against k, overall, per run
  success_vs_compute.png     overall success against mean policy calls (or tokens, when every run
                             reports them) per episode. When a policy has several runs (its
                             inference-time strategies), one panel per policy: the plain run is a
                             star, and the runs of each strategy (best-of-n, majority, refine,
                             budget) a line from it, each point labelled with its parameter
--table FILE writes a Markdown table of the runs (success with its interval and the compute per
episode) to FILE.
  tool_calls_vs_success.png  per family: mean tool calls per episode against success rate

Exit status: 0 drawn, 2 bad input (a message names the file), 3 matplotlib is not installed
(Debian: apt-get install python3-matplotlib).
"""
import argparse
import json
import os
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
except ImportError:
    print("plot_eval.py: matplotlib is not installed (apt-get install python3-matplotlib)",
          file=sys.stderr)
    sys.exit(3)

SUITE_COLORS = {"shell": "#1f77b4", "code": "#ff7f0e", "search": "#2ca02c", "web": "#9467bd"}
RUN_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]


def suite_color(suite, extra={}):
    if suite in SUITE_COLORS:
        return SUITE_COLORS[suite]
    palette = ["#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    return extra.setdefault(suite, palette[len(extra) % len(palette)])


def load(run_dir):
    path = os.path.join(run_dir, "summary.json")
    try:
        with open(path) as f:
            s = json.load(f)
    except (OSError, ValueError) as e:
        print(f"plot_eval.py: {path}: {e}", file=sys.stderr)
        sys.exit(2)
    if s.get("schema") != "toolgym.eval_summary/1" or "groups" not in s:
        print(f"plot_eval.py: {path}: not a toolgym.eval_summary/1 file", file=sys.stderr)
        sys.exit(2)
    return s


# The parameter each strategy's series varies, shown at its points; other parameters name the
# series when they differ from their defaults.
MAIN_PARAM = {"best-of-n": "n", "majority": "n", "refine": "rounds"}
DEFAULTS = {"scorer": "verifier", "feedback": "verifier"}


def split_strategy(strategy):
    """("best-of-n", {"n": "4", "scorer": "verifier"}) from "best-of-n:n=4,scorer=verifier"."""
    name, _, rest = strategy.partition(":")
    params = dict(p.split("=", 1) for p in rest.split(",") if "=" in p)
    return name, params


def strategy_series(strategy):
    """The series a run belongs to and the label of its point: ("best-of-n", "N=4")."""
    name, params = split_strategy(strategy)
    main = MAIN_PARAM.get(name)
    extra = [f"{k}={v}" for k, v in params.items() if k != main and DEFAULTS.get(k) != v]
    if name == "budget":
        return "budget forcing", ",".join(f"{k}={v}" for k, v in params.items())
    series = name + (f" ({', '.join(extra)})" if extra else "")
    point = f"{'N' if main == 'n' else 'R'}={params[main]}" if main in params else ""
    return series, point


def run_label(s):
    m = s["manifest"]
    label = m["policy"]
    if m.get("strategy", "plain") != "plain":
        name, point = strategy_series(m["strategy"])
        label += f" + {name}" + (f" {point}" if point else "")
    return label


def families(runs):
    """Scenario ids of every run, ordered by suite then name."""
    ids = set()
    for s in runs:
        ids.update(k[len("scenario/"):] for k in s["groups"] if k.startswith("scenario/"))
    return sorted(ids, key=lambda i: (i.split(".")[0], i))


def save(fig, out_dir, name, quiet):
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    if not quiet:
        print(f"wrote {path}", file=sys.stderr)


def success_by_family(runs, labels, out_dir, quiet):
    ids = families(runs)
    n_runs = len(runs)
    bar_h = 0.8 / n_runs
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.28 * len(ids) * max(1, n_runs * 0.7)))
    for r, (s, label) in enumerate(zip(runs, labels)):
        ys, xs, lo, hi, colors = [], [], [], [], []
        for i, sid in enumerate(ids):
            g = s["groups"].get("scenario/" + sid)
            if g is None:
                continue
            y = i + (r - (n_runs - 1) / 2) * bar_h
            p = 100 * g["success_rate"]
            ys.append(y)
            xs.append(p)
            lo.append(p - 100 * g["success_ci"]["lo"])
            hi.append(100 * g["success_ci"]["hi"] - p)
            colors.append(suite_color(sid.split(".")[0]) if n_runs == 1 else RUN_COLORS[r % 7])
        m = s["manifest"]
        ax.barh(ys, xs, height=bar_h * 0.9, color=colors, alpha=0.85,
                label=f"{label} ({m['episodes']} instances × {m['samples']} samples)" if n_runs > 1
                else None)
        ax.errorbar(xs, ys, xerr=[lo, hi], fmt="none", ecolor="#444444", elinewidth=0.7,
                    capsize=2)
        # The rate as text at the end of each bar: a 0% bar is otherwise invisible.
        for x, y in zip(xs, ys):
            ax.text(x + 1, y, f"{x:.0f}%", va="center", ha="left", fontsize=6.5,
                    color="#222222")
    ax.set_yticks(range(len(ids)))
    ax.set_yticklabels(ids, fontsize=8)
    for tick, sid in zip(ax.get_yticklabels(), ids):
        tick.set_color(suite_color(sid.split(".")[0]))
    # A thin rule between suites.
    for i in range(1, len(ids)):
        if ids[i].split(".")[0] != ids[i - 1].split(".")[0]:
            ax.axhline(i - 0.5, color="gray", linewidth=0.6, linestyle=":")
    ax.invert_yaxis()
    ax.set_xlim(0, 108)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("success rate (%), bars: Wilson 95% interval")
    m = runs[0]["manifest"]
    sizes = "" if n_runs > 1 else (f", {m['episodes']} instances × {m['samples']} "
                                   f"sample{'s' if m['samples'] > 1 else ''} per family")
    ax.set_title(f"Success by scenario family ({m['split']} split{sizes})")
    ax.grid(axis="x", alpha=0.3)
    # The legend goes outside the axes, where it hides no bar.
    if n_runs > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8,
                  title="run (per family)")
    else:
        suites = sorted({sid.split(".")[0] for sid in ids})
        ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=suite_color(su)) for su in suites],
                  labels=suites, title=f"suite ({labels[0]})", loc="upper left",
                  bbox_to_anchor=(1.01, 1), fontsize=8)
    save(fig, out_dir, "success_by_family.png", quiet)


def pass_at_k(runs, labels, out_dir, quiet):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    k_max = 1
    for r, (s, label) in enumerate(zip(runs, labels)):
        g = s["groups"].get("overall", {})
        ks = sorted(int(k) for k in g.get("pass_at_k", {}))
        if not ks:
            continue
        k_max = max(k_max, ks[-1])
        color = RUN_COLORS[r % 7]
        ax.plot(ks, [100 * g["pass_at_k"][str(k)] for k in ks], marker="o", color=color,
                label=f"{label}: pass@k")
        ax.plot(ks, [100 * g["pass_hat_k"][str(k)] for k in ks], marker="o", color=color,
                linestyle="--", alpha=0.7, label=f"{label}: pass^k")
    ax.set_xlabel("k (samples per task)")
    ax.set_ylabel("tasks solved (%)")
    ax.set_ylim(-3, 103)
    ax.set_xlim(0.5, k_max + 0.5)
    ax.set_xticks(range(1, k_max + 1))
    ax.set_title("pass@k (any of k samples solves a task), pass^k (all k do)")
    if k_max == 1:
        ax.text(0.5, 0.5, "one sample per task: only k = 1\n(run toolgym eval --samples K for a "
                "curve)", transform=ax.transAxes, ha="center", va="center", fontsize=9,
                color="gray")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    save(fig, out_dir, "pass_at_k.png", quiet)


def strategy_panels(runs, labels, out_dir, quiet):
    """One panel per policy: its plain run and a line per strategy through its runs."""
    policies = list(dict.fromkeys(s["manifest"]["policy"] for s in runs))
    fig, axes = plt.subplots(1, len(policies), figsize=(6.4 * len(policies), 4.8), squeeze=False)
    for ax, policy in zip(axes[0], policies):
        mine = [s for s in runs if s["manifest"]["policy"] == policy]
        use_tokens = all(s["groups"]["overall"]["compute"].get("completion_tokens") is not None
                         for s in mine)
        field = "completion_tokens" if use_tokens else "policy_calls"
        plain = None
        series = {}
        for s in mine:
            g = s["groups"]["overall"]
            pt = (g["compute"][field] or 0, 100 * g["success_rate"], g)
            if s["manifest"].get("strategy", "plain") == "plain":
                plain = pt
                continue
            name, label = strategy_series(s["manifest"]["strategy"])
            series.setdefault(name, []).append(pt + (label,))
        for r, (name, pts) in enumerate(sorted(series.items())):
            # The plain run belongs to every series (best-of-1, no refinement, no forcing),
            # wherever its compute puts it: a cap lies left of it, Waits right.
            line = sorted(([plain + ("",)] if plain else []) + pts, key=lambda p: p[0])
            color = RUN_COLORS[(r + 1) % 7]
            ys = [p[1] for p in line]
            lo = [p[1] - 100 * p[2]["success_ci"]["lo"] for p in line]
            hi = [100 * p[2]["success_ci"]["hi"] - p[1] for p in line]
            ax.errorbar([p[0] for p in line], ys, yerr=[lo, hi], marker=MARKERS[(r + 1) % 7],
                        color=color, capsize=3, label=name, markersize=6, elinewidth=0.8)
            # Each series labels its points on its own side, so that neighbours do not collide.
            dx, dy, ha = [(5, -12, "left"), (5, 6, "left"), (-6, 6, "right")][r % 3]
            for p in pts:
                ax.annotate(p[3], (p[0], p[1]), textcoords="offset points", xytext=(dx, dy),
                            ha=ha, fontsize=7, color=color)
        if plain:
            ax.plot([plain[0]], [plain[1]], marker="*", color="black", markersize=13,
                    linestyle="none", label="plain (one episode)", zorder=5)
        xs = [p[0] for pts in series.values() for p in pts] + ([plain[0]] if plain else [])
        if xs and min(xs) > 0 and max(xs) / min(xs) > 15:
            ax.set_xscale("log")
        else:
            ax.set_xlim(left=0)
        ax.set_xlabel("completion tokens per episode" if use_tokens
                      else "policy calls per episode (all candidates and rounds)")
        ax.set_ylabel("success rate (%), Wilson 95%")
        ax.set_ylim(-8, 104)
        m = mine[0]["manifest"]
        ax.set_title(f"{policy}: success against compute\n({len(m['scenarios'])} families × "
                     f"{m['episodes']} {m['split']} instances)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    save(fig, out_dir, "success_vs_compute.png", quiet)


def write_table(runs, labels, path):
    """A Markdown table: one row per run, success and compute per episode."""
    def num(v, fmt="{:.1f}"):
        return "–" if v is None else fmt.format(v)

    def detail(st):
        """What the strategy did (summary.json's "strategy"), in a few words."""
        if not st:
            return ""
        if st["name"] in ("best-of-n", "majority"):
            return (f"a candidate passed in {100 * st['any_passed_rate']:.1f}%, "
                    f"the chosen one in {100 * st['chosen_passed_rate']:.1f}%")
        if st["name"] == "refine":
            return "solved by attempt 1, 2, …: " + ", ".join(
                f"{100 * x:.0f}%" for x in st["solved_by_attempt"])
        if st["name"] == "budget":
            return (f"{st['thinking_tokens_per_turn']:.0f} thinking tokens a turn, "
                    f"{100 * st['capped_turn_rate']:.0f}% of turns capped, "
                    f"{st['waits_per_turn']:.1f} Waits a turn")
        return ""

    rows = ["| run | episodes | success | 95% CI | policy calls | env steps | env forks | "
            "completion tokens | tool efficiency | what the strategy did |",
            "|---|---:|---:|---|---:|---:|---:|---:|---:|---|"]
    for s, label in zip(runs, labels):
        g = s["groups"]["overall"]
        c = g["compute"]
        rows.append(f"| {label} | {g['episodes']} | {100 * g['success_rate']:.1f}% | "
                    f"{100 * g['success_ci']['lo']:.1f}–{100 * g['success_ci']['hi']:.1f}% | "
                    f"{num(c['policy_calls'])} | {num(c['env_steps'])} | {num(c['env_forks'])} | "
                    f"{num(c.get('completion_tokens'), '{:.0f}')} | "
                    f"{num(g.get('tool_efficiency'), '{:.3f}')} | {detail(s.get('strategy'))} |")
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")


def success_vs_compute(runs, labels, out_dir, quiet):
    policies = [s["manifest"]["policy"] for s in runs]
    if len(set(policies)) < len(policies):  # a policy with several runs: its strategies
        strategy_panels(runs, labels, out_dir, quiet)
        return
    use_tokens = all(s["groups"]["overall"]["compute"].get("tokens") is not None for s in runs)
    field = "tokens" if use_tokens else "policy_calls"
    xlabel = ("tokens per episode (prompt + completion)" if use_tokens
              else "policy calls per episode (model completions)")
    series = {}
    for s, label in zip(runs, labels):
        g = s["groups"]["overall"]
        key = (s["manifest"]["policy"], s["manifest"].get("strategy", "plain"))
        series.setdefault(key, []).append((g["compute"][field] or 0, g, label))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r, (key, pts) in enumerate(sorted(series.items())):
        pts.sort(key=lambda p: p[0])
        color = RUN_COLORS[r % 7]
        xs = [p[0] for p in pts]
        ys = [100 * p[1]["success_rate"] for p in pts]
        lo = [y - 100 * p[1]["success_ci"]["lo"] for y, p in zip(ys, pts)]
        hi = [100 * p[1]["success_ci"]["hi"] - y for y, p in zip(ys, pts)]
        name = key[0] if key[1] == "plain" else f"{key[0]} + {key[1]}"
        ax.errorbar(xs, ys, yerr=[lo, hi], marker=MARKERS[r % 7], color=color, capsize=3,
                    linestyle="-" if len(pts) > 1 else "none", label=name, markersize=7)
        # The suites of each run, small and hollow, to show the spread behind the overall
        # point; labels alternate above and below so that neighbours do not collide.
        for x, g, label in pts:
            suite_pts = sorted(
                (sg["compute"][field], 100 * sg["success_rate"], sk[len("suite/"):])
                for sk, sg in runs[labels.index(label)]["groups"].items()
                if sk.startswith("suite/") and sg["compute"][field] is not None)
            for j, (sx, sy, name) in enumerate(suite_pts):
                ax.scatter(sx, sy, s=18, facecolors="none", edgecolors=color, alpha=0.7)
                ax.annotate(name, (sx, sy), textcoords="offset points",
                            xytext=(0, 6 if j % 2 == 0 else -11), ha="center", fontsize=7,
                            color=color)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(-3, 103)
    ax.set_xlim(left=0)
    ax.set_title("Success against compute per episode")
    ax.grid(alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], marker="o", linestyle="none", markerfacecolor="none",
                          markeredgecolor="gray", markersize=5))
    names.append("a suite of that run")
    ax.legend(handles, [n + " (overall, Wilson 95%)" if i < len(names) - 1 else n
                        for i, n in enumerate(names)], fontsize=8, loc="center left")
    save(fig, out_dir, "success_vs_compute.png", quiet)


def tool_calls_vs_success(runs, labels, out_dir, quiet):
    ids = families(runs)
    fig, ax = plt.subplots(figsize=(7.5, 5))
    suites = sorted({sid.split(".")[0] for sid in ids})
    for r, (s, label) in enumerate(zip(runs, labels)):
        for sid in ids:
            g = s["groups"].get("scenario/" + sid)
            if g is None:
                continue
            ax.scatter(g["tool_calls"]["mean"], 100 * g["success_rate"], s=40,
                       marker=MARKERS[r % 7], color=suite_color(sid.split(".")[0]), alpha=0.75,
                       edgecolors="black", linewidths=0.4)
    handles = [Line2D([], [], marker="o", linestyle="none", color=suite_color(su), label=su)
               for su in suites]
    if len(runs) > 1:
        handles += [Line2D([], [], marker=MARKERS[r % 7], linestyle="none", color="gray",
                           label=label) for r, label in enumerate(labels)]
    ax.legend(handles=handles, fontsize=8, loc="best", title="suite" +
              (" / run" if len(runs) > 1 else f" ({labels[0]})"))
    ax.set_xlabel("mean tool calls per episode")
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(-3, 103)
    ax.set_xlim(left=0)
    ax.set_title("Tool calls against success, one point per scenario family")
    ax.grid(alpha=0.3)
    save(fig, out_dir, "tool_calls_vs_success.png", quiet)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="run directories (with summary.json)")
    ap.add_argument("--out", help="where the PNGs go (default: the first run directory)")
    ap.add_argument("--label", action="append", default=[],
                    help="a name per run, in order (default: policy [+ strategy])")
    ap.add_argument("--table", help="write a Markdown table of the runs to this file")
    ap.add_argument("--plots", default="success_by_family,pass_at_k,success_vs_compute,"
                    "tool_calls_vs_success", help="which plots to draw (comma-separated names)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    runs = [load(d) for d in a.runs]
    labels = a.label + [run_label(s) for s in runs[len(a.label):]]
    if len(set(labels)) < len(labels):  # same policy twice: tell them apart by directory
        labels = [f"{l} ({os.path.basename(os.path.normpath(d))})" for l, d in zip(labels, a.runs)]
    out_dir = a.out or a.runs[0]
    os.makedirs(out_dir, exist_ok=True)
    plots = {"success_by_family": success_by_family, "pass_at_k": pass_at_k,
             "success_vs_compute": success_vs_compute,
             "tool_calls_vs_success": tool_calls_vs_success}
    for name in a.plots.split(","):
        if name not in plots:
            print(f"plot_eval.py: --plots: unknown plot {name!r}; expected some of "
                  f"{', '.join(plots)}", file=sys.stderr)
            sys.exit(2)
    for name in a.plots.split(","):
        plots[name](runs, labels, out_dir, a.quiet)
    if a.table:
        write_table(runs, labels, a.table)


if __name__ == "__main__":
    main()
