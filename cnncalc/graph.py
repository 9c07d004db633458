"""The expanded network: blocks, repeats and composites resolved into a tree of nodes, each with
a stable dotted path (`7.0.layers.3`) that every report and the PyTorch cross-check use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnncalc.errors import Pos

if TYPE_CHECKING:
    from cnncalc.kinds import Args, Composite, LeafKind
    from cnncalc.spec import LayerExpect


@dataclass(slots=True)
class Node:
    """One entry of the network.

    impl: the kind object that owns every rule of this node (cnncalc.kinds): a leaf kind, a
    composite kind, or `BLOCK` for a block's use. `kind` is the name reports show: the kind's
    name, or the block's. Leaves have `args`; composites have `children`: the layers of a
    sequential, repeat iteration or block use, the branches of concat/add (each a `sequential`),
    or `[layers, shortcut]` of a residual.
    """

    path: str
    impl: LeafKind | Composite
    pos: Pos | None
    rounding: str
    args: Args | None = None
    children: list[Node] = field(default_factory=list)
    name: str | None = None
    expect: LayerExpect | None = None
    shortcut: str | None = None     # residual: identity | projection | auto | None (explicit)
    block: str | None = None        # the block this node was written in, for messages
    kind: str = ""
    removed: tuple = ()             # why each entry its `when` left out was left out (text)
    leaf: bool = field(default=False, init=False)   # impl.leaf, kept for the hot loops

    def __post_init__(self) -> None:
        if not self.kind:
            self.kind = self.impl.name
        self.leaf = self.impl.leaf

    # `impl` typed as what it is, for a node already known to be a leaf or a composite
    @property
    def leaf_kind(self) -> LeafKind:
        return self.impl  # type: ignore[return-value]

    @property
    def composite(self) -> Composite:
        return self.impl  # type: ignore[return-value]

    def renamed(self, old_prefix: str, new_prefix: str) -> Node:
        """A copy whose path (and its children's) starts with new_prefix instead of old_prefix.
        A plain copy of the slots: `dataclasses.replace` (which re-runs `__init__`) took most
        of the time of unrolling a 100,000-layer `repeat`."""
        clone = Node.__new__(Node)
        for name in Node.__slots__:
            setattr(clone, name, getattr(self, name))
        clone.path = new_prefix + self.path[len(old_prefix):]
        clone.children = [c.renamed(old_prefix, new_prefix) for c in self.children]
        return clone

    def walk(self):
        """This node and every node below it, depth first, in execution order."""
        yield self
        for child in self.children:
            yield from child.walk()


def child_path(parent: str, part) -> str:
    return f"{parent}.{part}" if parent else str(part)
