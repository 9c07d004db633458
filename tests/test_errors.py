"""Bad input: every kind of mistake gets exit status 2, `file:line:col: error: …` on standard
error in the user's terms (with a hint where one exists), no traceback and no partial report.

Most cases run `summary` in this process through `cnncalc.cli.run` (the same code path as
the console script, without a process start each); a few run the real command in a fresh
process to prove the same holds end to end (stdin, missing files, tracebacks); and hypothesis
feeds random text and random specs to the pipeline: a report or a SpecError, nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.checks import run_checks
from cnncalc.errors import SpecError
from cnncalc.kinds import COMPOSITES, KINDS
from cnncalc.pipeline import analyze_loaded, load_text
from cnncalc.render import Format, render
from cnncalc.report import Options, build
from conftest import ROOT, cli_env, run_cli, run_here

# (id, spec text, "line:col" of the entry at fault, parts of the message, parts of the hints)
CASES = [
    ("unknown-kind", """
        input: [3, 32, 32]
        layers:
          - conv: {out: 8, kernel: 3}
          - rleu
        """, "4:5", ["unknown layer kind `rleu`"], ["did you mean `relu`?", "`cnncalc kinds`"]),
    ("unknown-kind-with-arguments", """
        input: [3, 32, 32]
        layers:
          - maxpol: 2
        """, "3:5", ["unknown layer kind `maxpol`"], ["did you mean `maxpool`?"]),
    ("unknown-argument", """
        input: [3, 32, 32]
        layers:
          - conv: {out: 8, kernal: 3}
        """, "3:20", ["`conv` has no `kernal`"],
     ["did you mean `kernel`?", "allowed: out, kernel, stride, padding"]),
    ("unknown-argument-block-style", """
        input: [3, 32, 32]
        layers:
          - conv:
              out: 8
              kernel: 3
              strides: 2
        """, "6:7", ["`conv` has no `strides`"], ["did you mean `stride`?"]),
    ("arguments-not-indented", """
        input: [3, 32, 32]
        layers:
          - conv:
            out: 8
        """, "3:5", ["`out` looks like an argument of `conv`, but isn't indented under it"],
     ["indent the arguments two spaces more than `conv:`"]),
    ("two-kinds-in-one-entry", """
        input: [3, 32, 32]
        layers:
          - {conv: {out: 8, kernel: 3}, relu: null}
        """, "3:5", ["a layer entry has exactly one kind, but this one has 2: conv, relu"],
     ["start each layer on its own line"]),
    ("option-beside-the-kind", """
        input: [3, 32, 32]
        layers:
          - conv: {out: 8, kernel: 3}
            name: first
        """, "3:5", ["`name` belongs inside the arguments of `conv`"], []),
    ("wrong-type-text-for-a-number", """
        input: [3, 32, 32]
        layers:
          - conv: {out: eight, kernel: 3}
        """, "3:17", ["`out` of `conv` can't be 'eight': expected a whole number"], []),
    ("wrong-type-fraction", """
        input: [3, 32, 32]
        layers:
          - conv: {out: 8, kernel: 3.5}
        """, "3:28", ["`kernel` of `conv` can't be 3.5: expected a whole number or a list"], []),
    ("wrong-type-bool", """
        input: [3, 32, 32]
        layers:
          - conv: {out: 8, kernel: 3, bias: maybe}
        """, "3:37", ["`bias` of `conv` can't be 'maybe': expected true or false"], []),
    ("wrong-padding-word", """
        input: [3, 32, 32]
        layers:
          - conv: {out: 8, kernel: 3, padding: full}
        """, "3:40", ["`padding` of `conv` can't be 'full'", "'same' or 'valid'"], []),
    ("zero-kernel", """
        input: [3, 32, 32]
        layers:
          - conv: {out: 8, kernel: 0}
        """, "3:28", ["`kernel` of `conv` must be at least 1, not 0"], []),
    ("huge-number", """
        input: [3, 32, 32]
        layers:
          - linear: 99999999999999999999
        """, "3:13", ["`out` of `linear` must be at most 2147483647"], []),
    ("shorthand-out-of-range", """
        input: [3, 32, 32]
        layers:
          - dropout: 2
        """, "3:14", ["`p` of `dropout` must be at most 1, not 2"], []),
    ("takes-no-arguments", """
        input: [3, 32, 32]
        layers:
          - relu: 2
        """, "3:11", ["`relu` takes no arguments, but was given 2"], ["write just `- relu`"]),
    ("bad-rounding-on-a-layer", """
        input: [3, 32, 32]
        layers:
          - relu: {rounding: ceil}
        """, "3:22", ["`rounding` can't be 'ceil': write strict or floor"], []),
    ("rounding-on-a-layer-in-the-wrong-case", """
        input: [3, 32, 32]
        layers:
          - relu: {rounding: Floor}
        """, "3:22", ["`rounding` can't be 'Floor': write strict or floor"],
     ["did you mean `floor`?"]),
    ("layout-in-the-wrong-case", """
        input: [3, 32, 32]
        layout: HWC
        layers: [relu]
        """, "2:9", ["`layout` can't be 'HWC': expected 'chw' or 'hwc'"], ["did you mean `hwc`?"]),
    ("rounding-in-the-wrong-case", """
        input: [3, 32, 32]
        rounding: Floor
        layers: [relu]
        """, "2:11", ["`rounding` can't be 'Floor'"], ["did you mean `floor`?"]),
    ("literal-argument-in-the-wrong-case", """
        input: [3, 32, 32]
        layers:
          - conv: {out: 8, kernel: 3, padding: Same}
        """, "3:40", ["`padding` of `conv` can't be 'Same'"], ["did you mean `same`?"]),
    ("true-for-a-number", """
        input: [3, 32, 32]
        layers:
          - conv: {out: 8, kernel: 3, padding: true}
        """, "3:40", ["`padding` of `conv` can't be true: expected a whole number"], []),
    ("mapping-for-a-number", """
        input: [3, 32, 32]
        layers:
          - conv: {out: {conv: {out: 3}}, kernel: 3}
        """, "3:17", ["`out` of `conv` can't be {conv: {...}}: expected a whole number"], []),
    ("long-list-for-a-number", """
        input: [3, 32, 32]
        layers:
          - linear: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]
        """, "3:13", ["`out` of `linear` can't be [...]: expected a whole number"], []),
    ("list-for-an-entry", """
        input: [3, 32, 32]
        layers:
          - [relu, conv]
        """, "3:5", ["`kind: arguments`, not [relu, conv]"], []),
    ("true-for-a-count", """
        input: [3, 32, 32]
        budget: {params: true}
        layers: [relu]
        """, "2:18", ["`budget.params`: expected a count, not true"], []),
    ("true-for-a-key", """
        input: [3, 32, 32]
        true: 1
        layers: [relu]
        """, "2:1", ["a key must be a name, not true"], []),
    ("unknown-kind-not-close-to-any", """
        input: [3, 32, 32]
        layers:
          - mybloc
        """, "3:5", ["unknown layer kind `mybloc`"],
     ["`mybloc` isn't a kind or a block: define blocks under `blocks:`"]),
    ("unknown-expect-figure", """
        input: [3, 8, 8]
        layers:
          - conv: {out: 3, kernel: 1, expect: {param: 3}}
        """, "3:40", ["`expect` has no `param`"], ["did you mean `params`?"]),
    ("missing-input", """
        layers: [relu]
        """, "1:1", ["the spec needs `input`"], []),
    ("missing-layers", """
        input: [3, 32, 32]
        """, "1:1", ["the spec needs `layers`"], []),
    ("unknown-top-level-key", """
        input: [3, 32, 32]
        layer: [relu]
        """, "2:1", ["the spec has no `layer`"], ["did you mean `layers`?"]),
    ("input-not-a-list", """
        input: 32
        layers: [relu]
        """, "1:8", ["`input` can't be 32: expected a list"], ["the shape of one sample"]),
    ("input-negative", """
        input: [3, -32, 32]
        layers: [relu]
        """, "1:12", ["`input[1]` must be at least 1, not -32"], []),
    ("input-too-many-dimensions", """
        input: [3, 32, 32, 3, 3]
        layers: [relu]
        """, "1:8", ["`input` needs at most 4 items, not 5"], ["[C, D, H, W]"]),
    ("layers-empty", """
        input: [3, 32, 32]
        layers: []
        """, "2:9", ["`layers` needs at least 1 item, not 0"], []),
    ("layers-not-a-list", """
        input: [3, 32, 32]
        layers: relu
        """, "2:9", ["`layers` can't be 'relu': expected a list"], ["a list"]),
    ("bad-layout", """
        input: [3, 32, 32]
        layout: cwh
        layers: [relu]
        """, "2:9", ["`layout` can't be 'cwh': expected 'chw' or 'hwc'"], []),
    ("bad-budget-count", """
        input: [3, 32, 32]
        layers: [relu]
        budget: {params: lots}
        """, "3:18", ["`budget.params`: 'lots' isn't a count", "15.47G"], []),
    ("bad-budget-memory", """
        input: [3, 32, 32]
        layers: [relu]
        budget: {activation_memory: 5MiBs}
        """, "3:29", ["'5MiBs' isn't a memory size", "1.5GiB"], []),
    ("not-a-mapping", """
        - relu
        """, "1:1", ["a spec is a mapping with at least `input:` and `layers:`"], []),
    ("empty", "", "1:1", ["the spec is empty"], ["`input:` and `layers:`"]),
    ("yaml-syntax-unclosed-list", """
        input: [3, 32, 32
        layers: [relu]
        """, "2:7", ["invalid YAML: expected `,` or `]`: is the `[...]` list closed?",
                     "in the `[...]` list that starts at line 1, column 8"], []),
    ("yaml-syntax-bad-indentation", """
        input: [3, 8, 8]
        layers:
          - conv: {out: 8, kernel: 3}
           - relu
        """, "4:4", ["invalid YAML: this `- ` item is indented more than the item above it: "
                     "line up the `- ` of every item in a list"], []),
    ("yaml-item-indented-deeper-becomes-text", """
        input: [3, 8, 8]
        layers:
          - relu
           - flatten
        """, "3:5", ["unknown layer kind `relu - flatten`"],
     ["`- flatten` is indented more than `- relu` above it, so YAML read it as text continuing "
      "that item: line up the `- ` of every item in a list"]),
    ("yaml-item-with-arguments-indented-deeper", """
        input: [3, 8, 8]
        layers:
          - relu
           - maxpool: 2
        """, "4:13", ["invalid YAML: this `- ` item is indented more than the item above it: "
                      "line up the `- ` of every item in a list"], []),
    ("yaml-item-deeper-after-a-blank-line", """
        input: [3, 8, 8]
        layers:
          - relu

            - flatten
        """, "3:5", ["unknown layer kind `relu - flatten`"],
     ["`- flatten` is indented more than `- relu` above it"]),
    ("yaml-nested-list-is-no-over-indentation", """
        input: [3, 8, 8]
        layers:
          - sequential:
              - conv: kernel: 3
        """, "4:21", ["invalid YAML: a `key: value` can't start here"], []),
    ("yaml-syntax-key-inside-a-list", """
        input: [3, 8, 8]
        layers:
          - relu
          name: x
        """, "4:3", ["invalid YAML: this line doesn't line up with the list it is in: start a "
                     "list item with `- `", "in the list that starts at line 3, column 3"], []),
    ("yaml-syntax-item-dedented", """
        input: [3, 8, 8]
        layers:
          - relu
         - relu
        """, "4:2", ["invalid YAML: this line doesn't line up with the keys of the mapping it "
                     "is in", "in the mapping that starts at line 1, column 1"], []),
    ("yaml-syntax-two-keys-on-a-line", """
        input: [3, 8, 8]
        layers:
          - conv: out: 3
        """, "3:14", ["invalid YAML: a `key: value` can't start here"], []),
    ("yaml-syntax-missing-colon", """
        input: [3, 8, 8]
        layers
          - relu
        """, "4:1", ["invalid YAML: expected `key: value` here: is a `:` missing?",
                     "in the `key: value` that starts at line 2, column 1"], []),
    ("yaml-syntax-unclosed-quote", """
        input: [3, 8, 8]
        name: "abc
        layers: [relu]
        """, "4:1", ["invalid YAML", "in the quoted text that starts at line 2, column 7"], []),
    ("duplicate-key", """
        input: [3, 8, 8]
        layers: [relu]
        input: [3, 9, 9]
        """, "3:1", ["duplicate key 'input'", "first written at line 1"], []),
    ("duplicate-argument", """
        input: [3, 8, 8]
        layers:
          - conv: {out: 8, kernel: 3, out: 4}
        """, "3:31", ["duplicate key 'out'"], []),
    ("yaml-python-tag", """
        input: !!python/object/apply:os.system ["echo hi"]
        layers: [relu]
        """, "1:8", ["YAML tags such as `!!python/object/apply:os.system` aren't allowed"],
     ["plain numbers"]),
    ("yaml-python-name-tag", """
        input: [3, 8, 8]
        layers:
          - !!python/name:os.system
        """, "3:5", ["`!!python/name:os.system` aren't allowed"], []),
    ("yaml-merge-key", """
        base: &base {out: 8, kernel: 3}
        input: [3, 8, 8]
        layers:
          - conv: {<<: *base, stride: 1}
        """, "4:12", ["YAML merge keys (`<<`) aren't supported"], ["use a block"]),
    ("billion-laughs", """
        a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
        input: [3, 8, 8]
        layers: [relu]
        """, None, ["the spec expands to more than 200,000 values", "aliases"], []),
    ("nesting-depth", "input: [3, 8, 8]\nlayers: " + "[" * 70 + "]" * 70 + "\n", "2:72",
     ["the spec nests deeper than 64 levels"], []),
    ("nesting-depth-huge", "input: [3, 8, 8]\nlayers: " + "[" * 200_000 + "]" * 200_000 + "\n",
     "2:72", ["the spec nests deeper than 64 levels"], []),
    ("string-too-long", "input: [3, 8, 8]\nname: " + "x" * 20_000 + "\nlayers: [relu]\n", "2:7",
     ["a value is longer than 10,000 characters"], []),
    ("repeat-past-the-limit", """
        input: [3, 8, 8]
        layers:
          - repeat: {times: 1000000, layers: [relu, relu]}
        """, "3:21", ["`repeat` 1,000,000 times expands to more than 250,000 layers"], []),
    ("repeats-nested-past-the-limit", """
        input: [3, 8, 8]
        layers:
          - repeat: {times: 1000, layers: [repeat: {times: 2000, layers: [relu]}]}
        """, "3:21", ["expands to more than 250,000 layers"], []),
    ("repeat-times-negative", """
        input: [3, 8, 8]
        layers:
          - repeat: {times: -1, layers: [relu]}
        """, "3:21", ["`times` must be a whole number from 0 to 1,000,000, not -1"], []),
    ("repeat-times-true", """
        input: [3, 32, 32]
        layers:
          - repeat: {times: true, layers: [relu]}
        """, "3:21", ["`times` must be a whole number from 0 to 1,000,000, not true"], []),
    ("repeat-without-times", """
        input: [3, 32, 32]
        layers:
          - repeat: {layers: [relu]}
        """, "3:13", ["`repeat` needs `times`: a whole number from 0 to 1,000,000"], []),
    ("repeat-unknown-key", """
        input: [3, 8, 8]
        layers:
          - repeat: {times: 3, layer: [relu]}
        """, "3:24", ["`repeat` has no `layer`"], ["did you mean `layers`?"]),
    ("block-named-like-a-composite", """
        input: [3, 8, 8]
        blocks: {concat: {layers: [conv: {out: 4, kernel: 1}, relu]}}
        layers: [concat]
        """, "2:10", ["a block can't be called `concat`: that is a built-in composite"],
     ["rename the block (e.g. `my_concat`) and its uses"]),
    ("block-named-like-a-leaf-kind", """
        input: [3, 8, 8]
        blocks:
          relu: {layers: [conv: {out: 4, kernel: 1}]}
        layers: [relu]
        """, "3:3", ["a block can't be called `relu`: that is a built-in layer kind"], []),
    ("block-cycle", """
        input: [3, 8, 8]
        blocks:
          a: {layers: [b]}
          b: {layers: [relu, a]}
        layers: [a]
        """, "4:22", ["block `a` uses itself: a → b → a", "in block `b` used at line 3, column 16",
                      "in block `a` used at line 5, column 10"], []),
    ("block-unknown-parameter", """
        input: [3, 8, 8]
        blocks:
          cbr:
            params: {out: required}
            layers: [conv: {out: $out, kernel: 3}]
        layers:
          - cbr: {outs: 3}
        """, "7:11", ["block `cbr` has no parameter `outs`"],
     ["did you mean `out`?", "parameters of `cbr`: out"]),
    ("block-missing-parameter", """
        input: [3, 8, 8]
        blocks:
          cbr:
            params: {out: required}
            layers: [conv: {out: $out, kernel: 3}]
        layers:
          - cbr
        """, "7:5", ["block `cbr` needs the parameter `out`"], ["write `cbr: {out: ...}`"]),
    ("expression-python-call", """
        input: [3, 8, 8]
        blocks:
          cbr:
            params: {out: 4}
            layers: [conv: {out: "${__import__('os').system('x')}", kernel: 3}]
        layers: [cbr]
        """, "5:26", ["only whole numbers, parameter names, + - * //, comparisons (== != < <= > "
                      ">=), min(a, b), max(a, b) and parentheses are allowed",
                      "in block `cbr` used at line 6, column 10"], []),
    ("expression-python-name", """
        input: [3, 8, 8]
        blocks:
          cbr:
            params: {out: 4}
            layers: [conv: {out: "${__import__}", kernel: 3}]
        layers: [cbr]
        """, "5:26", ["unknown parameter `__import__` in ${__import__} (parameters: out)"], []),
    ("expression-true-division", """
        input: [3, 8, 8]
        blocks:
          cbr:
            params: {out: 4}
            layers: [conv: {out: "${out / 2}", kernel: 3}]
        layers: [cbr]
        """, "5:26", ["`/` isn't allowed in ${out / 2}: use `//`"], []),
    ("expression-undeclared-name", """
        input: [3, 8, 8]
        blocks:
          cbr:
            params: {out: 4}
            layers: [conv: {out: "${out * width}", kernel: 3}]
        layers: [cbr]
        """, "5:26", ["unknown parameter `width`"], []),
    ("expression-too-long", """
        input: [3, 8, 8]
        blocks:
          cbr:
            params: {out: 4}
            layers: [conv: {out: "${%s}", kernel: 3}]
        layers: [cbr]
        """ % "+".join(["out"] * 60),  # noqa: UP031 (the YAML's braces would need doubling)
     "5:26", ["longer than 200 characters"], []),
    ("parameter-outside-a-block", """
        input: [3, 8, 8]
        layers:
          - conv: {out: $width, kernel: 3}
        """, "3:17", ["`$width` is used outside a block"], []),
    ("groups-dont-divide", """
        input: [6, 8, 8]
        layers:
          - conv: {out: 8, kernel: 3, groups: 4}
        """, "3:5", ["layer 0 (conv): `conv` has 4 groups but 6 input channels"],
     ["groups that fit: 1, 2, 3, 6"]),
    ("kernel-larger-than-input", """
        input: [3, 4, 4]
        layers:
          - conv: {out: 8, kernel: 5}
        """, "3:5", ["the filter is larger than the padded input along H: 4 + 0 padding < 5",
                     "its input is 3×4×4"], ["at least 5"]),
    ("output-below-1", """
        input: [3, 2, 2]
        layers:
          - conv_transpose: {out: 8, kernel: 1, padding: 1}
        """, "3:5", ["output along H would be 0: (H − 1)·S − 2P + D·(F − 1) + output_padding + 1 = "
                     "(2 − 1)·1 − 2·1 + 1·(1 − 1) + 0 + 1 = 0"],
     ["reduce the padding"]),
    ("batchnorm-channels-as-eps", """
        input: [64, 8, 8]
        layers:
          - batchnorm: 64
        """, "3:16", ["`eps` of `batchnorm` must be less than 1, not 64"],
     ["`batchnorm` takes its channels from its input: write `- batchnorm` alone "
      "(`batchnorm: 64` sets `eps`)"]),
    ("layernorm-channels-as-affine", """
        input: [64, 8, 8]
        layers:
          - layernorm: 64
        """, "3:16", ["`affine` of `layernorm` can't be 64: expected true or false"],
     ["`layernorm` takes its channels from its input"]),
    ("strict-stride", """
        input: [3, 7, 7]
        layers:
          - relu
          - conv: {out: 8, kernel: 3, stride: 3, name: c1}
        """, "4:5", ["layer 1 (conv, 'c1'): 7×7 input, 3×3 filter, stride 3 doesn't fit",
                     "(7 − 3 + 2·0)/3 + 1 = 2.33", "PyTorch would silently floor 2.33 to 2"],
     ["stride 1 (→ 5) or 2 (→ 3) would fit", "padding 1 (→ 3) would fit with stride 3",
      "rounding: floor"]),
    ("strict-stride-one-axis-named-by-its-letter", """
        input: [1, 7, 9]
        layers:
          - conv: {out: 1, kernel: 3, stride: 3}
        """, "3:5", ["7×9 input, 3×3 filter, stride 3 doesn't fit along H: (H − F + 2P)/S + 1 = "
                     "(7 − 3 + 2·0)/3 + 1 = 2.33"], []),
    ("strict-stride-1d-is-l", """
        input: [1, 7]
        layers:
          - conv: {out: 1, kernel: 3, stride: 3}
        """, "3:5", ["7 input, 3 filter, stride 3 doesn't fit: (L − F + 2P)/S + 1 = "
                     "(7 − 3 + 2·0)/3 + 1 = 2.33"], []),
    ("strict-stride-dilated-is-f-eff", """
        input: [1, 100]
        layers:
          - conv: {out: 1, kernel: 4, stride: 2, dilation: 2}
        """, "3:5", ["100 input, 4 filter, stride 2, dilation 2 doesn't fit: (L − F_eff + 2P)/S + 1 "
                     "= (100 − 7 + 2·0)/2 + 1 = 47.5"], []),
    ("conv-transpose-3d-spells-dilation", """
        input: [3, 8, 2, 8]
        layers:
          - conv_transpose: {out: 2, kernel: [3, 1, 3], padding: [0, 1, 0]}
        """, "3:5", ["output along H would be 0: (H − 1)·S − 2P + dilation·(F − 1) + output_padding"],
     []),
    ("strict-pool-hwc", """
        layout: hwc
        input: [9, 8, 3]
        layers:
          - maxpool: 2
        """, "4:5", ["2×2 window, stride 2 doesn't fit along H", "(9 − 2 + 2·0)/2 + 1 = 4.5",
                     "its input is 9×8×3"], ["`ceil_mode: true` on the layer to round 4.5 up to 5",
                                             "rounding: floor"]),
    ("add-shape-mismatch", """
        input: [3, 8, 8]
        layers:
          - add:
              - [conv: {out: 8, kernel: 1}]
              - []
        """, "3:5", ["`add` needs shapes that broadcast (on each axis equal, or one of them 1), "
                     "but branch 0 gives 8×8×8 and branch 1 gives 3×8×8"], ["or 1 where"]),
    # every shape in a message as the spec writes it: channels last in `layout: hwc`
    ("concat-size-mismatch-hwc", """
        layout: hwc
        input: [8, 6, 3]
        layers:
          - concat:
              - [conv: {out: 4, kernel: 3, padding: [0, 1]}]
              - []
        """, "4:5", ["branch 0 gives 6×6×4 and branch 1 gives 8×6×3", "its input is 8×6×3"],
     ["pad or pool"]),
    ("residual-mismatch-hwc", """
        layout: hwc
        input: [8, 6, 3]
        layers:
          - residual: {layers: [conv: {out: 4, kernel: 1}]}
        """, "4:5", ["the layers and the shortcut give 8×6×4 and 8×6×3", "its input is 8×6×3"],
     []),
    ("rank-error-hwc", """
        layout: hwc
        input: [8, 6, 3]
        layers:
          - instancenorm
          - adaptive_avgpool: 1
          - instancenorm
        """, "6:5", ["`instancenorm` needs more than one spatial position\n  note: its input "
                     "is 1×1×3"], ["`layernorm`"]),
    ("concat-size-mismatch", """
        input: [3, 8, 8]
        layers:
          - concat:
              - [conv: {out: 8, kernel: 3}]
              - []
        """, "3:5", ["`concat` needs branches of the same spatial size"], ["pad or pool"]),
    ("residual-mismatch", """
        input: [3, 8, 8]
        layers:
          - residual: {layers: [conv: {out: 8, kernel: 1}]}
        """, "3:5", ["`residual` needs equal shapes, but the layers and the shortcut give"],
     ["`shortcut: projection`"]),
    ("bad-shortcut", """
        input: [3, 8, 8]
        layers:
          - residual: {layers: [relu], shortcut: identiy}
        """, "3:42", ["`shortcut` can't be 'identiy'"], ["did you mean `identity`?"]),
    ("conv-after-flatten", """
        input: [3, 8, 8]
        layers:
          - flatten
          - conv: {out: 8, kernel: 1}
        """, "4:5", ["`conv` needs a [C, L], [C, H, W] or [C, D, H, W] input, not a "
                     "1-dimensional one", "its input is 192"], ["put `conv` before `flatten`"]),
    ("split-parts-dont-divide", """
        input: [10, 8, 8]
        layers:
          - split: {parts: 3, branches: [[], [], []]}
        """, "3:5", ["`split` cuts 10 channels into 3 parts, but 3 doesn't divide 10",
                     "its input is 10×8×8"], ["parts that fit: 1, 2, 5, 10", "`sizes`"]),
    ("split-sizes-dont-add-up", """
        input: [10, 8, 8]
        layers:
          - split: {sizes: [8, 8], branches: [[], []]}
        """, "3:5", ["`split`'s sizes add up to 8 + 8 = 16, but the input has 10 channels"],
     ["must add up to the input's channels"]),
    ("split-branch-count", """
        input: [10, 8, 8]
        layers:
          - split: {parts: 2, branches: [[]]}
        """, "3:33", ["`split` cuts 2 slices (parts: 2) but has 1 branch"],
     ["one branch per slice"]),
    ("split-needs-a-cut", """
        input: [10, 8, 8]
        layers:
          - split: {branches: [[]]}
        """, "3:12", ["`split` needs `sizes` (channels per slice) or `parts`"], ["{parts: 2"]),
    ("when-not-a-number", """
        input: [10, 8, 8]
        layers:
          - relu: {when: yes please}
        """, "3:18", ["`when` must be a whole number or `${…}`", "not 'yes please'"],
     ['`when: "${t != 1}"`']),
    ("when-outside-the-arguments", """
        input: [10, 8, 8]
        layers:
          - relu:
            when: 0
        """, "3:5", ["`when` belongs inside the arguments of `relu`"], []),
    ("unknown-kind-left-out-by-when", """
        input: [10, 8, 8]
        layers:
          - relu
          - relux: {when: 0}
        """, "4:5", ["unknown layer kind `relux`"], ["did you mean `relu`?"]),
    ("chained-comparison", """
        input: [3, 8, 8]
        blocks:
          b: {params: {t: 1}, layers: [conv: {out: 4, kernel: 1, when: "${0 < t < 3}"}]}
        layers: [b]
        """, "3:64", ["chained comparison in ${0 < t < 3}"], []),
    ("slice-outside-the-channels", """
        input: [8, 4, 4]
        layers:
          - conv: {out: 4, kernel: 1}
          - slice: [0, 6]
        """, "4:5", ["layer 1 (slice): `slice: [0, 6]` reaches outside the input's 4 channels",
                     "its input is 4×4×4"], ["stop up to 4, or `null` for the end"]),
    ("slice-empty", """
        input: [8, 4, 4]
        layers:
          - slice: {channels: [5, -4]}
        """, "3:5", ["`slice: [5, -4]` is empty: it starts at channel 5 and stops before channel 4"],
     ["`stop` is one past the last channel taken"]),
    ("slice-one-value", """
        input: [8, 4, 4]
        layers:
          - slice: [3]
        """, "3:12", ["`channels` of `slice`", "write two values, [start, stop]"], []),
    ("in-channels-as-a-parameter", """
        input: [8, 4, 4]
        blocks:
          se:
            params: {ratio: 4, in_channels: 16}
            layers: [conv: {out: $in_channels, kernel: 1}]
        layers: [se]
        """, "4:24", ["block `se` can't have a parameter called `in_channels`",
                      "the channels of the block's input"], ["use `$in_channels` as it is"]),
    ("when-as-a-parameter", """
        input: [8, 4, 4]
        blocks:
          b: {params: {when: 1}, layers: [relu]}
        layers: [b]
        """, "3:16", ["block `b` can't have a parameter called `when`"],
     ["rename the parameter (e.g. `b_when`)"]),
    ("kind-parameter-not-a-name", """
        input: [8, 4, 4]
        blocks:
          b:
            params: {gate: 3}
            layers: [$gate: {ratio: 2}]
        layers: [b]
        """, "5:14", ["`$gate` stands for a kind or block here, but it is 3"], ["`gate: relu`"]),
    ("in-channels-of-a-flattened-symbolic-input", """
        input: [2, H, W]
        blocks:
          head: {layers: [linear: "${in_channels // 2}"]}
        layers: [flatten, head]
        """, "4:19", ["block `head` reads `$in_channels`, but its input's channels are 2*H*W"],
     ["give the input sizes as numbers"]),
    ("error-inside-a-block", """
        input: [3, 4, 4]
        blocks:
          big: {layers: [conv: {out: 8, kernel: 5}]}
        layers:
          - big
        """, "3:18", ["layer 0.0 (conv)", "larger than the padded input",
                      "in block `big` used at line 5, column 5"], []),
]


def _nested_blocks(blocks: int, levels: int) -> str:
    """`blocks` blocks, each using the next inside `levels` nested sequentials."""
    lines = ["input: [1, 4]", "blocks:"]
    for i in range(blocks):
        inner = f"[b{i + 1}]" if i < blocks - 1 else "[relu]"
        for _ in range(levels):
            inner = f"[sequential: {inner}]"
        lines.append(f"  b{i}: {{layers: {inner}}}")
    return "\n".join(lines + ["layers: [b0]"]) + "\n"


CASES += [
    ("blocks-nested-too-deep", _nested_blocks(40, 0), "34:18",
     ["blocks are nested more than 32 deep", "note: in block `b31` used at line 33, column 18",
      "note: … 26 more", "note: in block `b0` used at line 43, column 10"], []),
    # 31 blocks × 29 levels: each block is fine, together they would overflow Python's stack
    ("graph-nested-too-deep", _nested_blocks(31, 28), "6:173",
     ["the layers nest more than 100 levels deep", "in block `b0` used at line 34, column 10"],
     []),
]


@pytest.mark.parametrize("name, text, where, message, hints", CASES, ids=[c[0] for c in CASES])
def test_bad_spec(tmp_path, monkeypatch, name, text, where, message, hints):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    result = run_here("summary", "net.yaml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""        # no partial report (a crash would have raised here)
    first, *rest = result.stderr.splitlines()
    prefix = f"net.yaml:{where}: error: " if where else "net.yaml:"
    assert first.startswith(prefix), result.stderr
    for part in message:
        assert part in result.stderr, f"{part!r} not in\n{result.stderr}"
    hint_lines = "\n".join(line for line in rest if line.startswith("  hint: "))
    for part in hints:
        assert part in hint_lines, f"{part!r} not in the hints of\n{result.stderr}"


def test_no_control_characters_in_messages(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text('input: [3, 8, 8]\nlayers: ["r\\e[2Jlu"]\n')
    result = run_here("summary", "net.yaml")
    assert result.returncode == 2
    assert result.stderr.startswith("net.yaml:2:10: error: unknown layer kind `r\N{REPLACEMENT CHARACTER}[2Jlu`")


def test_file_too_large(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "big.yaml").write_text("input: [3, 8, 8]\nlayers:\n" + "  - relu\n" * 600_000)
    result = run_here("summary", "big.yaml")
    assert result.returncode == 2
    assert result.stderr.startswith("big.yaml: error: the file is larger than 4 MiB")
    assert result.stdout == ""


def test_file_not_utf8_and_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\ninput: [1]\nlayers: [relu]\n")
    result = run_here("summary", "latin1.yaml")
    assert (result.returncode, result.stderr) == (2, "latin1.yaml: error: the file isn't UTF-8 text\n")
    result = run_here("summary", str(tmp_path))
    assert result.returncode == 2 and "is a folder, not a spec file" in result.stderr


def test_bad_option_values():
    for command in ("summary", "check"):      # one choice of dtypes, report.DTYPE_BYTES's
        result = run_here(command, "cs231n_conv", "--dtype", "float8")
        assert result.returncode == 2 and result.stdout == ""
        assert "'float8' is not one of 'float32', 'float16', 'bfloat16'" in result.stderr
        help_text = run_here(command, "--help").stdout
        assert "--dtype <float32|float16|bfloat16|int8|float64>" in help_text
    result = run_here("summary", "cs231n_conv", "--batch", "0")
    assert result.returncode == 2 and result.stdout == ""


# -- the real command, in fresh processes -----------------------------------------------------

def test_missing_file_suggests_a_bundled_spec():
    result = run_cli("summary", "resnet05")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("resnet05: error: no such file: resnet05\n")
    assert "hint: did you mean the bundled spec 'resnet50'" in result.stderr
    result = run_cli("summary", "no_such_net.yaml")
    assert result.returncode == 2 and "`cnncalc zoo` lists the bundled specs" in result.stderr


def test_standard_input_errors_are_located_in_stdin():
    result = run_cli("summary", "-", input="input: [3, 8, 8]\nlayers:\n  - rleu\n")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("<stdin>:3:5: error: unknown layer kind `rleu`")
    assert "Traceback" not in result.stderr


def test_standard_input_good_spec():
    result = run_cli("summary", "-", "--format", "json",
                     input="input: [3, 32, 32]\nlayers: [conv: {out: 10, kernel: 5, padding: 2}]\n")
    assert result.returncode == 0, result.stderr
    assert '"params": 760' in result.stdout


def test_standard_input_is_named_alike_in_reports_and_errors():
    """Errors say `<stdin>:3:5:` (above); the report's title says `<stdin>` too."""
    good = run_cli("summary", "-", input="input: [3, 8, 8]\nlayers: [relu]\n")
    assert good.returncode == 0 and good.stdout.startswith("<stdin>: input 3×8×8"), good.stdout
    assert load_text("input: [3, 8, 8]\nlayers: [relu]\n", "<stdin>").name == "<stdin>"


@pytest.mark.parametrize("text, where", [
    ("input: [3, 8, 8]\nlayers:\n\t- relu\n", "3:1"),
    ("input: [3, 8, 8]\nlayers:\n  - conv:\n  \t  out: 3\n", "4:3"),
])
def test_tab_indentation(tmp_path, monkeypatch, text, where):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text(text, encoding="utf-8")
    result = run_here("summary", "net.yaml")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"net.yaml:{where}: error: invalid YAML: tabs aren't allowed for "
                             "indentation in YAML; use spaces\n")


