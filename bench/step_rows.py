"""The rows the throughput scripts add to a step-time table (``--step-times CSV``) that ``lossnet estimate`` reads.

One row per (device, rule, loss network): seconds per unit of work in the unit the estimate's cost model counts
(``Mpx``: megapixels of training images through the step), the mean over the layers measured. Rows of the same
device, rule and network are replaced; others are kept. Training steps only: a job's validation, evaluation and
start-up are not in these rows (the estimate adds the device's ``startup`` row per job).
"""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

from lossnet._util import atomic_output

COLUMNS = ("device", "kind", "arch", "seconds", "unit", "source", "measured")


def write_rows(path: str | Path, device: str, kind: str, seconds: dict[str, list[float]], unit: str,
               source: str) -> None:
    """Replace ``device``'s rows of rule ``kind`` in ``path`` with one per network of ``seconds`` (``pixel``: the
    rule's ``<kind>_pixel`` row), each the mean of its list, measured today by ``source``."""
    path = Path(path)
    rows = []
    if path.is_file():
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    new = []
    for arch, values in seconds.items():
        if not values:
            continue
        rule, name = (f"{kind}_pixel", "-") if arch == "pixel" else (kind, arch)
        new.append({"device": device, "kind": rule, "arch": name, "seconds": f"{sum(values) / len(values):.6g}",
                    "unit": unit, "source": f"{source}, {datetime.date.today()}", "measured": "yes"})
    replaced = {(row["device"], row["kind"], row["arch"]) for row in new}
    rows = [row for row in rows if (row["device"], row["kind"], row["arch"]) not in replaced] + new
    with atomic_output(path) as partial, open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
