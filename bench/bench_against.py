"""Time `cnncalc validate specs/resnet50.yaml --against tests.torchvision_ref:resnet50` against
`cnncalc validate specs/resnet50.yaml` (the same spec, the model cnncalc builds), both on CPU,
in the same run, interleaved; every run is a fresh process.

`--against` calls the factory (a plain-PyTorch copy of torchvision's ResNet-50, with its
default initialisation: tests/torchvision_ref.py), runs the model once, measured and traced in
the same pass, and pairs every layer of the spec with an operation of the model. Target: no more
than 1.5× `validate`'s median wall time. Also prints, in process, what the trace adds to that
one forward pass (Tracing around measure vs measure alone, on the same model and input).

    python3 bench/bench_against.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from common import ROOT, ratio_of_medians, timed

VALIDATE = [sys.executable, "-m", "cnncalc", "validate", "specs/resnet50.yaml", "--device", "cpu"]
AGAINST = [*VALIDATE, "--against", "tests.torchvision_ref:resnet50"]


def trace_cost(runs: int) -> tuple[float, float]:
    """Median seconds of measure alone and of measure inside Tracing, on ResNet-50 (CPU)."""
    import torch

    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT))
    from cnncalc.crosscheck.measure import measure
    from cnncalc.crosscheck.trace import Tracing
    from torchvision_ref import resnet50

    model, x = resnet50().eval(), torch.zeros(1, 3, 224, 224)
    measure(model, x)           # warm: the first run pays for one-time setup
    alone, traced = [], []
    for _ in range(runs):
        start = time.perf_counter()
        measure(model, x)
        alone.append(time.perf_counter() - start)
        start = time.perf_counter()
        with Tracing(model, x):
            measure(model, x)
        traced.append(time.perf_counter() - start)
    return statistics.median(alone), statistics.median(traced)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    results: dict[str, list] = {"validate": [], "validate --against": []}
    timed(VALIDATE)           # warm the file cache, untimed
    timed(AGAINST)
    for _ in range(runs):
        results["validate"].append(timed(VALIDATE))
        results["validate --against"].append(timed(AGAINST))
    ratio = ratio_of_medians(results, "validate --against", "validate")
    alone, traced = trace_cost(runs)
    print(f"one forward pass, in process: measured {alone:.3f} s, measured and traced "
          f"{traced:.3f} s (+{traced - alone:.3f} s)")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