def test_no_traceback_in_a_real_process(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [3, 7, 7]\nlayers:\n  - conv: {out: 8, kernel: 3, stride: 3}\n")
    result = run_cli("summary", spec, "--format", "json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{spec}:3:5: error: layer 0 (conv): 7×7 input")
    assert "Traceback" not in result.stderr



@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
@pytest.mark.parametrize("args", [("summary", "vgg16"), ("summary", "vgg16", "-f", "json"),
                                  ("zoo",), ("conv", "7x7x3", "--filters", "2", "--kernel", "3"),
                                  ("validate", "cs231n_conv", "--device", "cpu"),
                                  ("--help",), ("--version",), ("validate", "--help")])
def test_output_that_cannot_be_written_is_an_error_not_a_traceback(args):
    # validate: with PyTorch loaded the exit skips the teardown, after a flush that fails too
    with open("/dev/full", "w") as full:      # every write fails: "No space left on device"
        result = subprocess.run([sys.executable, "-m", "cnncalc", *args], stdout=full,
                                stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=ROOT,
                                timeout=120)
    assert result.returncode == 1
    assert result.stderr == "error: cannot write the output: No space left on device\n"



@pytest.mark.parametrize("redirect, message", [
    ("0>/dev/null", "can't read standard input: Bad file descriptor"),   # opened write-only
    ("<&-", "there is no standard input to read")])                      # closed
def test_unreadable_standard_input_is_bad_input(redirect, message):
    result = subprocess.run(["sh", "-c", f"{sys.executable} -m cnncalc summary - {redirect}"],
                            capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=120)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"<stdin>: error: {message}\n"

# -- whatever the input: a report or a SpecError, never another exception ----------------------

def _summary(text: str) -> None:
    try:
        loaded = load_text(text, "fuzz.yaml")
        analysis = analyze_loaded(loaded)
        report = build(analysis, loaded.name, Options())
        render(report, Format.json, checks=run_checks(analysis, Options(), loaded.raw))
    except SpecError as exc:
        assert exc.format().startswith("fuzz.yaml")


@settings(max_examples=150)
@given(st.text(alphabet=list("[]{}:,-&*!|>#'\" \n\tinputlayersconvout0123456789.$%{}"),
               max_size=120))
def test_random_text_never_crashes(text):
    _summary(text)


_NAMES = [*KINDS, *COMPOSITES, "out", "kernel", "stride", "padding", "times", "layers",
          "shortcut", "groups", "same", "identity", "projection", "auto", "$w", "${w*2}"]
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 40) | st.floats(-2, 40) | st.sampled_from(_NAMES)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(_NAMES), inner,
                                                                max_size=3),
    max_leaves=12)


@settings(max_examples=150)
@given(st.lists(st.integers(-1, 12), min_size=0, max_size=5) | _VALUES,
       st.lists(st.dictionaries(st.sampled_from(_NAMES), _VALUES, min_size=1, max_size=2)
                | st.sampled_from(_NAMES), max_size=5),
       st.sampled_from(["strict", "floor"]))
def test_random_specs_never_crash(shape, layers, rounding):
    blocks = {"w": {"params": {"w": 2}, "layers": [{"conv": {"out": "$w", "kernel": 1}}]}}
    _summary(json.dumps({"input": shape, "rounding": rounding, "blocks": blocks,
                         "layers": layers}))
