"""The figures of one tools/gpu_session.sh run, as Markdown for docs/benchmarks.md and the README's GPU column.

    python tools/gpu_report.py LOGDIR OUTDIR    # reads LOGDIR's files, writes OUTDIR/figures.md and figures.json

What it reads, each written by a stage of tools/gpu_session.sh (a missing one: that stage did not run):
setup.json (the machine), stages.tsv (each stage: ran, failed or skipped, and its seconds), captured.txt (the
CUDA tests' summary line), lectures.tsv (each lecture's exit status and wall time), bench.json and ensemble.json
(gancourse.bench's reports), recipes.jsonl (tools/dcgan_recipes.py's evaluations).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def read(logs: Path) -> dict:
    """Everything the session left in ``logs``, as one dict (missing files: absent keys)."""

    def rows(name: str) -> list[list[str]]:
        path = logs / name
        return [line.split("\t") for line in path.read_text().splitlines() if line] if path.exists() else []

    def load(name: str):
        path = logs / name
        return json.loads(path.read_text()) if path.exists() else None

    out = {"setup": load("setup.json") or {}, "bench": load("bench.json"), "ensemble": load("ensemble.json")}
    out["stages"] = [{"stage": s, "status": st, "seconds": int(t)} for s, st, t in rows("stages.tsv")]
    out["lectures"] = [{"lecture": n, "rc": int(rc), "seconds": int(t), "profile": p} for n, rc, t, p in rows("lectures.tsv")]  # fmt: skip
    captured = logs / "captured.txt"
    out["captured"] = captured.read_text().strip() if captured.exists() else None
    recipes = logs / "recipes.jsonl"
    lines = recipes.read_text().splitlines() if recipes.exists() else []
    out["recipes"] = [json.loads(line) for line in lines if line.strip()]
    return out


def lecture_cell(row: dict, device: str) -> str:
    """The README's GPU column for one lecture."""
    t = row["seconds"]
    took = f"{t} s" if t < 120 else f"{t / 60:.1f} min"
    if row["rc"] == 0:
        return f"{took} on {device}"
    if row["rc"] in (124, 137):
        return f"stopped at its time limit ({took}) on {device}"
    return f"failed (exit {row['rc']}) after {took} on {device}"


def markdown(figures: dict) -> str:
    s = figures["setup"]
    device = s.get("device_name", "an unnamed device")
    head = [f"# GPU session {s.get('date', '?')}: {device}", ""]
    if s.get("cpu_check"):
        head += [
            "**CPU CHECK: not GPU figures** (the lectures ran dry, every size tiny); only the plumbing counts.",
            "",
        ]
    head.append(
        f"torch {s.get('torch', '?')}, torchvision {s.get('torchvision', '?')}, CUDA {s.get('cuda') or '-'}, driver "
        f"{s.get('driver') or '-'}, Python {s.get('python', '?')}, {s.get('cpus', '?')} CPU cores."
    )
    parts = ["\n".join(head)]
    if figures["stages"]:
        parts.append(table(["stage", "status", "seconds"], [[r["stage"], r["status"], r["seconds"]] for r in figures["stages"]]))  # fmt: skip
    if figures["captured"] is not None:
        parts.append(f"Captured vs eager CUDA tests: {figures['captured']}")
    if figures["lectures"]:
        body = [[r["lecture"], r["profile"], lecture_cell(r, device)] for r in figures["lectures"]]
        ok = [r for r in figures["lectures"] if r["rc"] == 0]
        total = sum(r["seconds"] for r in figures["lectures"])
        parts.append("Lectures, whole notebook (README's GPU column):\n\n" + table(["lecture", "profile", "GPU"], body))
        parts.append(f"{len(ok)} of {len(figures['lectures'])} lectures passed; {total} s in all.")
    if figures["bench"]:
        parts.append(bench_table(figures["bench"]))
    if figures["ensemble"]:
        parts.append(ensemble_table(figures["ensemble"]))
    if figures["recipes"]:
        parts.append(recipes_table(figures["recipes"]))
    return "\n\n".join(parts) + "\n"


