"""The static path never imports torch, sympy or numpy: `summary` in every format, on numeric
input, with blocks, residuals and checks, and on a spec with an error, and `zoo`, in one fresh
process (sys.modules is what the process really imported, whatever imported it)."""

import json
import subprocess
import sys

from conftest import ROOT, cli_env

HEAVY = ("torch", "sympy", "numpy")

SCRIPT = r"""
import json, sys
from cnncalc.cli import main

runs = [
    ["summary", "resnet18"],                                   # the rich table
    ["summary", "resnet18", "--format", "json", "--batch", "8", "--dtype", "float16"],
    ["summary", "specs/googlenet.yaml", "--format", "markdown", "--depth", "2"],
    ["summary", "cs231n_conv", "--format", "csv"],             # has expect: checks run
    ["summary", "-"],                                          # an error, from stdin
    ["summary", "resnet50", "--format", "json"],               # a deep net, numeric: no sympy
    ["zoo", "--format", "json"],                               # analyses every bundled spec
    ["summary", "resnet18", "--train", "--batch", "16", "--format", "json"],   # training figures
    ["fit", "resnet50", "--memory", "24GiB"],
    ["check", "resnet18", "--max-train-memory", "16GB", "--batch", "32"],
    ["explain", "lenet5", "--train"],
]
codes = []
for args in runs:
    sys.argv = ["cnncalc", *args]
    try:
        main()
    except SystemExit as exc:
        codes.append(exc.code)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
print(json.dumps({"codes": codes, "heavy": heavy}), file=sys.stderr)
"""


def test_summary_imports_no_torch_sympy_numpy():
    script = f"HEAVY = {HEAVY!r}\n" + SCRIPT
    result = subprocess.run([sys.executable, "-c", script], input="input: [3, 8, 8]\nlayers: [rleu]\n",
                            capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=120)
    outcome = json.loads(result.stderr.strip().splitlines()[-1])
    assert outcome["codes"] == [0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0], result.stderr
    assert outcome["heavy"] == [], f"the static path imported {outcome['heavy']}"
    assert '"params": 11689512' in result.stdout          # torchvision's resnet18, for the record
