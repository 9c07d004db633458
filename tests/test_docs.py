"""The repository's copy of the spec language is the team's contract, word for word."""

from pathlib import Path

import pytest

from conftest import ROOT

CONTRACT = ROOT.parent / "shared" / "spec-language.md"


@pytest.mark.skipif(not CONTRACT.is_file(), reason="no ../shared beside this checkout")
def test_docs_copy_of_the_spec_language_is_current():
    copy = ROOT / "docs" / "spec-language.md"
    assert copy.read_text(encoding="utf-8") == CONTRACT.read_text(encoding="utf-8"), (
        "docs/spec-language.md differs from ../shared/spec-language.md: copy it again")


def test_readme_links_resolve():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/spec-language.md" in readme
    assert Path(ROOT / "docs" / "spec-language.md").is_file()
