"""`cnncalc schema`: the JSON Schema of the spec language, for editors."""

from __future__ import annotations

import sys

HELP = ("Print the JSON Schema of the spec language (generated from cnncalc's "
        "models). Editors pick it up from a first line such as `# yaml-language-server: "
        "$schema=../schema/cnncalc-spec.schema.json`; the repository keeps a copy in schema/.")


def schema() -> int:
    from cnncalc.schema import schema_text

    sys.stdout.write(schema_text())
    return 0
