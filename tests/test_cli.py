"""The command table (cnncalc.cli.COMMANDS): complete, lazy, without import cycles, and
`run(argv)` giving the exit status the console script exits with."""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc.cli import COMMANDS, run
from conftest import ROOT, cli_env, run_cli, run_here

PACKAGE = ROOT / "cnncalc"


def test_the_table_names_every_command_module_and_each_resolves():
    modules = {p.stem for p in (PACKAGE / "commands").glob("*.py") if p.stem != "__init__"}
    assert {target.split(":")[0] for target in COMMANDS.values()} == {
        f"cnncalc.commands.{m}" for m in modules}
    for name, target in COMMANDS.items():
        module_name, function_name = target.split(":")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, function_name)), target
        assert module.HELP.strip(), f"{name} has no help"


def test_help_lists_the_commands_in_table_order():
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    listed = result.stdout.split("Commands:\n", 1)[1].split()
    assert [word for word in listed if word in COMMANDS] == list(COMMANDS)


def test_a_command_imports_only_its_own_module():
    """`cnncalc summary` (the cold start people wait for) imports no other command's module;
    `--help` imports them all, to list their summaries."""
    code = ("import json, sys\nfrom cnncalc.cli import run\n"
            "status = run(sys.argv[1:])\n"
            "print(json.dumps([status, sorted(m for m in sys.modules "
            "if m.startswith('cnncalc.commands.'))]), file=sys.stderr)\n")
    for args, expected in ((["summary", "cs231n_conv", "--format", "json"], ["summary"]),
                           (["schema"], ["schema"]),
                           (["--help"], sorted(COMMANDS))):
        result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                                text=True, env=cli_env(), cwd=ROOT, timeout=120)
        status, imported = json.loads(result.stderr.strip().splitlines()[-1])
        assert status == 0, result.stderr
        assert imported == [f"cnncalc.commands.{m}" for m in expected], args


def _imports(path: Path) -> set[str]:
    """The cnncalc modules a file imports, anywhere in it (a lazy import is still an edge)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnncalc"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("cnncalc"))
    return found


def test_no_two_modules_import_each_other():
    """Neither at the top nor inside a function: cli imports the commands, never the reverse;
    render imports checks, never the reverse."""
    names = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
             for p in PACKAGE.rglob("*.py")}
    edges = {name: _imports(path) & set(names) - {name} for name, path in names.items()}
    assert edges["cnncalc.cli"] >= {"cnncalc.commands"}      # the scan sees imports
    mutual = sorted((a, b) for a in edges for b in edges[a] if a < b and a in edges[b])
    assert mutual == []


def _without_program_name(stderr: str) -> list[str]:
    # click names the program as it was started (`python -m cnncalc`, `cnncalc`, pytest's)
    return [line for line in stderr.splitlines() if not line.startswith(("Usage: ", "Try '"))]


@pytest.mark.parametrize("args, status", [
    (["summary", "cs231n_conv", "--format", "csv"], 0),
    (["explain", "cs231n_conv"], 0),
    (["summary", "no_such_net.yaml"], 2),               # bad input
    (["summary", "cs231n_conv", "--batch", "0"], 2),    # click's usage error
    (["sumary"], 2),
    (["--version"], 0),
])
def test_run_returns_the_console_scripts_exit_status(args, status):
    here, there = run_here(*args), run_cli(*args)
    assert here.returncode == there.returncode == status, there.stderr
    assert here.stdout == there.stdout
    assert _without_program_name(here.stderr) == _without_program_name(there.stderr)
    assert here.stderr or status == 0


def test_run_reports_a_failed_write(monkeypatch, capsys):
    """A disk that is full (ENOSPC) while the report is written: one line on standard error,
    exit status 1, no traceback."""
    import errno

    class Full:
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", Full())
    assert run(["summary", "cs231n_conv", "--format", "json"]) == 1
    assert capsys.readouterr().err == "error: cannot write the output: No space left on device\n"
