"""The docs: links resolve, and the figures they quote are the ones cnncalc and its peers give.

docs/spec-language.md is the one contract of the spec language; the old
comparison with a copy in ../shared is retired."""

from pathlib import Path

import pytest

from conftest import ROOT


def test_readme_links_resolve():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/spec-language.md" in readme
    assert Path(ROOT / "docs" / "spec-language.md").is_file()


def test_activation_memory_numbers_in_the_docs_are_cnncalcs_and_torchinfos():
    """The docs say what activation memory counts, with VGG-16's figure, and what torchinfo's
    "Forward/backward pass size" counts instead (measured when torchinfo is installed)."""
    import re

    from cnncalc.pipeline import analyze_loaded, load
    from cnncalc.report import Options, build

    docs = (ROOT / "docs" / "spec-language.md").read_text(encoding="utf-8")
    assert "torchinfo's forward pass size |" not in docs         # no claim of agreement
    assert "reported separately" not in docs                     # no promise of other figures
    ours, theirs = (int(n.replace(",", "")) for n in
                    re.search(r"it is ([\d,]+) bytes .*?so ([\d,]+) bytes", docs, re.S).groups())
    report = build(analyze_loaded(load("vgg16")), "vgg16", Options())
    assert report["totals"]["activation_bytes"] == ours
    # twice the outputs of the leaves with parameters (conv, linear), float32
    with_params = sum(layer["activation_bytes"] for layer in report["layers"]
                      if layer["leaf"] and layer["params"])
    assert 2 * with_params == theirs
    torchinfo = pytest.importorskip("torchinfo")
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    import torchvision_ref

    stats = torchinfo.summary(torchvision_ref.vgg16(), input_size=(1, 3, 224, 224), verbose=0,
                              device="cpu")
    assert stats.total_output_bytes == theirs


@pytest.mark.parametrize("command", [
    "cnncalc solve 227x227x3 55x55x96",
    "cnncalc conv 16x16x64 --filters 32 --kernel 3 --stride 2 --padding 1 --output-padding 1 --transpose",
])
def test_readme_shows_the_real_output_of_the_one_line_questions(command):
    from conftest import run_cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(f"```console\n$ {command}\n") + len(f"```console\n$ {command}\n")
    shown = readme[start:readme.index("```", start)]
    result = run_cli(*command.split()[1:])
    assert result.returncode == 0
    assert shown == result.stdout
