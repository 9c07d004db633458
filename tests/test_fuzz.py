"""Fuzzing: whatever the spec, the command line or the terminal, cnncalc succeeds, or fails with
its own error and exit status 1 or 2, within a time bound (jmespath's property).

Inputs: mutated specs (bundled and generated), YAML tricks, extreme numbers, hostile command
lines, odd environments. Runs are in process through the public entry point (cnncalc.cli.main),
except where the environment or the terminal is the input (a fresh process each).

The budget is small by default (CI: well under a minute on 2 cores). A longer run:

    CNNCALC_FUZZ=50 python -m pytest tests/test_fuzz.py     # 50 times the examples

`CNNCALC_FUZZ_LOG=path` writes each input's time there (JSON lines) for a look at the slowest.
The default run is the same every time (derandomized); a longer one draws afresh and steers
towards slow inputs (`target`), so that a slow path shows up as a failure of the time bound,
with the input that took the time.
"""

from __future__ import annotations

import json
import os
import signal
from functools import lru_cache

import pytest
import yaml
from hostile import invoke, own_failure, spawn
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from conftest import ROOT

SCALE = max(1, int(os.environ.get("CNNCALC_FUZZ", "1")))
SECONDS = float(os.environ.get("CNNCALC_FUZZ_SECONDS", "10"))   # the time bound of one input
LOG = os.environ.get("CNNCALC_FUZZ_LOG")


def budget(examples: int):
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=SCALE == 1,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


class _TooSlow(Exception):
    pass


def _alarm(signum, frame):
    raise _TooSlow()


def run_in_process(args: list[str], stdin: str | None = None, label: str = ""):
    """One input, in process, under the time bound (SIGALRM interrupts a hang)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, SECONDS)
    try:
        outcome = invoke(*args, stdin=stdin)
    except _TooSlow:
        pytest.fail(f"no answer within {SECONDS} s: cnncalc {' '.join(args)}\n{(stdin or '')[:2000]}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if outcome.crash and "_TooSlow" in outcome.crash:
        pytest.fail(f"no answer within {SECONDS} s: cnncalc {' '.join(args)}\n{(stdin or '')[:2000]}")
    check(outcome, args, stdin, label)
    return outcome


def check(outcome, args, stdin, label):
    _log(outcome, args, stdin, label)
    if SCALE > 1:   # steering by time makes a run depend on the machine: not in CI
        target(outcome.seconds, label=f"seconds ({label})")
    problem = own_failure(outcome)
    assert not problem, f"cnncalc {' '.join(args)}\n--- stdin ---\n{(stdin or '')[:3000]}\n--- {problem}"
    assert outcome.seconds < SECONDS, f"{outcome.seconds:.1f} s: cnncalc {' '.join(args)}\n{stdin}"


def _log(outcome, args, stdin, label):
    if LOG:
        with open(LOG, "a") as log:
            log.write(json.dumps({"label": label, "seconds": round(outcome.seconds, 4),
                                  "status": outcome.status, "args": args,
                                  "stdin": (stdin or "")[:500]}) + "\n")


# --- specs ------------------------------------------------------------------------------------

@lru_cache
def kind_arguments() -> dict[str, list[str]]:
    """Every layer kind and its argument names, from the spec language's JSON Schema."""
    schema = json.loads((ROOT / "schema" / "cnncalc-spec.schema.json").read_text())
    kinds: dict[str, list[str]] = {}
    for alternative in schema["$defs"]["entry"]["anyOf"]:
        if "$ref" in alternative:       # a leaf kind's, kept once under `$defs`
            alternative = schema["$defs"][alternative["$ref"].rsplit("/", 1)[-1]]
        if "enum" in alternative:
            kinds.update({k: [] for k in alternative["enum"]})
        for kind, value in alternative.get("properties", {}).items():
            names = set()
            for form in value.get("anyOf", [value]):
                names.update(form.get("properties", {}))
            kinds[kind] = sorted(names)
    return kinds


COMPOSITES = ("sequential", "repeat", "concat", "add", "residual")

# numbers at and past every bound a spec or PyTorch has, and the YAML spellings of odd ones
EXTREME = st.sampled_from([
    0, -1, 1, 2, 3, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 10**40 - 1, 10**40, 10**300,
    0.5, 1.5, 1e-300, 1e6, 1e300, 1e308, -0.0, float("inf"), float("nan"), True, None,
    "1e99", "1e400", "1,5M", "1,500,000", "15.47G", "0x10", "0o17", "1_000", ".inf", "-.nan",
    "9" * 4301, "same", "valid", "", "H", "k", "[]", "{}",
])
SMALL = st.integers(1, 8)


