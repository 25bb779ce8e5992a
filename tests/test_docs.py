"""The README documents every setting, and the docs it links exist."""

import re
from pathlib import Path

from services.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [
        f"ADUAN_{name.upper()}"
        for name in Settings.model_fields
        if f"`ADUAN_{name.upper()}`" not in readme
    ]
    assert missing == []


def test_linked_docs_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#:]+)\)", readme)
    assert "docs/architecture.md" in links
    assert [link for link in links if not (ROOT / link).exists()] == []
