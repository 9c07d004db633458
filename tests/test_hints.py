"""Hints that name the fix a newcomer is looking for (cnncalc/hints.py and where it is used)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cnncalc.dims import unseen_text
from cnncalc.hints import fitting_inputs
from conftest import run_cli


def fits(size: int, window: int, pad: int, stride: int) -> bool:
    span = size + 2 * pad - window
    return span >= 0 and span % stride == 0


@given(st.integers(1, 300), st.integers(1, 12), st.integers(0, 5), st.integers(1, 8))
def test_fitting_inputs_are_the_nearest_that_fit(size, window, pad, stride):
    below, above = fitting_inputs(size, window, pad, stride)
    if fits(size, window, pad, stride):
        assert below == above == size
        return
    assert above > size and fits(above, window, pad, stride)
    assert not any(fits(n, window, pad, stride) for n in range(size + 1, above))
    if below is None:
        assert not any(fits(n, window, pad, stride) for n in range(1, size))
    else:
        assert below < size and fits(below, window, pad, stride)
        assert not any(fits(n, window, pad, stride) for n in range(below + 1, size))


@given(st.integers(1, 7), st.integers(0, 6))
def test_unseen_text_says_whether_input_is_lost(unseen, pad):
    text = unseen_text(unseen, ("H", "W"), after=pad)
    if unseen <= pad:
        assert text.startswith("only the last") and "zero padding" in text and "no input is lost" in text
    else:
        lost = unseen - pad
        assert text.startswith(f"the last {lost} rows and columns of the input" if lost > 1
                               else "the last row and column of the input")
        assert ("padding after them" in text) == (pad > 0)


def test_alexnets_stride_on_224_says_227_would_fit():
    result = run_cli("conv", "224x224x3", "--filters", "96", "--kernel", "11", "--stride", "4")
    assert result.returncode == 2
    assert "hint: an input of 227x227x3 (or 223x223x3) would fit" in result.stderr
    assert "the last row and column of the input would never be seen" in result.stderr


def test_flooring_only_zero_padding_says_so():
    result = run_cli("conv", "32x32x3", "--filters", "8", "--kernel", "3", "--stride", "2", "--padding", "1")
    assert result.returncode == 2
    assert ("PyTorch would silently floor 16.5 to 16: only the last row and column of zero "
            "padding would never be seen (no input is lost)") in result.stderr


def test_an_hwc_looking_input_read_channels_first_suggests_layout_hwc(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [227, 227, 3]\nlayers:\n  - conv: {out: 96, kernel: 11, stride: 4}\n")
    result = run_cli("check", spec)
    assert result.returncode == 2
    assert "the filter is larger than the padded input" in result.stdout
    assert "write `layout: hwc`" in result.stdout
    fixed = spec.read_text().replace("input:", "layout: hwc\ninput:")
    spec.write_text(fixed)
    assert run_cli("check", spec).returncode == 0


def test_an_expected_shape_in_another_order_says_so(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [3, 32, 32]\nlayers:\n  - conv: {out: 10, kernel: 5, padding: 2, "
                    "expect: {shape: [32, 32, 10]}}\nexpect: {output: [10, 32, 33]}\n")
    result = run_cli("check", spec)
    assert result.returncode == 1
    assert result.stdout.count("the same sizes in another order") == 1     # not [10, 32, 33]
    summary = run_cli("summary", spec)
    assert "layer 0 (conv): the same sizes in another order" in " ".join(summary.stdout.split())


def test_a_strict_error_in_a_generated_projection_points_at_the_residual(tmp_path):
    spec = tmp_path / "net.yaml"
    text = ("input: [3, 32, 32]\nlayers:\n  - residual:\n      layers:\n"
            "        - conv: {out: 8, kernel: 3, stride: 2, padding: 1, rounding: floor}\n"
            "      shortcut: auto\n")
    spec.write_text(text)
    result = run_cli("check", spec)
    assert result.returncode == 2
    assert "the projection that `shortcut: auto` generates for the `residual` entry at line 3" in result.stdout
    assert "`residual` entry's arguments" in result.stdout
    assert "on the layer" not in result.stdout and "stride 1 (→ 32)" not in result.stdout
    # the hint works: rounding among the residual's arguments
    spec.write_text(text + "      rounding: floor\n")
    assert run_cli("check", spec).returncode == 0


def test_a_linear_straight_after_a_spatial_layer_gets_a_note():
    forgot = "input: [3, 8, 8]\nlayers:\n  - conv: {out: 16, kernel: 3}\n  - relu\n  - linear: 10\n"
    result = run_cli("summary", "-", input=forgot)
    assert result.returncode == 0
    assert ("<stdin>:5:5: note: layer 2 (linear) follows a conv and acts on W alone (6 values)"
            in result.stderr)
    assert "put `flatten` before it" in result.stderr
    keras = "input: [20, 3]\nlayout: hwc\nlayers:\n  - conv: {out: 16, kernel: 3}\n  - linear: 10\n"
    assert ("acts on the channels (16 values) separately at each position, as Keras's Dense "
            "does in hwc" in run_cli("explain", "-", input=keras).stderr)
    fine = forgot.replace("  - relu\n", "  - flatten\n")
    assert "note:" not in run_cli("summary", "-", input=fine).stderr
    for name in ("lenet5", "alexnet", "resnet18", "ecg1d"):
        assert "note:" not in run_cli("summary", name).stderr, name


def test_input_fit_hint_words():
    from cnncalc.hints import input_fit_hint

    assert input_fit_hint([224, 224], [11, 11], [0, 0], [4, 4]) == "an input of 227×227 (or 223×223) would fit"
    assert (input_fit_hint([26], [3], [0], [2], network_input=False)
            == "an input of 27 to this layer (or 25) would fit")
    assert input_fit_hint([2], [5], [0], [1]) == "an input of 5 would fit"


def test_a_spec_files_first_layer_names_the_inputs_that_fit():
    first = run_cli("summary", "-", input="input: [3, 224, 224]\nlayers:\n"
                                          "  - conv: {out: 96, kernel: 11, stride: 4}\n")
    assert first.returncode == 2
    assert "hint: input `[3, 227, 227]` (or `[3, 223, 223]`) would fit" in first.stderr
    # the floor note of a file is dims.unseen_text's, worded as the floor layer's working
    assert "54: the last row and column of the input would never be seen" in first.stderr
    deeper = run_cli("summary", "-", input="input: [32, 32, 3]\nlayout: hwc\nlayers:\n"
                                           "  - conv: {out: 8, kernel: 3, padding: 1}\n"
                                           "  - conv: {out: 8, kernel: 3, stride: 2, padding: 1}\n")
    assert deeper.returncode == 2
    # its input isn't the spec's: the whole network's accepted sizes (`cnncalc inputs`) say
    # which spec inputs fit, the next above and below (32 + 2 − 3 = 31 wants an odd size)
    assert "hint: input `[33, 33, 3]` (or `[31, 31, 3]`) would fit" in deeper.stderr
    one_line = run_cli("conv", "224x224x3", "--filters", "96", "--kernel", "11", "--stride", "4")
    assert one_line.stderr.count("would fit") == 2   # stride, and the input: once each


def test_a_deeper_strict_layer_names_the_network_inputs_that_fit():
    """Issue 16: a strict error past the first layer says which spec inputs the whole network
    accepts (the solver of `cnncalc inputs`), in the spec's layout; where the solver refuses
    (a period beyond its limit) it says nothing rather than guess."""
    deeper = run_cli("summary", "-", input="input: [3, 224, 224]\nlayers:\n"
                                           "  - conv: {out: 8, kernel: 3, padding: 1}\n  - relu\n"
                                           "  - conv: {out: 96, kernel: 11, stride: 4}\n")
    assert deeper.returncode == 2 and "layer 2 (conv)" in deeper.stderr
    assert "hint: input `[3, 227, 227]` (or `[3, 223, 223]`) would fit" in deeper.stderr
    hints = [line.strip() for line in deeper.stderr.splitlines() if "hint:" in line]
    assert hints.index("hint: input `[3, 227, 227]` (or `[3, 223, 223]`) would fit") < len(hints) - 1
    assert hints[-1].startswith("hint: or ")          # the "or …" hints stay last
    for fits in ("227", "223"):
        ok = run_cli("summary", "-", input=f"input: [3, {fits}, {fits}]\nlayers:\n"
                                            "  - conv: {out: 8, kernel: 3, padding: 1}\n  - relu\n"
                                            "  - conv: {out: 96, kernel: 11, stride: 4}\n")
        assert ok.returncode == 0, ok.stderr
    # 17 stride-2 layers: sizes repeat every 2^17, beyond the solver's limit; 65537 halves to 2
    # over 16 of them, and the 17th (deeper) layer doesn't fit
    long = run_cli("summary", "-", input="input: [1, 65537]\nlayers:\n"
                                         + "  - conv: {out: 1, kernel: 1, stride: 2}\n" * 17)
    assert long.returncode == 2 and "layer 16 (conv)" in long.stderr, long.stderr
    assert "input `[" not in long.stderr
    # sizes that repeat every 2^16 (within the limit): the nearest are found from the closed
    # form, however far, and both run
    far = "input: [1, {}]\nlayers:\n" + "  - conv: {{out: 1, kernel: 1, stride: 2}}\n" * 15 \
        + "  - conv: {{out: 1, kernel: 2, stride: 2}}\n"
    refused = run_cli("summary", "-", input=far.format(65537))
    assert "hint: input `[1, 98305]` (or `[1, 32769]`) would fit" in refused.stderr, refused.stderr
    for fits in (98305, 32769):
        assert run_cli("summary", "-", input=far.format(fits)).returncode == 0


def test_nearest_accepted_sizes_match_a_search():
    from cnncalc.hints import nearest
    from cnncalc.inputs import accepted_inputs
    from cnncalc.pipeline import load_text

    for layers in ("[{conv: {out: 1, kernel: 11, stride: 4}}, {conv: {out: 1, kernel: 3, stride: 3}}]",
                   "[{conv: {out: 1, kernel: 3, stride: 2, padding: 1}}, {maxpool: 2}]"):
        loaded = load_text(f"input: [1, 40]\nlayers: {layers}\n", "s.yaml")
        fits = accepted_inputs(loaded)["L"]
        for size in range(1, 120):
            up = next(x for x in range(size + 1, 1000) if x in fits)
            down = next((x for x in range(size - 1, 0, -1) if x in fits), None)
            assert nearest(fits, size) == (up, down), size
