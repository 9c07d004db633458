"""The pre-commit hooks, as a team uses them: a `.pre-commit-config.yaml` naming this repository
(a snapshot of the working tree) and `cnncalc-check`; pre-commit installs the repository into a
fresh virtual environment (from PyPI) and runs the hook on a team's specs.

pre-commit is in the test extra; without it these tests fail rather than skip. The hook's
environment is built once (~10 s) in a PRE_COMMIT_HOME shared by the three runs (good, over
budget, invalid). Not `pre-commit try-repo`: it makes a new store, so a new install, per call."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pre_commit  # noqa: F401  (the test extra has it; fail loudly if not)
import pytest
import yaml

from conftest import ROOT

GOOD = "input: [3, 8, 8]\nlayers: [{conv: {out: 4, kernel: 3, padding: 1}}, relu]\nbudget: {params: 1K}\n"
OVER = "input: [3, 8, 8]\nlayers: [{conv: {out: 64, kernel: 3, padding: 1}}]\nbudget: {params: 1K}\n"
INVALID = "input: [3, 8, 8]\nlayers: [{conv: {out: 4, kernal: 3}}]\n"


def git(*args, cwd):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True)


def snapshot(dest: Path) -> Path:
    """This working tree (tracked and untracked, not ignored) as a fresh one-commit repository:
    what pre-commit installs does not depend on what is committed here yet."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.exists() and not source.is_symlink():
            continue                                    # deleted in the working tree
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    git("init", "-q", cwd=dest)
    git("add", "-A", cwd=dest)
    git("commit", "-q", "-m", "snapshot", cwd=dest)
    return dest


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """A team's repository with three specs, and a runner of the hook on some of them."""
    base = tmp_path_factory.mktemp("precommit")
    hooks = snapshot(base / "cnncalc")
    repo = base / "team"
    (repo / "specs").mkdir(parents=True)
    for name, text in (("good", GOOD), ("over", OVER), ("invalid", INVALID)):
        (repo / "specs" / f"{name}.yaml").write_text(text)
    (repo / "README.md").write_text("not a spec\n")
    rev = git("rev-parse", "HEAD", cwd=hooks).stdout.strip()
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n      - id: cnncalc-check\n")
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    env = dict(os.environ, PRE_COMMIT_HOME=str(base / "cache"), NO_COLOR="1")

    def run(*files):
        return subprocess.run([sys.executable, "-m", "pre_commit", "run", "cnncalc-check",
                               "--verbose", "--files", *files], cwd=repo,
                              env=env, capture_output=True, text=True, timeout=600)
    return run


