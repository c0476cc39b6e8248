"""The Chinese catalog is complete and safe: a string without a translation, or a translation that drops or
renames a placeholder, fails here (make translations-update merges new strings into the catalog)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "capa" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%%")


@pytest.fixture(scope="module")
def catalog():
    with CATALOG.open("rb") as handle:
        return read_po(handle)


def extracted_strings() -> set[str]:
    """Every translatable string of the code and the templates, as make translations-extract finds them."""
    method_map = [("capa/**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _name, _line, message, _comments, _context in extract_from_dir(
        ROOT,
        method_map=method_map,
        keywords={"_": None, "_l": None, "lazy_gettext": None, "gettext": None, "ngettext": (1, 2)},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_translatable_string_has_a_chinese_translation(catalog):
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and _has_translation(m)}
    missing = sorted(extracted_strings() - translated)
    assert missing == [], "run make translations-update and translate: " + "; ".join(missing[:20])


def _has_translation(message) -> bool:
    strings = [message.string] if isinstance(message.string, str) else list(message.string)
    return all(strings) and "fuzzy" not in message.flags


def test_every_translation_keeps_the_placeholders_of_its_original(catalog):
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        originals = [message.id] if isinstance(message.id, str) else list(message.id)
        translations = [message.string] if isinstance(message.string, str) else list(message.string)
        expected = sorted(PLACEHOLDER.findall(originals[-1]))
        for translation in translations:
            if translation and sorted(PLACEHOLDER.findall(translation)) != expected:
                wrong.append(f"{originals[0]!r} -> {translation!r}")
    assert wrong == []


def test_the_catalog_compiles(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "compile",
            "-i",
            str(CATALOG),
            "-o",
            str(tmp_path / "m.mo"),
            "-l",
            "zh_Hans_CN",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
