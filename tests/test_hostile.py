"""Issue 17's examples, one test each: hostile specs, command lines and terminals get a clear
error and the right exit status, in bounded time (tests/test_fuzz.py generalises them)."""

import os
import re
import sys
import threading
import time

import pytest
from hostile import invoke, own_failure, spawn

NET = "input: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - relu\n"


def error_at(outcome, line: int, col: int) -> str:
    """The message of an exit-2 error reported at <stdin>:line:col."""
    assert outcome.status == 2, outcome.output
    assert not own_failure(outcome), own_failure(outcome)
    prefix = f"<stdin>:{line}:{col}: error: "
    assert outcome.stderr.startswith(prefix), outcome.stderr
    return outcome.stderr[len(prefix):]


# --- numbers without bounds -------------------------------------------------------------------

@pytest.mark.parametrize("written", ["9" * 4301, "9" * 4300, '"' + "9" * 4301 + '"',
                                     '"' + "9" * 4300 + 'M"'],
                         ids=["int-4301", "int-4300", "text-4301", "text-4300-M"])
def test_a_budget_of_thousands_of_digits_is_refused_briefly(written):
    spec = f"input: [3, 32, 32]\nbudget: {{params: {written}}}\nlayers:\n  - relu\n"
    message = error_at(invoke("summary", "-", stdin=spec), 2, 18)
    assert "40 digits" in message and len(message) < 400


def test_a_max_params_of_thousands_of_digits_is_refused_briefly():
    outcome = invoke("check", "-", "--max-params", "9" * 4301, stdin=NET)
    assert outcome.status == 2 and not own_failure(outcome)
    assert "40 digits" in outcome.stderr and len(outcome.stderr) < 400


def test_sizes_are_bounded_where_each_layer_makes_them():
    spec = "input: [3, 32, 32]\nlayers:\n" + "  - upsample: 1000000\n" * 52
    message = error_at(invoke("summary", "-", stdin=spec), 4, 5)   # 3×(32·10^6)² was fine
    assert message.startswith("layer 1 (upsample): the output would have 10^27 elements")
    assert "PyTorch tensors stop at 2^63 elements" in message


def test_a_single_size_past_the_bound_is_named_as_a_width():
    spec = ("input: [1, 2147483647]\nlayers:\n"
            + "  - conv_transpose: {out: 1, kernel: 1, stride: 2147483647}\n" * 2)
    message = error_at(invoke("summary", "-", stdin=spec), 4, 5)
    # (2^31 − 2)·(2^31 − 1) + 1 ≈ 4.6·10^18 positions fit; times 2^31 − 1 again doesn't
    assert message.startswith("layer 1 (conv_transpose): the output would be 10^27 wide")


def test_chained_transposed_convolutions_stop_at_the_bound():
    spec = ("input: [3, 32, 32]\nlayers:\n"
            + "  - conv_transpose: {out: 3, kernel: 1, stride: 2147483647}\n" * 12)
    message = error_at(invoke("summary", "-", stdin=spec, ), 3, 5)
    assert "PyTorch tensors stop at 2^63 elements" in message


def test_check_size_passes_the_largest_tensor_and_refuses_the_next():
    from cnncalc.errors import SpecError
    from cnncalc.limits import check_size

    check_size((1, 2**63 - 1))
    check_size((3, "H"))       # symbolic: no value to check
    with pytest.raises(SpecError, match=re.escape("would have 10^18 elements")):
        check_size((2, 2**62))


# --- YAML -------------------------------------------------------------------------------------

def test_a_recursive_alias_is_refused_where_it_is_written():
    message = error_at(invoke("summary", "-", stdin="input: [3, 8, 8]\nlayers: &a [sequential: *a]\n"),
                       2, 25)
    assert message.startswith("the alias `*a` is inside what it repeats")


def test_aliases_of_aliases_are_bounded_by_the_nesting_limit():
    # each anchor nests the one before 40 levels deeper: 3 of them nest 120 levels once expanded
    deep = lambda inner: "[" * 40 + inner + "]" * 40   # noqa: E731
    spec = (f"input: [3, 8, 8]\nx: &a {deep('1')}\ny: &b {deep('*a')}\nz: &c {deep('*b')}\n"
            "layers: [relu]\n")
    outcome = invoke("summary", "-", stdin=spec)
    assert outcome.status == 2 and not own_failure(outcome)
    assert "nests deeper than 64 levels once its aliases are expanded" in outcome.stderr


@pytest.mark.parametrize("char, line, col", [("\x00", 3, 19), ("\x1b", 3, 19), ("\x7f", 3, 19),
                                             ("\x85\x00", 4, 1)])
