"""Regenerate the README's catalogue and reference tables from the code.

Run ``python scripts/update_readme.py`` after adding a check or a reference;
``tests/test_readme.py`` fails while the README is out of date.
"""

import pathlib
import re
import sys

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def catalogue_table():
    from conformance.catalogue import all_checks

    rows = ["| id | family | tier | contract |", "|---|---|---|---|"]
    for check in all_checks("full"):
        scope = "" if check.kinds == ("layer", "model") else f" ({check.kinds[0]}s only)"
        rows.append(f"| `{check.id}` | {check.family} | {check.tier} | {check.contract}{scope} |")
    return "\n".join(rows)


def references_table():
    import reference_models

    rows = ["| name | kind | styles | seed | what |", "|---|---|---|---|---|"]
    for ref in reference_models.all_references():
        rows.append(
            f"| `{ref.name}` | {ref.kind} | {', '.join(ref.styles)} | `{ref.seed[:3]}` | {ref.description} |"
        )
    return "\n".join(rows)


def render(text):
    for marker, table in (("catalogue", catalogue_table()), ("references", references_table())):
        text = re.sub(
            rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)",
            lambda m: m.group(1) + table + "\n" + m.group(2),
            text,
            flags=re.DOTALL,
        )
    return text


def main():
    current = README.read_text(encoding="utf-8")
    updated = render(current)
    if updated != current:
        README.write_text(updated, encoding="utf-8")
        print("README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
