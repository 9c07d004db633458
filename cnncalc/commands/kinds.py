"""`cnncalc kinds`: every layer kind of the spec language with its arguments."""

from __future__ import annotations

from cnncalc.cli import command


@command("kinds", help="List every layer kind, its arguments (with defaults) and the PyTorch module.")
def kinds() -> int:
    from cnncalc.kinds import COMPOSITE_KINDS, KINDS

    for kind in KINDS.values():
        args = []
        for name, info in kind.args.model_fields.items():
            args.append(name if info.is_required() else f"{name}={info.default!r}")
        print(f"{kind.name:<18} {', '.join(args) or '-':<60} {kind.torch}")
    print()
    print("composites: " + ", ".join(COMPOSITE_KINDS) + " (see the spec language)")
    return 0
