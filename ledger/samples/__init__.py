"""The bundled Ghwayran sample: the founding case, as JSON Lines records."""

from pathlib import Path

GHWAYRAN = Path(__file__).with_name("ghwayran.jsonl")
"""Five Arabic articles on the January 2022 attack on Ghwayran prison, as records."""