def values(wild: bool):
    """An argument's value: small (so that specs often pass and reach deeper code), or with
    `wild` sometimes extreme; sometimes a list of either."""
    one = st.one_of(*[SMALL] * 8, EXTREME) if wild else SMALL
    return st.one_of(one, st.lists(one, min_size=0 if wild else 1, max_size=4 if wild else 3))


@st.composite
def entries(draw, wild: bool, depth: int = 0):
    kinds = kind_arguments()
    leaf_kinds = [k for k in kinds if k not in COMPOSITES]
    kind = draw(st.sampled_from(leaf_kinds if depth >= 2 else [*leaf_kinds, *COMPOSITES]))
    if kind in COMPOSITES:
        inner = st.lists(entries(wild, depth + 1), min_size=0, max_size=3)
        if kind == "sequential":
            return {kind: draw(inner)}
        if kind in ("concat", "add"):
            return {kind: draw(st.lists(inner, min_size=1, max_size=3))}
        if kind == "repeat":
            times = draw(st.one_of(SMALL, EXTREME) if wild else SMALL)
            return {kind: {"times": times, "layers": draw(inner)}}
        shortcut = draw(st.sampled_from(["auto", "identity", "projection", None]))
        body = {"layers": draw(inner)}
        if shortcut:
            body["shortcut"] = shortcut
        return {kind: body}
    names = kinds[kind] if wild else [n for n in kinds[kind] if n not in ("rounding", "expect", "name")]
    if not names or draw(st.integers(0, 5)) == 0:
        return kind                          # bare: `- relu` (or a kind that needs arguments)
    if draw(st.integers(0, 4)) == 0:
        return {kind: draw(values(wild))}    # shorthand: `- linear: 10`
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    args = {name: draw(values(wild)) for name in chosen}
    if wild and draw(st.integers(0, 6)) == 0:
        args[draw(st.sampled_from(["name", "rounding", "expect", "bogus"]))] = draw(
            st.one_of(EXTREME, st.sampled_from(["floor", "strict", "=cmd", "x" * 300])))
    return {kind: args}


@st.composite
def specs(draw) -> dict:
    """A spec: half of them `wild` (extreme values anywhere), the others plain numbers that
    often make a valid network (the reports, the checks, the explanations get their turn)."""
    wild = draw(st.booleans())
    rank = draw(st.integers(1, 3))
    extreme = [EXTREME] if wild else []
    channels = draw(st.one_of(*[SMALL] * 6, *extreme))
    sizes = draw(st.lists(st.one_of(*[st.integers(8, 64)] * 6, st.sampled_from(["H", "W", "k"]),
                                    *extreme), min_size=rank, max_size=rank))
    spec = {"input": [channels, *sizes],
            "layers": draw(st.lists(entries(wild), min_size=1, max_size=6))}
    if draw(st.booleans()):
        spec["rounding"] = "floor"          # fewer strict-rounding stops: deeper analysis
    if draw(st.integers(0, 4)) == 0:
        spec["layout"] = draw(st.sampled_from(["hwc", "chw", "HWC"] if wild else ["hwc", "chw"]))
    if draw(st.integers(0, 3)) == 0:
        spec["budget"] = {draw(st.sampled_from(["params", "macs", "flops", "activation_memory",
                                                "param_memory"])):
                          draw(EXTREME if wild else st.sampled_from(["5M", "1G", 1000, "10MB"]))}
    if draw(st.integers(0, 3)) == 0:
        spec["expect"] = {draw(st.sampled_from(["params", "macs", "output"])): draw(values(wild))}
    if draw(st.integers(0, 5)) == 0:
        spec["blocks"] = {"b": {"params": {"c": 4}, "layers": [{"conv": {"out": "$c", "kernel": 1}}]}}
        spec["layers"].append({"b": {"c": draw(st.one_of(SMALL, *extreme))}})
    return spec


def dump(spec) -> str:
    return yaml.safe_dump(spec, sort_keys=False, default_flow_style=None, allow_unicode=True,
                          width=10**6)


COMMANDS = [["summary", "-", "--format", "json"], ["summary", "-"], ["check", "-"],
            ["explain", "-"], ["summary", "-", "--format", "csv"], ["inputs", "-"]]