def table(header: list[str], body: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in body])


def bench_table(b: dict) -> str:
    """``python -m gancourse.bench``'s speed and time to quality, as docs/benchmarks.md tabulates them."""
    body = []
    for name, m in b["models"].items():
        tutorial = m["loops"]["tutorial"]["s_per_epoch"]
        for loop, row in m["loops"].items():
            body.append([name, loop, f"{row['images_per_s']:,.0f}", f"{row['s_per_epoch']:.2f}", f"{tutorial / row['s_per_epoch']:.2f}×"])  # fmt: skip
    quality = []
    for name, m in b["models"].items():
        q = m["quality"]
        result = (
            f"reached at step {q['steps_to_target']} ({q['seconds_to_target']:.1f} s)"
            if q["reached"]
            else "not reached"
        )
        quality.append([name, q["steps"], f"{q['seconds']:.1f}", f"{q['final_score']:.2f}", f"{q['final_fd']:.1f}", result])  # fmt: skip
    return (
        f"`python -m gancourse.bench` (batch {b['batch_size']}, {b['n_train']:,} digits, fastest of {b['repeats']} "
        f"repeats of {b['steps']} steps{', SHORT FORM' if b['short'] else ''}):\n\n"
        + table(["model", "loop", "images/s", "s/epoch", "vs tutorial"], body)
        + "\n\nTime to quality (course loop):\n\n"
        + table(["model", "steps", "train s", "score", "FD", "target"], quality)
    )


def ensemble_table(e: dict) -> str:
    """``python -m gancourse.bench.ensemble``: one row per objective and width, the ratio of each K to the first."""
    groups: dict = {}
    for r in e["rows"]:
        groups.setdefault((r["objective"], r["width"]), []).append(r)
    ks = sorted({r["k"] for r in e["rows"]})
    body = []
    for (objective, width), rows in groups.items():
        by_k = {r["k"]: r for r in rows}
        cells = [f"{by_k[k]['ms_per_step']:.2f} ({by_k[k]['vs_first']:.2f}×)" if k in by_k else "" for k in ks]
        body.append([objective, f"3 × {width}", *cells])
    goal = [r for r in e["rows"] if r["objective"] == "wgan-gp" and r["width"] == 512 and r["k"] == 12]
    verdict = (
        f"Goal (WGAN-GP, 3 × 512: K = 12 at most 1.5× K = 1): {'met' if goal[0]['vs_first'] <= 1.5 else 'not met'} "
        f"({goal[0]['vs_first']:.2f}×)."
        if goal
        else "Goal row (WGAN-GP, 3 × 512, K = 12) not measured."
    )
    return (
        f"`python -m gancourse.bench.ensemble` ({e['steps']} steps after {e['warmup']}, fastest of {e['repeats']}; "
        f"ms per generator step, × the first K):\n\n"
        + table(["objective", "MLP", *[f"K = {k}" for k in ks]], body)
        + "\n\n"
        + verdict
    )


def recipes_table(rows: list[dict]) -> str:
    """The DCGAN quality screen: each recipe's last evaluation (score of G / of its EMA, rarest digit's share)."""
    last: dict = {}
    for r in rows:
        last[r["recipe"]] = r
    body = [[name, r["step"], f"{r['train_s']:.0f}", f"{r['G']:.2f} / {r['ema']:.2f}", f"{100 * r['ema_minfrac']:.1f} %"] for name, r in last.items()]  # fmt: skip
    return "DCGAN quality screen (tools/dcgan_recipes.py; goal: score ≥ 9.0, every digit ≥ 7 %):\n\n" + table(
        ["recipe", "steps", "train s", "score G / EMA", "rarest digit (EMA)"], body
    )


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        raise SystemExit("usage: python tools/gpu_report.py LOGDIR OUTDIR")
    logs, out = map(Path, args)
    figures = read(logs)
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures.json").write_text(json.dumps(figures, indent=1) + "\n")
    (out / "figures.md").write_text(markdown(figures))


if __name__ == "__main__":
    main()