def test_a_control_character_is_named_at_its_line_and_column(char, line, col):
    spec = f"input: [3, 8, 8]\nlayers:\n  - conv: {{out: 8,{char} kernel: 3}}\n"
    message = error_at(invoke("summary", "-", stdin=spec), line, col)
    assert message.startswith(f"the character U+{ord(char[-1]):04X} can't be written in a spec")
    assert "<unicode string>" not in message and "position" not in message


def test_a_plain_date_is_said_to_read_as_a_date():
    spec = "input: [3, 8, 8]\nlayers:\n  - conv: {out: 2024-01-01, kernel: 3}\n"
    message = error_at(invoke("summary", "-", stdin=spec), 3, 17)
    assert message.startswith("2024-01-01 reads as a date in YAML")
    assert "quote it" in message and "tags" not in message


def test_a_written_tag_is_still_named_as_a_tag():
    spec = "input: [3, 8, 8]\nlayers:\n  - conv: {out: !!binary aGVsbG8=, kernel: 3}\n"
    assert "YAML tags such as `!!binary`" in invoke("summary", "-", stdin=spec).stderr


def test_libyaml_and_the_python_parser_give_the_same_positions(monkeypatch):
    import yaml

    from cnncalc import loader
    from cnncalc.errors import SpecError

    assert loader._Parser is not None, "PyYAML here has LibYAML: the fast path is tested"
    broken = [
        "é: ñ\nx: " + "[" * 70 + "]" * 70 + "\n",                 # nesting, after non-ASCII
        "a: 1\r\nb:\r\n" + "  - " * 66 + "x\n",                    # block nesting, CRLF
        "x: &a\n  - é\n  - [*a]\n",                                # a recursive alias
        "a: [1, 2\nb: 3\n",                                        # syntax: unclosed list
        "a:\n\t- 1\n",                                             # a tab
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8}\n   - relu\n",
    ]

    def positions():
        found = []
        for text in broken:
            with pytest.raises(SpecError) as caught:
                loader.parse_yaml(text, "x.yaml")
            found.append((caught.value.pos, caught.value.message))
        return found

    fast = positions()
    monkeypatch.setattr(loader, "_Parser", None)
    monkeypatch.setattr(loader, "_Loader", yaml.SafeLoader)
    slow = positions()
    assert [p for p, _ in fast] == [p for p, _ in slow]
    assert all(p is not None for p, _ in fast)
    # the messages the loader writes itself are the same; the parsers' own wording may differ
    assert fast[:3] == slow[:3]


# --- terminals ----------------------------------------------------------------------------------

def test_a_closed_standard_output_is_an_error_not_a_traceback():
    outcome = spawn("summary", "vgg16", close_stdout=True)
    assert outcome.status == 1 and not outcome.crash
    assert "standard output is closed" in outcome.stderr


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
@pytest.mark.parametrize("command", [["summary", "-"], ["explain", "-"], ["check", "-"],
                                     ["inputs", "-"], ["summary", "-", "--format", "markdown"],
                                     ["conv", "32x32x3", "--filters", "8", "--kernel", "3"]])
def test_an_encoding_without_the_reports_characters_gets_ascii(encoding, command):
    spec = "input: [3, 32, 32]\nexpect: {params: 5}\nlayers:\n  - conv: {out: 8, kernel: 3}\n"
    outcome = spawn(*command, stdin=spec, env={"PYTHONIOENCODING": encoding}, encoding=encoding)
    assert not outcome.crash and outcome.status in (0, 1), outcome.output
    if encoding == "ascii":
        assert outcome.stdout.isascii()
        if command[0] in ("summary", "explain") and "markdown" not in command:
            assert "8x30x30" in outcome.stdout and "FAIL" in outcome.stdout
    elif command[0] not in ("check", "inputs"):
        assert "×" in outcome.stdout      # Latin-1 has it


def test_the_fallback_words_the_marks():
    import cnncalc.output  # noqa: F401 - registers the error handler

    assert "3×3 ✓ ✗ → ┃━╇".encode("ascii", "cnncalc-ascii") == b"3x3 ok FAIL -> |-+"


# --- slow paths -------------------------------------------------------------------------------

def test_upto_is_bounded_by_what_the_output_can_show():
    from cnncalc.inputs import MAX_UPTO

    assert MAX_UPTO <= 10_000
    outcome = invoke("inputs", "vgg16", "--upto", str(MAX_UPTO + 1))
    assert outcome.status == 2 and not own_failure(outcome)
    fast = invoke("inputs", "vgg16", "--upto", str(MAX_UPTO), "--format", "json")
    assert fast.status == 0 and fast.seconds < 5


