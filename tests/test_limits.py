"""Untrusted specs get bounded work: inputs that once hung or crashed the tool."""

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, cli_env

HUGE = [
    # a strict-rounding failure whose fit suggestions once searched every stride up to the kernel
    "input: [1, 2000000001]\nlayers:\n  - conv: {out: 1, kernel: 20000000, stride: 3}\n",
    "input: [1, 2147483647]\nlayers:\n  - maxpool: {kernel: 3, dilation: 1000000000, stride: 7}\n",
    # more layers than the limit, from a few bytes
    "input: [3, 8, 8]\nlayers:\n  - repeat: {times: 490000, layers: [relu]}\n",
]


@pytest.mark.parametrize("spec", HUGE, ids=["conv-kernel", "dilated-pool", "repeat"])
def test_pathological_specs_are_answered_quickly(spec):
    # A generous timeout: the test fails on a hang, it doesn't time the command.
    result = subprocess.run([sys.executable, "-m", "cnncalc", "check", "-"], input=spec,
                            capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=30)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "error:" in output and "Traceback" not in output


def test_fit_suggestions_on_huge_sizes_still_suggest_the_nearest_fits():
    from cnncalc.dims import fit_suggestions

    hints = fit_suggestions(2_000_000_001, 20_000_000, 0, 3)
    assert hints[0] == "stride 1 (→ 1980000002) or 7 (→ 282857144) would fit"
    assert hints[1] == "padding 1 (→ 660000002) or 4 (→ 660000004) would fit with stride 3"


def test_a_device_file_is_read_with_a_bound(cli):
    result = cli("summary", "/dev/zero")
    assert result.returncode == 2
    assert "larger than 4 MiB" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_arguments_are_rejected(cli, value):
    spec = f"input: [3, 8, 8]\nlayers:\n  - leaky_relu: {{slope: {value}}}\n"
    result = cli("summary", "-", "--format", "json", input=spec)
    assert result.returncode == 2 and result.stdout == ""
    assert "finite number" in result.stderr


def test_symbolic_analysis_is_refused_past_its_layer_limit(cli):
    from cnncalc.analyze import MAX_SYMBOLIC_LAYERS

    spec = (f"input: [3, H, W]\nlayers:\n"
            f"  - repeat: {{times: {MAX_SYMBOLIC_LAYERS + 1}, layers: [relu]}}\n")
    result = cli("summary", "-", input=spec)
    assert result.returncode == 2
    assert f"symbolic sizes are analysed for at most {MAX_SYMBOLIC_LAYERS:,}" in result.stderr
    numeric = cli("summary", "-", "--input", "3x8x8", "--format", "json", input=spec)
    assert numeric.returncode == 0, numeric.stderr


def test_symbolic_totals_of_a_deep_network_substitute_to_the_numeric_ones():
    from cnncalc.pipeline import analyze_loaded, load_text

    spec = ("input: [3, H, W]\nrounding: floor\nlayers:\n"
            "  - repeat: {times: 30, layers: [conv: {out: 3, kernel: 3, stride: 2, padding: 1}]}\n")
    symbolic = analyze_loaded(load_text(spec))
    numeric = analyze_loaded(load_text(spec.replace("[3, H, W]", "[3, 1000, 999]")))
    for figure in ("macs", "params", "activations"):
        total = symbolic.total(figure)
        if not isinstance(total, int):
            total = total.subs({s: {"H": 1000, "W": 999}[s.name] for s in total.free_symbols})
        assert total == numeric.total(figure), figure


def test_a_scalar_for_a_block_without_parameters_is_a_clear_error(cli):
    spec = "input: [3, 8, 8]\nblocks:\n  plain: {layers: [relu]}\nlayers:\n  - plain: 5\n"
    result = cli("summary", "-", input=spec)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "block `plain` takes no parameters, but was given 5" in result.stderr


