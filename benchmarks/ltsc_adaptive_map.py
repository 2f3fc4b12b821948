"""Where Φ_θ helps: the adaptive gain map over bandwidth ratio × SNR × channel (docs/ltsc.md).

    python benchmarks/ltsc_adaptive_map.py --out runs/adaptive-map            # 3 seeds, 6 cells
    python benchmarks/ltsc_adaptive_map.py --out runs/adaptive-map --seeds 5 --bandwidths 1/48

Each cell is one ``semdistill run`` of ``--config`` (default configs/ltsc/shapes.yaml) with only
the adaptive and the non-adaptive pre-stored students, ``runs.seeds`` seeds, one
``student.bandwidth_ratio`` and one training channel, evaluated on that channel over ``--snr``;
every cell shares one knowledge store (the students change, the teacher's labels do not). A cell
whose run directory exists is resumed (a finished one is only read), so a killed map goes on
where it stopped; a cell made with other options is refused. Writes
``OUT/adaptive-gain-map.json`` (results schema), ``.png`` and ``.md``
(:mod:`semdistill.experiments.ltsc.adaptive_map`).
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

from semdistill.cli import main as cli
from semdistill.config import stable_dump
from semdistill.experiments import load_config_file
from semdistill.experiments.ltsc.adaptive_map import draw_gain_map, gain_map, gain_table
from semdistill.experiments.ltsc.config import run_config
from semdistill.experiments.rundir import RunDir
from semdistill.figures import save_figure
from semdistill.results import Results

ROOT = Path(__file__).resolve().parents[1]


#: run-directory keys that differ between cells of one map and their runs by design.
_WHERE = ("name", "output_dir")


def run_cell(config: Path, out: Path, name: str, overrides: list[str]) -> Path:
    """Run (or resume, or only read) one cell's ltsc run; returns its run directory. A cell
    directory made with another config or other overrides is refused, never mixed in."""
    run = out / name
    if run.is_dir():
        want = stable_dump(load_config_file(config, overrides)[1])
        have = stable_dump(run_config(RunDir(run)))
        if {k: v for k, v in want.items() if k not in _WHERE} != {
                k: v for k, v in have.items() if k not in _WHERE}:
            raise SystemExit(f"{run} was made with another config or other options: "
                             "give another --out")
    if (run / "results" / "accuracy-vs-snr.json").is_file():
        return run
    args = (["run", "--resume", str(run)] if run.is_dir() else
            ["run", str(config), "--output-dir", str(out), "--name", name,
             *[a for o in overrides for a in ("--set", o)]])
    if cli(args) != 0:
        raise SystemExit(f"cell {name} failed: see {run}")
    return run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--config", type=Path, default=ROOT / "configs" / "ltsc" / "shapes.yaml")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--bandwidths", nargs="+", default=["1/96", "1/48", "1/24"],
                   help="student.bandwidth_ratio values (fractions allowed)")
    p.add_argument("--channels", nargs="+", default=["awgn", "rayleigh"])
    p.add_argument("--snr", default="[-10, -5, 0, 5, 10, 20]", help="evaluation grid (YAML)")
    a = p.parse_args()
    if a.seeds < 2:
        raise SystemExit("--seeds must be >= 2: a map cell is a paired interval over seeds")
    _, base = load_config_file(a.config)
    a.out.mkdir(parents=True, exist_ok=True)
    ks = {bw: base.student.model_copy(update={"bandwidth_ratio": float(Fraction(bw))})
          .num_symbols(base.data.image_size) for bw in a.bandwidths}
    if len(set(ks.values())) < len(ks):
        raise SystemExit(f"--bandwidths {' '.join(a.bandwidths)} give the same k twice: {ks}")
    cells = []
    for channel in a.channels:
        for bw in a.bandwidths:
            ratio, k = float(Fraction(bw)), ks[bw]
            run = run_cell(a.config, a.out, f"{channel}-k{k}", [
                f"student.bandwidth_ratio={ratio!r}", f"channel.name={channel}",
                f"eval.channels=[{channel}]", f"eval.snr_db={a.snr}", f"runs.seeds={a.seeds}",
                "runs.online=false", "runs.scratch=false", "runs.fractions=[]",
                "eval.digital.enabled=false", f"store.path={a.out / 'store'}"])
            cells.append((channel, k, Results.load(run / "results" / "accuracy-vs-snr.json")))
    res = gain_map(cells)
    res.meta |= {"config": str(a.config), "seeds": a.seeds, "bandwidths": a.bandwidths,
                 "command": " ".join(["python benchmarks/ltsc_adaptive_map.py", *sys.argv[1:]])}
    res.save(a.out / "adaptive-gain-map.json")
    save_figure(draw_gain_map(res), a.out / "adaptive-gain-map.png", dpi=150)
    (a.out / "adaptive-gain-map.md").write_text(gain_table(res))
    print(gain_table(res))


if __name__ == "__main__":
    main()
