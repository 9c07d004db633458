"""`cnncalc kinds`: every kind and every argument, in YAML spelling, as a table and as JSON."""

import json

import pytest
import yaml

from cnncalc.kinds import COMPOSITES, KINDS
from conftest import run_cli


@pytest.fixture(scope="module")
def table() -> str:
    result = run_cli("kinds")
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout                        # NO_COLOR is set by run_cli
    return result.stdout


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    result = run_cli("kinds", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def cells(table: str) -> dict[str, list[str]]:
    """Kind name -> the lines of its Arguments cell (the second column)."""
    found, kind = {}, None
    for line in table.splitlines():
        parts = [p.strip() for p in line.split("│")]
        if len(parts) != 3:
            continue
        if parts[0] in KINDS or parts[0] in COMPOSITES:
            kind = parts[0]
            found[kind] = []
        if kind and parts[1]:
            found[kind].append(parts[1])
    return found


def test_every_kind_appears_with_every_argument_in_yaml_spelling(table):
    args = cells(table)
    assert set(KINDS) | set(COMPOSITES) <= set(args)
    for kind in KINDS.values():
        for name, info in kind.args.model_fields.items():
            if info.is_required():
                assert f"{name} (required)" in args[kind.name], (kind.name, name)
            else:
                line = next(a for a in args[kind.name] if a.startswith(f"{name}: "))
                value = line.removeprefix(f"{name}: ")
                if info.default is None:             # pools: "not given" means the kernel;
                    # upsample: one of scale, size and like is given
                    assert value == ("one of scale, size, like" if kind.name == "upsample"
                                     else "kernel"), (kind.name, name)
                else:                                # a spec reads the value back as the default
                    assert yaml.safe_load(value) == info.default, (kind.name, name, value)
                    assert type(yaml.safe_load(value)) is type(info.default), (kind.name, value)
        if not kind.args.model_fields:
            assert args[kind.name] == ["-"]
        assert kind.torch in table
    for word in ("bias: true", "mode: nearest", "stride: kernel", "out (required)",
                 "eps: 1.0e-05"):
        assert word in table
    for python in ("=None", "=True", "'nearest'", "stride=", "1e-05,"):
        assert python not in table


def test_json_lists_every_kind_and_argument(rows):
    assert [row["kind"] for row in rows] == [*KINDS, *COMPOSITES]
    for row in rows:
        assert {"kind", "torch", "summary", "args"} <= set(row)
        for arg in row["args"]:
            assert {"name", "required", "default"} <= set(arg)
            assert isinstance(arg["required"], bool)
    by_kind = {row["kind"]: row for row in rows}
    for kind in KINDS.values():
        row = by_kind[kind.name]
        assert (row["torch"], row["summary"]) == (kind.torch, kind.summary)
        assert [(a["name"], a["required"], a["default"]) for a in row["args"]] == [
            (name, info.is_required(), None if info.is_required() else info.default)
            for name, info in kind.args.model_fields.items()]
    assert {a["name"]: a["required"] for a in by_kind["repeat"]["args"]} == {
        "times": True, "layers": True}
    assert by_kind["residual"]["args"][1] == {"name": "shortcut", "required": False,
                                             "default": "identity", "default_text": "identity"}


def test_spec_text_is_never_read_as_markup(monkeypatch, capsys):
    """Kinds' texts are printed as rich Text: a `[bold]` in a summary stays as written."""
    from cnncalc.commands.kinds import entries, render_table

    monkeypatch.setattr(KINDS["conv"], "summary", "[bold]conv[/bold] [/oops]")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    render_table(entries())
    assert "[bold]conv[/bold] [/oops]" in capsys.readouterr().out


def test_bad_format_exits_2():
    assert run_cli("kinds", "--format", "csv").returncode == 2
