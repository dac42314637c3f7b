"""The benchmark's command line, ``python -m gancourse.bench``, and its report as a table (and as JSON)."""

from __future__ import annotations

import argparse
import json
import os

from gancourse import data
from gancourse.bench.loops import LOOP_LABELS, LOOPS, MODELS
from gancourse.bench.measure import run_benchmark
from gancourse.checkpoints import atomic_write
from gancourse.validation import check_device, check_int, check_positive

DESCRIPTION = "How fast the course's DCGAN and WGAN-GP-DCGAN train on MNIST, and how soon they draw good digits."


def format_report(report: dict) -> str:
    """The report as a plain-text table."""
    lines = []
    dev = report["device"] + (f" ({report['device_name']})" if report["device"].startswith("cuda") else "")
    lines.append(
        f"gancourse.bench: DCGAN and WGAN-GP-DCGAN on MNIST | device {dev}, {report['threads']} threads | "
        f"torch {report['torch']} | batch {report['batch_size']} | data: {report['data_source']} "
        f"({report['n_train']:,} digits) | {report['date']}"
    )
    if report["short"]:
        lines.append(
            f"SHORT FORM ({report['device']}): each loop timed {report['repeats']} times for {report['steps']} "
            f"generator steps (the fastest counts) after {report['warmup']} warm-up; quality on "
            f"{report['eval_samples']:,} samples after at most {report['quality_steps']} steps. Indicative only: "
            "the figures that matter come from a GPU."
        )
    lines.append(
        f"an epoch = {report['steps_per_epoch']} generator steps ({report['epoch_images']:,} images); "
        "images/s = generator steps x batch size per second"
    )
    lines.append("")
    lines.append(f"{'model':<15}{'loop':<44}{'images/s':>10}{'s/epoch':>10}{'vs tutorial':>13}")
    for name, m in report["models"].items():
        for i, loop in enumerate(LOOPS):
            row = m["loops"][loop]
            ratio = m["loops"]["tutorial"]["s_per_epoch"] / row["s_per_epoch"]
            extra = f"   ({m['speedup']['course_vs_resident']:.2f}x resident)" if loop == "course" else ""
            lines.append(
                f"{name if i == 0 else '':<15}{LOOP_LABELS[loop]:<44}{row['images_per_s']:>10.1f}"
                f"{row['s_per_epoch']:>10.2f}{ratio:>12.2f}x{extra}"
            )
    lines.append("")
    first = next(iter(report["models"].values()))["quality"]
    target = f"classifier score >= {first['target_score']:g}"
    if first["target_fd"] is not None:
        target += f" and Fréchet distance <= {first['target_fd']:g}"
    lines.append(
        f"time to quality (course loop; {target}; {first['eval_samples']:,} samples; FD against the training digits)"
    )
    lines.append(f"{'model':<15}{'steps':>8}{'train s':>10}{'score':>8}{'FD':>9}   result")
    for name, m in report["models"].items():
        q = m["quality"]
        result = (
            f"reached at step {q['steps_to_target']} after {q['seconds_to_target']:.1f} s"
            if q["reached"]
            else f"not reached (best score {q['best_score']:.2f} at step {q['best_step']})"
        )
        lines.append(
            f"{name:<15}{q['steps']:>8}{q['seconds']:>10.1f}{q['final_score']:>8.2f}{q['final_fd']:>9.2f}   {result}"
        )
    real = report["real"]
    lines.append(
        f"{'real digits':<15}{'':>8}{'':>10}{real['score']:>8.2f}{real['fd']:>9.2f}   held out, n = {real['n']:,}"
    )
    return "\n".join(lines)


def write_json(report: dict, path: str | os.PathLike) -> None:
    """Write the report as JSON, atomically."""
    atomic_write(path, json.dumps(report, indent=2) + "\n")


def int_at_least(minimum: int):
    """An argparse type: an integer >= minimum."""

    def parse(text: str) -> int:
        try:
            return check_int(int(text), "the value", minimum)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None

    return parse


def device_name(text: str) -> str:
    """An argparse type: a device this machine has ('cpu', 'cuda', 'cuda:1', 'mps')."""
    try:
        check_device(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def positive_float(text: str) -> float:
    """An argparse type: a positive finite number."""
    try:
        return check_positive(float(text), "the value")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None


def main(argv: list[str] | None = None) -> dict:
    """Command line: run the benchmark, print the table, optionally write JSON; returns the report."""
    p = argparse.ArgumentParser(prog="python -m gancourse.bench", description=DESCRIPTION)
    p.add_argument("--steps", type=int_at_least(1), help="timed generator steps per loop (default: one epoch; 3 short)")
    p.add_argument("--warmup", type=int_at_least(0), help="untimed steps before each timing (default 20; 1 short)")
    p.add_argument("--batch-size", type=int_at_least(1), default=128, help="batch size (default 128)")
    p.add_argument("--device", type=device_name, help="cuda, cpu or mps (default: cuda if available)")
    p.add_argument("--json", metavar="OUT", help="also write the report as JSON to OUT")
    p.add_argument("--models", nargs="+", choices=tuple(MODELS), default=list(MODELS), help="models to run")
    p.add_argument("--repeats", type=int_at_least(1), default=3, help="timed repeats per loop; the fastest counts")
    p.add_argument("--workers", type=int_at_least(0), default=2, help="the tutorial DataLoader's workers (default 2)")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--short", dest="short", action="store_true", default=None, help="force the short form")
    form.add_argument("--full", dest="short", action="store_false", help="force the full form (on a CPU: slow)")
    p.add_argument("--quality-steps", type=int_at_least(1), help="most generator steps of the quality run")
    p.add_argument("--quality-seconds", type=positive_float, help="most training seconds of the quality run (120)")
    p.add_argument("--eval-every", type=int_at_least(1), help="DCGAN steps between evaluations (WGAN-GP: / n_critic)")
    p.add_argument("--eval-samples", type=int_at_least(2), help="samples per evaluation (default 10,000; 500 short)")
    p.add_argument("--target-score", type=float, default=9.0, help="classifier score to reach (default 9.0)")
    p.add_argument("--target-fd", type=positive_float, help="also require a Fréchet distance at most this")
    p.add_argument("--source", choices=data.SOURCES, default="auto", help="MNIST source (see load_mnist)")
    p.add_argument("--seed", type=int_at_least(0), default=0)
    args = p.parse_args(argv)
    if not 1.0 <= args.target_score <= 10.0:
        p.error(f"argument --target-score: expected a score in [1, 10], got {args.target_score}")
    report = run_benchmark(
        models=tuple(dict.fromkeys(args.models)),
        device=args.device,
        batch_size=args.batch_size,
        steps=args.steps,
        warmup=args.warmup,
        repeats=args.repeats,
        workers=args.workers,
        short=args.short,
        quality_steps=args.quality_steps,
        quality_seconds=args.quality_seconds,
        eval_every=args.eval_every,
        eval_samples=args.eval_samples,
        target_score=args.target_score,
        target_fd=args.target_fd,
        source=args.source,
        seed=args.seed,
    )
    print()
    print(format_report(report))
    if args.json:
        write_json(report, args.json)
        print(f"\nwrote {args.json}")
    return report


if __name__ == "__main__":
    main()
