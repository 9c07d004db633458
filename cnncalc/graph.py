"""The expanded network: blocks, repeats and composites resolved into a tree of nodes, each with
a stable dotted path (`7.0.layers.3`) that every report and the PyTorch cross-check use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnncalc.errors import Pos

Key = tuple[str, str]     # (path, "in" | "out"): a value a reference names

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

    References (`id`, `from`, `like`) are keys `(path, port)`: the output (`"out"`) or the input
    (`"in"`) of the node at `path` (`("", "in")` is the network's input). Paths, not node objects,
    so that the copies of a `repeat` or of a block's use refer to their own nodes (`renamed`
    moves the keys inside the copy with it).
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
    id: str | None = None           # `id: NAME`
    src: Key | None = None          # `from: NAME`: where the input comes from (None: as usual)
    refs: tuple[Key, ...] = ()      # other values read: a `{from: [...]}`'s, upsample's `like`
    # the root: the network's outputs as written (None without references: the last entry's)
    outputs: list[tuple[str, Key]] | None = None
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
        if self.src is not None:
            clone.src = moved(self.src, old_prefix, new_prefix)
        if self.refs:
            clone.refs = tuple(moved(key, old_prefix, new_prefix) for key in self.refs)
        clone.children = [c.renamed(old_prefix, new_prefix) for c in self.children]
        return clone

    def walk(self):
        """This node and every node below it, depth first, in execution order."""
        yield self
        for child in self.children:
            yield from child.walk()


def child_path(parent: str, part) -> str:
    return f"{parent}.{part}" if parent else str(part)


def moved(key: Key, old_prefix: str, new_prefix: str) -> Key:
    """A reference inside a copy refers to the copy's node; one outside it stays."""
    path, port = key
    if path == old_prefix or path.startswith(old_prefix + "."):
        return (new_prefix + path[len(old_prefix):], port)
    return key


def out_key(node: Node) -> Key:
    return (node.path, "out")


def in_key(node: Node) -> Key:
    return (node.path, "in")


def dataflow(root: Node) -> dict[Key, list[Key]]:
    """Which values each value is computed from: a node's output from what its kind reads
    (`reads`), a node's input from its `from`, or else from the previous entry of its list (or
    the list's input: a composite says whether its children run in a chain or each on its
    input)."""
    edges: dict[Key, list[Key]] = {(root.path, "in"): []}
    stack = [root]
    while stack:            # iterative: a 250,000-node graph, once per spec with references
        node = stack.pop()
        if node.leaf:
            edges[(node.path, "out")] = [(node.path, "in"), *node.refs]
            continue
        edges[(node.path, "out")] = node.impl.reads(node)
        chained = node.composite.chained
        previous = (node.path, "in")
        for child in node.children:
            edges[(child.path, "in")] = [child.src if child.src is not None else previous]
            if chained:
                previous = (child.path, "out")
        stack.extend(node.children)
    del edges[(root.path, "out")]     # the network's outputs are what `outputs` names
    return edges


def reachable(edges: dict[Key, list[Key]], starts: list[Key]) -> set[Key]:
    """The values `starts` are computed from, themselves included (`edges` as `dataflow`)."""
    live: set[Key] = set()
    todo = list(starts)
    while todo:
        key = todo.pop()
        if key not in live:
            live.add(key)
            todo.extend(edges.get(key, ()))
    return live


def unused(root: Node, outputs: list[Key]) -> list[Node]:
    """The entries no output depends on, the last of each unused chain only (an entry that an
    unused entry reads is reported once that one is fixed), in execution order."""
    edges = dataflow(root)
    live = reachable(edges, outputs)
    if len(live) == len(edges):
        return []           # every value is used: the common case
    read = {key for deps in edges.values() for key in deps}
    return [node for node in root.walk() if node is not root
            and (node.path, "out") not in live and (node.path, "out") not in read]