@budget(60)
@given(spec=specs(), command=st.sampled_from(COMMANDS))
def test_generated_specs(spec, command):
    run_in_process(command, dump(spec), "generated spec")


# --- mutated specs ----------------------------------------------------------------------------

BUNDLED = sorted((ROOT / "cnncalc" / "specs").glob("*.yaml"))
SMALL_BUNDLED = [p for p in BUNDLED if p.stat().st_size < 4000]

TOKENS = [": ", "- ", "-", "[", "]", "{", "}", ",", "&a ", "*a", "&a [*a]", "!!binary ", "!!set ",
          "!!python/object:os.system ", "<<: *a", "? ", "|", ">", "\t", "\x00", "\x1b", "\x7f",
          "\r", "\r\n", "\x85", "\u2028", "\ufeff", "---\n", "...\n", "%YAML 1.1\n", "#", "'", '"',
          "2024-01-01", "=", "~", "null", "yes", "0x1F", "1e400", ".nan", "9" * 60, "é", "👍",
          "\ud800", " " * 40, "\n", "$", "${", "${c*}", "${1/0}", "${2**99}", "$c", "sequential",
          "repeat: {times: 490000, layers: [relu]}", "x" * 20000]


@st.composite
def mutated(draw, texts: list[str]) -> str:
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        at = draw(st.integers(0, len(text)))
        end = min(len(text), at + draw(st.integers(0, 40)))
        action = draw(st.integers(0, 6))
        if action == 0:
            text = text[:at] + text[end:]                          # delete a stretch
        elif action in (1, 2):
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[at:]
        elif action == 3:
            text = text[:at] + text[at:end] * draw(st.integers(2, 5)) + text[end:]   # repeat
        elif action == 4:                                          # a number made extreme
            import re

            numbers = list(re.finditer(r"\d+", text))
            if numbers:
                m = draw(st.sampled_from(numbers))
                text = text[:m.start()] + str(draw(EXTREME)) + text[m.end():]
        elif action == 5:                                          # re-indent a line
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = " " * draw(st.integers(0, 8)) + lines[i].lstrip()
            text = "\n".join(lines)
        else:
            text = text[:at] + draw(st.text(max_size=8)) + text[at:]
    return text


@lru_cache
def seed_texts() -> list[str]:
    return [p.read_text() for p in SMALL_BUNDLED] + [
        "input: [3, 32, 32]\nrounding: floor\nlayers:\n  - conv: {out: 8, kernel: 3, stride: 2}\n"
        "  - maxpool: 2\n  - residual: {layers: [conv: {out: 8, kernel: 3, padding: 1}]}\n"
        "  - upsample: 2\n  - flatten\n  - linear: 10\nexpect: {params: 1K}\n"]


@budget(60)
@given(data=st.data(), command=st.sampled_from(COMMANDS[:5]))
def test_mutated_specs(data, command):
    run_in_process(command, data.draw(mutated(seed_texts())), "mutated spec")


# --- YAML tricks ------------------------------------------------------------------------------

