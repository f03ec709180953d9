"""Postal addresses written the way the destination country's post writes them, ending with the country's
name (CLDR, in the shop's locale), never its code.

The layouts are those of Google's address metadata (libaddressinput, the data behind Chrome's and
Android's address forms) for the countries a shop most often ships to; any other country gets a layout
that keeps every part on a line of its own, so nothing is lost. Placeholders: %N name, %O organisation,
%A street lines, %C city, %S region, %Z postal code, %n a new line (%A always stands on lines of its own).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from emporium.core.places import country_name

_DEFAULT = "%N%n%O%n%A%n%C%n%S%n%Z"
LAYOUTS: dict[str, str] = {
    "US": "%N%n%O%n%A%n%C, %S %Z",
    "CA": "%N%n%O%n%A%n%C %S %Z",
    "AU": "%O%n%N%n%A%n%C %S %Z",
    "NZ": "%N%n%O%n%A%n%C %Z",
    "GB": "%N%n%O%n%A%n%C%n%Z",
    "IE": "%N%n%O%n%A%n%C%n%S%n%Z",
    "IN": "%N%n%O%n%A%n%C %Z%n%S",
    "DE": "%N%n%O%n%A%n%Z %C",
    "AT": "%O%n%N%n%A%n%Z %C",
    "CH": "%O%n%N%n%A%n%Z %C",
    "FR": "%O%n%N%n%A%n%Z %C",
    "BE": "%O%n%N%n%A%n%Z %C",
    "NL": "%O%n%N%n%A%n%Z %C",
    "DK": "%N%n%O%n%A%n%Z %C",
    "NO": "%N%n%O%n%A%n%Z %C",
    "SE": "%O%n%N%n%A%n%Z %C",
    "FI": "%O%n%N%n%A%n%Z %C",
    "PL": "%N%n%O%n%A%n%Z %C",
    "PT": "%N%n%O%n%A%n%Z %C",
    "IT": "%N%n%O%n%A%n%Z %C %S",
    "ES": "%N%n%O%n%A%n%Z %C %S",
    "BR": "%O%n%N%n%A%n%C-%S%n%Z",
    "MX": "%N%n%O%n%A%n%Z %C, %S",
    "JP": "%N%n%O%n%A%n%C, %S%n%Z",
    "SG": "%N%n%O%n%A%n%C %Z",
    "AE": "%N%n%O%n%A%n%S",
}
_FIELDS = {"N": "full_name", "O": "company", "C": "city", "S": "region", "Z": "postal_code"}
_PLACEHOLDER = re.compile(r"%([NOCSZ])")


def address_lines(address: Mapping[str, object], locale: str) -> list[str]:
    """The address as the lines of an envelope, the country's name last; empty parts leave no gap and no
    stray comma."""
    country = str(address.get("country") or "").upper()

    def value(key: str) -> str:
        return str(address.get(key) or "").strip()

    lines = []
    for template in LAYOUTS.get(country, _DEFAULT).split("%n"):
        if template == "%A":
            lines += [value(key) for key in ("line1", "line2") if value(key)]
            continue
        line = _PLACEHOLDER.sub(lambda found: value(_FIELDS[found.group(1)]), template)
        # A missing part must not leave its separator behind ("Arlington,  22202", "-SP").
        line = re.sub(r"\s+", " ", line).strip(" ,-")
        line = re.sub(r" ,", ",", line)
        if line:
            lines.append(line)
    if country:
        lines.append(country_name(country, locale))
    return lines
