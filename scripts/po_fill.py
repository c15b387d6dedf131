"""Fill Vietnamese translations into a .po file from a JSON map {msgid: msgstr}.

Usage: .venv/bin/python scripts/po_fill.py translations.json [locale/vi/LC_MESSAGES/django.po]
Entries already translated are kept; filled entries lose their fuzzy flag."""

import json
import sys
from pathlib import Path

import polib


def main() -> None:
    mapping = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    path = sys.argv[2] if len(sys.argv) > 2 else "locale/vi/LC_MESSAGES/django.po"
    po = polib.pofile(path)
    filled = 0
    for entry in po:
        if entry.msgid in mapping and (not entry.msgstr or "fuzzy" in entry.flags):
            entry.msgstr = mapping[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
            filled += 1
    po.save(path)
    missing = [e.msgid for e in po.untranslated_entries()]
    print(f"filled {filled}; {len(missing)} still untranslated in {path}")


if __name__ == "__main__":
    main()