TRICKS = [
    "layers: &a [sequential: *a]",
    "layers: &a\n  - sequential: *a",
    "x: &a [[[[[[[[1]]]]]]]]\ny: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nz: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nw: [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
    "x: " + "[" * 70 + "]" * 70,
    "x: " + "{a: " * 70 + "1" + "}" * 70,
    "layers:\n" + "".join("  " * i + "- sequential:\n" for i in range(1, 70)) + "  " * 70 + "- relu",
    "layers: !!python/object/apply:os.system [echo hi]",
    "input: !!binary aGVsbG8=",
    "layers: !!set {relu: null}",
    "layers: !!omap [{relu: null}]",
    "<<: {input: [3, 8, 8]}",
    "? [a, b]\n: 1",
    "? {a: 1}\n: 1",
    "null: 1",
    "1: 2",
    "1.5: 2",
    "true: 1",
    "input: [3, 8, 8]\n---\ninput: [3, 8, 8]",
    "--- !!map\ninput: [3, 8, 8]",
    "%TAG ! tag:yaml.org,2002:\n---\ninput: !str 3",
    "input: [3, 2024-01-01, 8]",
    "name: =\ninput: [3, 8, 8]",
    "input: [3, 8, 8]\ninput: [3, 8, 8]",
    "input: [3, 0x10, 0o10]",
    "input: [3, 1_0, 8]",
    "input: [3, 8, 8]\nlayers: [relu]\nname: \"\\x1b[31mred\\u202e\\x00\"",
    "input: [3, 8, 8]\nlayers:\n  - relu\n  -",
    "input: [3, 8, 8]\nlayers: [relu, ]\n",
    "input: [3, 8, 8]\nlayers: {relu: 1}",
    "input: [3, 8, 8]\nlayers: relu",
    "input: [3, 8, 8]\nlayers: []",
    "input: [3, 8, 8]\nlayers: [[relu]]",
    "input: [3, 8, 8]\nlayers: [{}]",
    "input: [3, 8, 8]\nlayers: [{relu: null, conv: null}]",
    "input: 3x8x8\nlayers: [relu]",
    "input: [3, 8, 8]\nlayers: [relu]\nblocks: {b: {layers: [b]}}\n",
    "input: [3, 8, 8]\nblocks: {a: {layers: [b, b]}, b: {layers: [c, c]}, c: {layers: [relu]}}\nlayers: [a]",
    "\ufeffinput: [3, 8, 8]\nlayers: [relu]",
    "input: [3, 8, 8]\r\nlayers: [relu]\r\n",
    "input: [3, 8, 8]\rlayers: [relu]\r",
    "input: [3, 8, 8]\u2028layers: [relu]",
    "input: [3, 8, 8]\nlayers: [relu] # \x00",
    "'" + "x" * 20000 + "': 1",
    "input: [3, 8, 8]\nlayers: [\"" + "\\U0001F600" * 3000 + "\"]",
]


@budget(40)
@given(trick=st.sampled_from(TRICKS), base=st.sampled_from(seed_texts()),
       place=st.sampled_from(["alone", "before", "after"]), command=st.sampled_from(COMMANDS[:4]))
def test_yaml_tricks(trick, base, place, command):
    text = {"alone": trick, "before": trick + "\n" + base, "after": base + "\n" + trick}[place]
    run_in_process(command, text, "yaml trick")


# --- numbers at the bounds --------------------------------------------------------------------

@st.composite
def extreme_specs(draw) -> str:
    kind = draw(st.sampled_from(["conv", "conv_transpose", "maxpool", "avgpool", "upsample",
                                 "linear", "zeropad", "adaptive_avgpool", "groupnorm", "lrn"]))
    names = kind_arguments()[kind]
    args = {name: draw(st.one_of(EXTREME, SMALL)) for name in names if draw(st.booleans())}
    rank = draw(st.integers(1, 3))
    size = draw(st.sampled_from([1, 7, 224, 2**31 - 1, 2**31, 10**40]))
    repeat = draw(st.sampled_from([1, 2, 12, 52]))
    rounding = draw(st.sampled_from(["strict", "floor"]))
    layer = dump([{kind: args}]).strip()
    return (f"input: [{draw(st.sampled_from([1, 3, 2**31 - 1]))}, {', '.join([str(size)] * rank)}]\n"
            f"rounding: {rounding}\nlayers:\n" + ("  " + layer + "\n") * repeat)


@budget(50)
@given(text=extreme_specs(), command=st.sampled_from(COMMANDS[:5]))
def test_extreme_numbers(text, command):
    run_in_process(command, text, "extreme numbers")


# --- command lines ----------------------------------------------------------------------------

ARG_TEXT = st.one_of(
    st.sampled_from(["", "-", "--", "0", "-1", "1", "2147483648", "9" * 4301, "1,5M", "1e99",
                     "1e400", "nan", "inf", "3x", "x", "3xHxW", "3x0x0", "3x224x224", "224x224x3",
                     "Hx3xW", "3×32×32", "3*32*32", "k", "same", "valid", "floor", "strict",
                     "hwc", "chw", "json", "csv", "table", "markdown", "github", "human", "text",
                     "float16", "int8", "\udcff.yaml", "é" * 300, "a" * 5000, "vgg16", "unet",
                     "/dev/null", "/dev/zero", "/", ".", "/etc/passwd", "-h", "--help", "--version"]),
    st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]),
            max_size=20),
    st.integers(-2**70, 2**70).map(str),
)

