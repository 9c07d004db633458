"""The spine: every kind is one object that owns all of its facets, and nothing outside
cnncalc/kinds dispatches on kind names. A kind that lacks a facet fails here, by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnncalc.kinds import BLOCK, BUILTIN_NAMES, COMPOSITES, KINDS, Composite, LeafKind

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "docs" / "spec-language.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = DOCS.index(f"## {title}")
    end = DOCS.find("\n## ", start + 1)
    return DOCS[start:end]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_leaf_kind_owns_every_facet(name):
    kind = KINDS[name]
    cls = type(kind)
    assert cls.explain is not LeafKind.explain, f"{name}: no explanation"
    assert cls.build is not LeafKind.build, f"{name}: no PyTorch builder"
    assert kind.example.strip(), f"{name}: no worked example"
    assert kind.torch and kind.summary, f"{name}: no line for `cnncalc kinds`"
    assert f"`{name}`" in _section("Leaf kinds"), f"{name}: no row in docs/spec-language.md"
    # a kind with a window of its own is not position-wise
    assert cls.window is LeafKind.window or not kind.position_wise, name
    # training (docs/training.md): what it keeps for the backward, and its parameter tensors
    assert cls.saved is not LeafKind.saved, f"{name}: no training rule (`saved`)"
    assert cls.params is LeafKind.params or cls.param_tensors is not LeafKind.param_tensors, (
        f"{name}: has parameters but no `param_tensors`")


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_a_composite_owns_every_facet(name):
    composite = COMPOSITES[name]
    cls = type(composite)
    for facet in ("expand", "explain", "schema", "train"):
        assert getattr(cls, facet) is not getattr(Composite, facet), f"{name}: no {facet}"
    assert composite.example.strip() and composite.torch and composite.summary, name
    assert f"`{name}`" in _section("Composite kinds"), f"{name}: no row in docs/spec-language.md"


def test_a_block_use_explains_itself_and_is_no_kind_a_spec_can_name():
    assert type(BLOCK).explain is not Composite.explain
    assert BLOCK.name not in BUILTIN_NAMES


def test_the_tables_are_disjoint_and_complete():
    assert not set(KINDS) & set(COMPOSITES)
    assert BUILTIN_NAMES == set(KINDS) | set(COMPOSITES)


# Comparisons of a node's kind name with a literal, or tables of kind names: the dispatch the
# spine replaces. Reports still carry `kind` as text; no stage decides anything by it.
# (`c.kind`, a constraint's kind, is another thing)
_DISPATCH = re.compile(r"""\b(?!c\b)\w+\.kind\s*(==|!=|(not\s+)?in\b)\s*[("'A-Z]|\w\.kind\]""")


def test_no_stage_outside_the_kinds_dispatches_on_kind_names():
    offenders = []
    for path in (ROOT / "cnncalc").rglob("*.py"):
        if "kinds" in path.relative_to(ROOT / "cnncalc").parts[:1]:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _DISPATCH.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


# the same word, another meaning: residual's `shortcut: identity`, upsample's `mode: linear`
SAME_WORD = {("identity", "composite.py"), ("linear", "other.py")}


def test_kind_names_are_written_in_one_module_each():
    """`"concat"` and the rest appear as a string in the module that defines the kind only
    (comments aside; the commands and their table in cli.py are not read: `conv` and `pool` are
    also command names, and the one-line commands write specs as a user would)."""
    sources = {p: "\n".join(line.split("#")[0] for line in p.read_text(encoding="utf-8").splitlines())
               for p in (ROOT / "cnncalc").rglob("*.py")
               if p.parent.name != "commands" and p.name != "cli.py"}
    for name in BUILTIN_NAMES:
        where = [p for p, text in sources.items() if re.search(rf"""["']{name}["']""", text)]
        defining = [p for p in where if re.search(rf"""name = ["']{name}["']""", sources[p])]
        assert len(defining) == 1, (name, defining)
        stray = [str(p.relative_to(ROOT)) for p in where if p not in defining
                 and (name, p.name) not in SAME_WORD]
        assert not stray, f"`{name}` named outside its kind's module: {stray}"


def test_a_new_kind_is_one_class(monkeypatch):
    """The README's recipe, run: a class registered with @leaf_kind is read by every stage
    (spec, analysis, explain, schema, `cnncalc kinds`, the PyTorch build) with nothing else
    touched."""
    torch = pytest.importorskip("torch")
    from cnncalc.commands.kinds import entries
    from cnncalc.crosscheck.build import build, materialise
    from cnncalc.crosscheck.measure import measure
    from cnncalc.explain import explanations
    from cnncalc.kinds import base
    from cnncalc.kinds.activation import ACTIVATION_EXAMPLE, Activation
    from cnncalc.pipeline import analyze_loaded, load_text
    from cnncalc.schema import build as schema

    monkeypatch.setitem(KINDS, "hardsigmoid_test", None)   # so that the test's kind is removed
    del KINDS["hardsigmoid_test"]                           # after it

    @base.leaf_kind
    class HardsigmoidTest(Activation):
        name = "hardsigmoid_test"
        torch = "Hardsigmoid"
        formula = "min(max(x + 3, 0), 6)/6"
        example = ACTIVATION_EXAMPLE.format(name=name)

    loaded = load_text("input: [2, 3, 3]\nlayers: [conv: {out: 4, kernel: 3}, hardsigmoid_test]\n")
    analysis = analyze_loaded(loaded)
    assert analysis.output_shape == (4, 1, 1)
    assert "min(max(x + 3, 0), 6)/6 on every value" in explanations(analysis)[-1][0]
    assert "hardsigmoid_test" in str(schema())
    assert any(row["kind"] == "hardsigmoid_test" for row in entries())
    model = materialise(build(analysis), "cpu")
    assert type(model[1]).__name__ == "Hardsigmoid"
    (last,) = [m for m in measure(model, torch.zeros(1, 2, 3, 3)).leaves() if m.name == "1"]
    assert tuple(last.output_shape[1:]) == analysis.output_shape