@pytest.mark.parametrize("spec", ["vgg16", "unet", "resnet18", "googlenet", "alexnet"])
def test_the_sizes_listed_are_the_sizes_accepted(spec):
    from cnncalc.inputs import accepted_inputs
    from cnncalc.pipeline import load

    for accepted in accepted_inputs(load(spec)).values():
        assert accepted.values(700) == [x for x in range(1, 701) if x in accepted]


def test_a_named_pipe_without_a_writer_is_refused_after_a_wait(tmp_path, monkeypatch):
    from cnncalc import loader
    from cnncalc.errors import SpecError

    pipe = tmp_path / "spec.yaml"
    os.mkfifo(pipe)
    monkeypatch.setattr(loader, "PIPE_WAIT", 0.3)
    started = time.perf_counter()
    with pytest.raises(SpecError, match="nothing wrote to this named pipe"):
        loader.read_source(str(pipe))
    assert time.perf_counter() - started < 5


def test_a_named_pipe_with_a_writer_is_read(tmp_path):
    from cnncalc import loader

    pipe = tmp_path / "spec.yaml"
    os.mkfifo(pipe)

    def write():
        time.sleep(0.2)
        with open(pipe, "w") as writer:
            writer.write(NET)

    threading.Thread(target=write).start()
    assert loader.read_source(str(pipe)) == (NET, str(pipe))


# --- exit statuses ----------------------------------------------------------------------------

@pytest.mark.parametrize("bound", ["1,5M", "2,5G"])
def test_a_decimal_comma_is_refused_naming_the_ambiguity(bound):
    outcome = invoke("check", "resnet50", "--max-params", bound)
    assert outcome.status == 2 and "ambiguous" in outcome.stderr, outcome.output


def test_a_failed_expect_under_csv_says_why_on_standard_error():
    spec = "input: [3, 32, 32]\nexpect: {params: 5}\nlayers:\n  - conv: {out: 8, kernel: 3}\n"
    outcome = invoke("summary", "-", "--format", "csv", stdin=spec)
    assert outcome.status == 1
    assert outcome.stderr == "<stdin>:2:18: error: expect: network params is 224, but the spec expects 5\n"
    assert outcome.stdout.startswith("path,kind,")


def test_validate_refuses_a_run_over_the_address_space_limit():
    pytest.importorskip("torch")
    import resource
    import subprocess

    from conftest import ROOT, cli_env

    spec = ("input: [3, 4096, 4096]\nlayers:\n  - conv: {out: 64, kernel: 3, padding: 1}\n"
            "  - conv: {out: 64, kernel: 3, padding: 1}\n")
    limit = 6 * 2**30     # enough to import PyTorch, far from the run's ~19 GiB

    def limited():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    result = subprocess.run([sys.executable, "-m", "cnncalc", "validate", "-", "--device", "cpu"],
                            input=spec, capture_output=True, text=True, env=cli_env(), cwd=ROOT,
                            timeout=300, preexec_fn=limited)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "under the address-space limit (ulimit -v)" in result.stderr


def test_a_cgroup_limit_is_read_from_the_group_and_its_parents(tmp_path):
    from cnncalc.limits import _cgroup_left

    (tmp_path / "cgroup").write_text("0::/outer/inner\n")
    for folder, limit, used in (("outer", "1000", "400"), ("outer/inner", "max", "300")):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "memory.max").write_text(limit + "\n")
        (tmp_path / folder / "memory.current").write_text(used + "\n")
    assert _cgroup_left(str(tmp_path / "cgroup"), str(tmp_path)) == (
        600, "the container's memory limit (cgroup)")
    (tmp_path / "outer" / "memory.max").write_text("max\n")
    assert _cgroup_left(str(tmp_path / "cgroup"), str(tmp_path)) is None