OPTIONS = {
    "summary": ["--format", "-f", "--batch", "--dtype", "--depth", "--explain", "--input"],
    "check": ["--max-params", "--max-macs", "--max-flops", "--max-activation-memory",
              "--max-param-memory", "--batch", "--dtype", "--format"],
    "explain": ["--format", "--depth"],
    "inputs": ["--upto", "--format"],
    "conv": ["--filters", "-k", "--kernel", "--stride", "--padding", "--dilation", "--groups",
             "--no-bias", "--layout", "--rounding", "--json"],
    "pool": ["--kernel", "--stride", "--padding", "--dilation", "--ceil-mode", "--layout",
             "--rounding", "--json"],
    "kinds": ["--format"], "zoo": ["--format"], "schema": [],
    "nonsense": ["--format"],
}
FLAGS = {"--explain", "--no-bias", "--ceil-mode", "--json"}


@st.composite
def command_lines(draw) -> list[str]:
    command = draw(st.sampled_from(list(OPTIONS)))
    line = [command]
    if command in ("summary", "check", "explain", "inputs"):
        line.append(draw(st.sampled_from(["-", "-", "vgg16", "lenet5", "unet"]) | ARG_TEXT))
    elif command in ("conv", "pool"):
        line += [draw(st.sampled_from(["32x32x3", "7x7x1", "3x5x2"]) | ARG_TEXT),
                 "--kernel" if command == "pool" else "--filters", draw(ARG_TEXT | SMALL.map(str))]
        if command == "conv":
            line += ["--kernel", draw(ARG_TEXT | SMALL.map(str))]
    for option in draw(st.lists(st.sampled_from(OPTIONS[command] or ["--x"]), max_size=4)):
        line.append(option)
        if option not in FLAGS:
            line.append(draw(ARG_TEXT))
    if draw(st.integers(0, 5)) == 0:
        line.insert(draw(st.integers(0, len(line))), draw(ARG_TEXT))
    return line


@budget(80)
@given(line=command_lines())
def test_command_lines(line):
    spec = ("input: [3, 32, 32]\nexpect: {params: 100}\nlayers:\n  - conv: {out: 8, kernel: 3}\n"
            "  - relu\n")
    run_in_process(line, spec, "command line")


# --- environments and terminals (a fresh process each) ----------------------------------------

ENVIRONMENTS = st.fixed_dictionaries({}, optional={
    # (an unknown encoding stops Python itself before cnncalc starts: not ours to answer)
    "PYTHONIOENCODING": st.sampled_from(["ascii", "latin-1", "cp1252", "utf-8", "utf-16",
                                         "ascii:strict", "latin-1:replace"]),
    "NO_COLOR": st.sampled_from(["1", "", None]),
    "FORCE_COLOR": st.sampled_from(["1", "0", None]),
    "COLUMNS": st.sampled_from(["0", "1", "2", "5", "20", "-3", "abc", "99999", ""]),
    "LINES": st.sampled_from(["0", "1", "abc"]),
    "TERM": st.sampled_from(["dumb", "xterm-256color", "", None]),
    "LC_ALL": st.sampled_from(["C", "POSIX", "C.UTF-8", "tr_TR.UTF-8", "xx_XX"]),
    "PYTHONUTF8": st.sampled_from(["0", "1"]),
})
ENV_COMMANDS = [["summary", "-"], ["explain", "-"], ["check", "-"], ["summary", "vgg16"],
                ["summary", "-", "--format", "markdown"], ["conv", "32x32x3", "-k", "8", "-f", "5"],
                ["inputs", "-"], ["kinds"], ["zoo"], ["summary", "-", "--explain"],
                ["summary", "missing.yaml"], ["check", "-", "--max-params", "1,5M"]]


@budget(8)
@given(env=ENVIRONMENTS, command=st.sampled_from(ENV_COMMANDS), closed=st.booleans())
def test_environments(env, command, closed):
    spec = "input: [3, 32, 32]\nexpect: {params: 100}\nlayers:\n  - conv: {out: 8, kernel: 3}\n"
    encoding = env.get("PYTHONIOENCODING", "utf-8").split(":")[0]
    outcome = spawn(*command, stdin=spec, env=env, close_stdout=closed, timeout=SECONDS * 6,
                    encoding=encoding)
    if closed:
        assert outcome.status == 1 and "standard output is closed" in outcome.stderr
    check(outcome, command, spec, "environment")


def test_the_harness_sees_a_crash():
    """The property can fail: an exception that escapes is caught and named."""
    from hostile import Outcome

    assert own_failure(Outcome(None, "", "", 0.0, crash="Traceback ...\nValueError"))
    assert own_failure(Outcome(3, "", "", 0.0))
    assert own_failure(Outcome(2, "", "", 0.0))
    assert not own_failure(Outcome(2, "", "x: error: y\n", 0.0))