def test_standard_input_that_isnt_utf8_is_a_clear_error():
    result = subprocess.run([sys.executable, "-m", "cnncalc", "summary", "-"],
                            input=b'name: "\xff"\ninput: [3, 8, 8]\nlayers: [relu]\n',
                            capture_output=True, env=cli_env(), cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert b"standard input isn't UTF-8 text" in result.stderr and b"Traceback" not in result.stderr


def test_a_file_name_too_long_for_the_file_system_is_a_clear_error(cli):
    result = cli("summary", "a" * 300 + ".yaml")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "can't read the file" in result.stderr


def _brute_force_pads(size, kernel_eff, pad, stride, pooling):
    """Every padding in the window fit_suggestions considers, tried one by one."""
    max_pad = kernel_eff // 2 if pooling else max(kernel_eff, pad + 2)
    reach = 2 * stride + 2
    pads = [p for p in range(max(0, pad - reach), min(max_pad, pad + reach) + 1)
            if p != pad and size + 2 * p >= kernel_eff and (size + 2 * p - kernel_eff) % stride == 0]
    pads.sort(key=lambda p: (abs(p - pad), p))
    return tuple(sorted(pads[:2]))


@given(size=st.integers(1, 200), kernel_eff=st.integers(1, 200), pad=st.integers(0, 60),
       stride=st.integers(1, 40), pooling=st.booleans())
@settings(max_examples=400)
def test_fitting_paddings_are_computed_as_trying_each_would_find_them(size, kernel_eff, pad,
                                                                        stride, pooling):
    from cnncalc.dims import fit_suggestions

    hints = [h for h in fit_suggestions(size, kernel_eff, pad, stride, pooling=pooling)
             if h.key == "padding"]
    assert (hints[0].options if hints else ()) == _brute_force_pads(size, kernel_eff, pad, stride,
                                                                    pooling)


@pytest.mark.parametrize("spec", [
    "input: [1, 200000001]\nlayers:\n  - maxpool: {kernel: 100000000}\n",
    "input: [1, 2147483647]\nlayers:\n  - conv: {out: 1, kernel: 3, stride: 2000000000, dilation: 1000000}\n",
])
def test_rounding_hints_take_no_time_whatever_the_sizes(spec):
    import time

    from cnncalc.errors import SpecError
    from cnncalc.pipeline import analyze_loaded, load_text

    started = time.perf_counter()
    with pytest.raises(SpecError) as caught:
        analyze_loaded(load_text(spec, "x.yaml"))
    assert time.perf_counter() - started < 1.0
    assert "doesn't fit" in caught.value.message


def _doubling_blocks(depth: int) -> str:
    """`depth` blocks that each use the next twice: 3·2^(depth-1) - 1 layers from a few lines."""
    lines = ["input: [3, 8, 8]", "blocks:"]
    lines += [f"  b{i}: {{layers: [b{i + 1}, b{i + 1}]}}" for i in range(depth - 1)]
    return "\n".join([*lines, f"  b{depth - 1}: {{layers: [relu]}}", "layers: [b0]", ""])


def test_blocks_that_double_past_the_limit_are_refused_quickly():
    # A generous timeout: the test fails when the limit is met only after building it whole.
    result = subprocess.run([sys.executable, "-m", "cnncalc", "check", "-"],
                            input=_doubling_blocks(30), capture_output=True, text=True,
                            env=cli_env(), cwd=ROOT, timeout=20)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "expands to more than 250,000 layers" in output and "Traceback" not in output


def test_a_block_used_again_is_the_same_layers_with_its_own_path_and_options():
    from cnncalc.expand import MAX_NODES
    from cnncalc.pipeline import load_text

    spec = ("input: [4, 8, 8]\nblocks:\n"
            "  unit:\n    params: {width: 4}\n"
            "    layers: [conv: {out: $width, kernel: 3, padding: 1, name: inner}, relu]\n"
            "layers:\n  - unit: {name: first}\n  - unit\n  - unit: {width: 8}\n  - unit: 4\n")
    root = load_text(spec).root
    uses = root.children
    assert [u.name for u in uses] == ["first", None, None, None]
    assert [[n.path for n in u.walk()] for u in uses] == [
        [f"{i}", f"{i}.0", f"{i}.1"] for i in range(4)]
    assert [u.children[0].args.out for u in uses] == [4, 4, 8, 4]
    assert [u.pos.line for u in uses] == [7, 8, 9, 10]
    # each use has its own arguments objects (the analysis computes each object once)
    assert len({id(u.children[0].args) for u in uses}) == 4
    # a doubling that fits is built whole, every layer at its own path
    fits = load_text(_doubling_blocks(10)).root
    paths = [n.path for n in fits.walk() if n.leaf]
    assert len(paths) == len(set(paths)) == 2 ** 9 and 3 * 2 ** 9 < MAX_NODES


def test_blocks_that_double_are_refused_after_building_a_few_layers(monkeypatch):
    from cnncalc import expand
    from cnncalc.errors import SpecError
    from cnncalc.pipeline import load_text

    built = []
    new = expand._Expander.new
    monkeypatch.setattr(expand._Expander, "new",
                        lambda self, *a, **k: built.append(1) or new(self, *a, **k))
    with pytest.raises(SpecError, match="expands to more than 250,000 layers"):
        load_text(_doubling_blocks(30))
    assert len(built) < 100       # one use of each block is built; the others are counted


@pytest.mark.parametrize("rounding", ["floor", "strict"])
def test_a_size_divided_past_what_pytorch_can_hold_is_refused_at_its_layer(cli, rounding):
    # 330 stride-2 convs once took sympy seconds per hundred layers on divisors of 2^330
    spec = (f"input: [3, H, W]\nrounding: {rounding}\nlayers:\n"
            "  - repeat: {times: 330, layers: [conv: {out: 3, kernel: 3, stride: 2, padding: 1}]}\n")
    result = subprocess.run([sys.executable, "-m", "cnncalc", "summary", "-"], input=spec,
                            capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=20)
    assert result.returncode == 2, result.stderr
    # the 64th conv divides by 2^64; the 63rd's 2^63 is still worked with
    assert "layer 0.63.0 (conv)" in result.stderr
    assert f"divided by {2 ** 64:,}: more than 2^63" in result.stderr
    assert "Traceback" not in result.stderr
    if rounding == "floor":     # (strict, no numbers fit 330 halvings)
        numeric = cli("summary", "-", "--input", "3x64x64", "--format", "json", input=spec)
        assert numeric.returncode == 0, numeric.stderr
    fits = cli("summary", "-", "--format", "json", input=spec.replace("330", "63"))
    assert fits.returncode == 0, fits.stderr


def test_validate_refuses_more_layers_than_pytorch_runs_in_its_time():
    pytest.importorskip("torch")
    from cnncalc.commands.validate import MAX_VALIDATE_LAYERS

    spec = (f"input: [3, 8, 8]\nlayers:\n"
            f"  - repeat: {{times: {MAX_VALIDATE_LAYERS // 2 + 1}, layers: [relu, relu]}}\n")
    result = subprocess.run([sys.executable, "-m", "cnncalc", "validate", "-", "--device", "meta"],
                            input=spec, capture_output=True, text=True, env=cli_env(), cwd=ROOT,
                            timeout=20)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert (f"the network has {MAX_VALIDATE_LAYERS + 2:,} layers: `validate` runs at most "
            f"{MAX_VALIDATE_LAYERS:,}") in output and "Traceback" not in output
