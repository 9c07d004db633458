"""The spine of cnncalc: every kind of the spec language, one object each.

`KINDS` holds the leaf kinds (cnncalc.kinds.base says what each owns), `COMPOSITES` the
composite kinds (cnncalc.kinds.composite). The expander, the analysis, `explain`, the PyTorch
builder, `--against`, the schema, `cnncalc kinds` and the tests iterate over these two tables;
a node of the graph refers to its kind object (`node.impl`), so no stage compares kind names.

Adding a kind is one class in one of these modules (or a new one imported below), with one
worked example: see "Adding a layer kind" in the README.
"""

# The order of these imports is the order kinds register in, and so the order of
# `cnncalc kinds`, the docs and the schema.
# ruff: noqa: I001
from cnncalc.kinds.base import KINDS, SPATIAL, Args, LeafKind, NoArgs, leaf_kind, per_axis, spatial
from cnncalc.kinds.conv import ConvArgs, ConvTransposeArgs, conv_geometry, conv_transpose_geometry
from cnncalc.kinds.pool import AdaptivePoolArgs, AvgPoolArgs, MaxPoolArgs, pool_geometry
from cnncalc.kinds.linear import LinearArgs
from cnncalc.kinds.norm import BatchNormArgs, GroupNormArgs, InstanceNormArgs, LayerNormArgs, LRNArgs
from cnncalc.kinds.activation import EluArgs, LeakyReluArgs, PReluArgs
from cnncalc.kinds.other import (ChannelShuffleArgs, DropoutArgs, DropPathArgs, ScaleArgs, SliceArgs,
                                 UpsampleArgs, ZeroPadArgs, upsample_scales)
from cnncalc.kinds.composite import BLOCK, COMPOSITES, SEQUENTIAL, Composite, Entry

# Names a block may not take: a block called `concat` would be a second meaning of `concat`.
BUILTIN_NAMES = frozenset((*KINDS, *COMPOSITES))

__all__ = [
    "KINDS", "COMPOSITES", "BUILTIN_NAMES", "BLOCK", "SEQUENTIAL", "SPATIAL", "Args", "NoArgs",
    "LeafKind", "Composite", "Entry", "leaf_kind", "per_axis", "spatial", "conv_geometry",
    "conv_transpose_geometry", "pool_geometry", "upsample_scales", "ConvArgs",
    "ConvTransposeArgs", "AdaptivePoolArgs", "AvgPoolArgs", "MaxPoolArgs", "LinearArgs",
    "BatchNormArgs", "GroupNormArgs", "InstanceNormArgs", "LayerNormArgs", "LRNArgs", "EluArgs",
    "LeakyReluArgs", "PReluArgs", "ChannelShuffleArgs", "DropoutArgs", "DropPathArgs",
    "ScaleArgs", "SliceArgs", "UpsampleArgs", "ZeroPadArgs",
]