def test_a_factory_that_exits_is_bad_input_not_agreement(tmp_path):
    pytest.importorskip("torch")
    import subprocess

    from conftest import ROOT, cli_env

    (tmp_path / "quits.py").write_text("import sys\n\ndef build():\n    sys.exit(0)\n")
    env = dict(cli_env(), PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}")
    result = subprocess.run([sys.executable, "-m", "cnncalc", "validate", "lenet5", "--device",
                             "meta", "--against", "quits:build"], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "`quits:build` called exit(0) before anything was compared" in result.stderr


# --- output others read -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1", "-cmd", "@SUM(A1)"])
def test_csv_cells_that_would_be_formulas_are_text(name):
    import csv
    import io

    spec = f"input: [3, 32, 32]\nlayers:\n  - conv: {{out: 8, kernel: 3, name: '{name}'}}\n"
    outcome = invoke("summary", "-", "--format", "csv", stdin=spec)
    rows = list(csv.DictReader(io.StringIO(outcome.stdout)))
    assert rows[0]["name"] == "'" + name


def test_csv_numbers_stay_numbers():
    from cnncalc.output import csv_text

    assert csv_text(-3) == -3 and csv_text("3x3") == "3x3" and csv_text("-3") == "'-3"


# --- messages -----------------------------------------------------------------------------------

def test_sequential_without_its_list_has_a_position():
    message = error_at(invoke("summary", "-", stdin="input: [3, 8, 8]\nlayers:\n  - sequential\n"),
                       3, 5)
    assert message.startswith("`sequential` takes a list of layer entries")


def test_a_size_named_k_gets_another_counter():
    spec = "input: [3, k, k]\nlayers:\n  - conv: {out: 8, kernel: 2, stride: 2}\n"
    outcome = invoke("inputs", "-", "--format", "json", stdin=spec)
    assert '"formula": "2*j, j >= 1"' in outcome.stdout
    assert "k = 2·j, j ≥ 1" in invoke("inputs", "-", stdin=spec).stdout


def test_inputs_past_the_symbolic_limit_does_not_ask_for_numbers_it_has():
    spec = "input: [3, 64, 64]\nlayers:\n  - repeat: {times: 1001, layers: [relu]}\n"
    outcome = invoke("inputs", "-", stdin=spec)
    assert outcome.status == 2
    assert "give the input sizes as numbers" not in outcome.stderr
    assert "`cnncalc inputs` solves every size as a name" in outcome.stderr


@pytest.mark.parametrize("spec, line, col, index", [
    ("input: [C, 32, 32]\nlayers: [relu]\n", 1, 9, 0),
    ("layout: hwc\ninput: [H, W, C]\nlayers: [relu]\n", 2, 15, 2),
    ("input:\n  - H\nlayers: [relu]\n", 2, 5, 0),
])
def test_a_name_for_the_channels_is_refused_at_its_entry(spec, line, col, index):
    message = error_at(invoke("summary", "-", stdin=spec), line, col)
    assert message.startswith(f"`input[{index}]` is ")
    assert "['" not in message      # not a Python list


def test_a_long_value_is_quoted_short():
    spec = "input: [3, 8, 8]\nlayers:\n  - conv: {out: " + "x" * 9999 + ", kernel: 3}\n"
    outcome = invoke("summary", "-", stdin=spec)
    assert outcome.status == 2 and max(map(len, outcome.stderr.splitlines())) < 300
    assert re.search(r"'x{50,}…x+'", outcome.stderr)


@pytest.mark.parametrize("columns", ["0", "1", "7"])
def test_a_terminal_too_narrow_for_any_table_still_gets_the_report(columns):
    spec = "input: [3, 32, 32]\nexpect: {params: 5}\nlayers:\n  - conv: {out: 8, kernel: 3}\n"
    outcome = spawn("summary", "-", stdin=spec, env={"COLUMNS": columns})
    assert outcome.status == 1 and not outcome.crash
    assert "8×30×30" in outcome.stdout and "✗" in outcome.stdout     # at 0: nothing was printed


@pytest.mark.parametrize("spec, message", [
    ("input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3, expect: 5}\n",
     "`expect` can't be 5: expected a mapping"),
    ("input: [3, 8, 8]\nbudget: 5\nlayers: [relu]\n", "`budget` can't be 5: expected a mapping"),
])
def test_a_scalar_for_a_mapping_is_said_in_the_specs_words(spec, message):
    # found by tests/test_fuzz.py: "``expect`` can't be 5: expected a valid dictionary or
    # instance of LayerExpect"
    assert message in invoke("summary", "-", stdin=spec).stderr


@pytest.mark.parametrize("command", ["check", "summary", "explain"])
def test_a_file_name_that_isnt_utf8_is_written_whatever_the_encoding(tmp_path, command):
    # found by tests/test_fuzz.py: `summary $'\xff.yaml'` under a UTF-8 locale (strict
    # standard output) ended in UnicodeEncodeError
    spec = tmp_path / os.fsdecode(b"\xfd.yaml")
    spec.write_text("input: [3, 8, 8]\nexpect: {params: 5}\nlayers: [relu]\n")
    outcome = spawn(command, str(spec), env={"PYTHONIOENCODING": "utf-8"})
    assert outcome.status == 1 and not outcome.crash, outcome.output
    assert "?" in outcome.stdout


@pytest.mark.parametrize("name", ["é" * 300, "a" * 5000])
def test_a_command_name_too_long_for_a_file_name_is_an_unknown_command(name):
    # found by tests/test_fuzz.py: the command table's lookup ended in
    # "OSError: [Errno 36] File name too long"
    outcome = invoke(name, "kinds")
    assert outcome.status == 2 and not own_failure(outcome), own_failure(outcome)
    assert "No such command" in outcome.stderr