def test_manifest_is_valid():
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest",
                             str(ROOT / ".pre-commit-hooks.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_config_is_valid(tmp_path):
    """The `.pre-commit-config.yaml` the README shows is one pre-commit accepts."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```yaml\n# \.pre-commit-config\.yaml\n(.*?)```", readme, re.S)
    assert blocks, "the README shows no .pre-commit-config.yaml"
    for block in blocks:
        config = tmp_path / ".pre-commit-config.yaml"
        config.write_text(block)
        result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config",
                                 str(config)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "id: cnncalc-check" in block or "id: cnncalc-validate" in block


def test_good_spec_passes(team):
    result = team("specs/good.yaml", "README.md")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"cnncalc check \(CNN specs\)\.+Passed", result.stdout)
    assert "1 file checked: all good" in result.stdout      # README.md isn't a spec


def test_over_budget_fails_with_exit_1(team):
    result = team("specs/good.yaml", "specs/over.yaml")
    assert result.returncode == 1
    assert re.search(r"cnncalc check \(CNN specs\)\.+Failed", result.stdout)
    assert "exit code: 1" in result.stdout
    assert "specs/over.yaml:3:18: error: budget: network params is 1,792, over the bound 1,000" in result.stdout


def test_invalid_spec_fails_with_exit_2(team):
    result = team("specs/invalid.yaml", "specs/over.yaml")
    assert result.returncode == 1
    assert "exit code: 2" in result.stdout
    assert "specs/invalid.yaml:2:26: error: `conv` has no `kernal`" in result.stdout
    assert "did you mean `kernel`?" in result.stdout
    assert "specs/over.yaml:3:18: error: budget" in result.stdout    # every file still reported


# The README's `--against` example, in a team's repository: a model package and its spec.
TEAM_MODEL = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=1, padding=1)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


def build_net():
    return Net()
"""

TEAM_SPEC = """\
input: [3, 8, 8]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - relu
  - flatten
  - linear: 10
"""


def against_hook() -> dict:
    """The README's `--against` hook as pre-commit resolves it: the manifest's
    `cnncalc-validate` with the README's keys over it (a config's keys replace the manifest's;
    `types`, `types_or` and `files` are each applied). Run with this interpreter
    (`language: system`, from a `repo: local`): the same filters, without building an
    environment with torch from PyPI."""
    manifest = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in manifest if h["id"] == "cnncalc-validate"]
    readme = (ROOT / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```yaml\n(# \.pre-commit-config\.yaml\n.*?)```", readme,
                                      re.S) if "--against" in b]
    (example,) = yaml.safe_load(block)["repos"][0]["hooks"]
    resolved = {**hook, **example}
    resolved.pop("additional_dependencies", None)   # the interpreter running the tests has torch
    return {**resolved, "language": "system",
            "entry": f"{shlex.quote(sys.executable)} -m cnncalc validate"}


def test_against_hook_runs_when_only_the_model_changes(tmp_path):
    """A commit that changes only a conv's stride in `mypkg/models.py` runs the README's
    `--against` hook, which fails naming the drift; the commit is refused (issue 14: the
    manifest's `types: [yaml]`, ANDed with the example's `types_or`, skipped it)."""
    repo = tmp_path / "team"
    (repo / "mypkg").mkdir(parents=True)
    (repo / "specs").mkdir()
    (repo / "mypkg" / "__init__.py").write_text("")
    (repo / "mypkg" / "models.py").write_text(TEAM_MODEL)
    (repo / "specs" / "net.yaml").write_text(TEAM_SPEC)
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(
        {"repos": [{"repo": "local", "hooks": [against_hook()]}]}, sort_keys=False))
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), NO_COLOR="1",
               PYTHONPATH=str(ROOT), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")

    def run(*args):
        return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True,
                              timeout=600)

    assert run("git", "init", "-q").returncode == 0
    installed = run(sys.executable, "-m", "pre_commit", "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    run("git", "add", "-A")
    first = run("git", "commit", "-m", "model and spec")
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r"the model still matches specs/net\.yaml\.+Passed", first.stdout + first.stderr)

    models = repo / "mypkg" / "models.py"
    models.write_text(TEAM_MODEL.replace("stride=1", "stride=2"))
    run("git", "add", "mypkg/models.py")
    assert run("git", "diff", "--cached", "--name-only").stdout == "mypkg/models.py\n"
    result = run(sys.executable, "-m", "pre_commit", "run", "--verbose")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert re.search(r"the model still matches specs/net\.yaml\.+Failed", out), out
    assert "- hook id: cnncalc-validate" in out and "- exit code: 1" in out
    assert ("specs/net.yaml: error: the model fails on the spec's input: RuntimeError: mat1 "
            "and mat2 shapes cannot be multiplied (1x128 and 512x10)") in out
    assert "note: raised in module `fc` (Linear), on input 128" in out
    assert ("specs/net.yaml:3:5: note: code and spec had already parted before it, at spec "
            "layer 0 (conv) vs model module conv (Conv2d)") in out
    assert "output shape: 8×8×8 (spec) vs 8×4×4 (model)" in out

    head = run("git", "rev-parse", "HEAD").stdout
    refused = run("git", "commit", "-m", "stride 2")
    assert refused.returncode != 0 and "Failed" in refused.stdout + refused.stderr
    assert run("git", "rev-parse", "HEAD").stdout == head
