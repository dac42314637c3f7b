"""Run a notebook's code cells as a plain Python script, cell by cell, printing each cell's time.

For the GPU machine, which has torch but not Jupyter: `GANCOURSE_PROFILE=gpu python tools/run_notebook.py
notebooks/07_wgan_gp.ipynb`. IPython magics (the Colab install cell's %pip) are skipped; figures go to the
Agg backend. Exits non-zero on the first failing cell (an assert included), naming it.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

os.environ.setdefault("MPLBACKEND", "Agg")


def cells(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    out = []
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        src = "".join(c["source"])
        lines = [
            (line[: len(line) - len(line.lstrip())] + "pass") if line.lstrip()[:1] in "%!" and line.strip() else line
            for line in src.splitlines()
        ]
        out.append("\n".join(lines))
    return out


def main(path: str) -> int:
    ns: dict = {"__name__": "__main__"}
    t_all = time.perf_counter()
    for i, src in enumerate(cells(path)):
        t0 = time.perf_counter()
        try:
            exec(compile(src, f"{path}:cell{i}", "exec"), ns)
        except Exception:
            traceback.print_exc()
            print(f"FAILED {path} code cell {i} after {time.perf_counter() - t0:.1f} s", flush=True)
            return 1
        finally:
            import matplotlib.pyplot as plt

            plt.close("all")
        print(f"[cell {i}: {time.perf_counter() - t0:.1f} s]", flush=True)
    print(f"OK {path} in {time.perf_counter() - t_all:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
