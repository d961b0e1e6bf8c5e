"""Build proxy/detectors/data/public_names.txt from its public sources (see
proxy/detectors/public_names.py for what they are and their licences).

    python bench/build_public_names.py PANTHEON.csv ARTISTS.txt

PANTHEON.csv: Pantheon 1.0's person table (a `name` column), e.g. as published on Harvard
Dataverse (doi:10.7910/DVN/28201); ARTISTS.txt: clip_interrogator/data/artists.txt from the
clip-interrogator 0.6.0 wheel on PyPI. Names of one word are left out, mononyms too
("Adele", "Voltaire"): a private person is as likely to be called that, and one word is all a
prompt needs to name them.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from proxy.detectors.public_names import DATA, normal_name  # noqa: E402


def main() -> None:
    pantheon, artists = Path(sys.argv[1]), Path(sys.argv[2])
    with pantheon.open(encoding="utf-8") as f:
        people = [row["name"] for row in csv.DictReader(f)]
    painters = [line.strip() for line in artists.read_text(encoding="utf-8").splitlines()]
    keep = {name for n in people + painters if " " in (name := normal_name(n))}
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text("".join(f"{n}\n" for n in sorted(keep)), encoding="utf-8")
    print(f"{len(keep)} names written to {DATA.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
