"""Friendly generated run names such as "bold-heron-347"."""

from __future__ import annotations

import random

ADJECTIVES: tuple[str, ...] = (
    "agile", "amber", "ample", "azure", "blithe", "bold", "brave", "breezy", "bright", "brisk",
    "calm", "candid", "cheery", "clever", "cosy", "crisp", "curious", "dapper", "deft", "eager",
    "earnest", "easy", "fair", "fleet", "fresh", "gentle", "glad", "golden", "grand", "hardy",
    "honest", "humble", "jolly", "keen", "kind", "lively", "lucid", "lucky", "mellow", "merry",
    "mighty", "modest", "neat", "nimble", "noble", "patient", "placid", "plucky", "polite", "quick",
    "quiet", "radiant", "serene", "silver", "steady", "sunny", "swift", "tidy", "vivid", "warm",
    "wise", "witty",
)  # fmt: skip

NOUNS: tuple[str, ...] = (
    "acorn", "alder", "badger", "beacon", "birch", "bison", "brook", "canyon", "cedar", "comet",
    "coral", "crane", "creek", "delta", "dune", "eagle", "ember", "falcon", "fern", "finch",
    "fjord", "forest", "fox", "glacier", "grove", "harbor", "hare", "hawk", "heron", "hill",
    "island", "kestrel", "lagoon", "lark", "maple", "meadow", "mesa", "moose", "moss", "otter",
    "owl", "panda", "pebble", "pine", "plover", "prairie", "quail", "raven", "reef", "ridge",
    "river", "robin", "sparrow", "spruce", "summit", "swan", "thrush", "tundra", "valley", "willow",
    "wren", "yak",
)  # fmt: skip

_SYSTEM_RANDOM = random.Random()


def generate_run_name(rng: random.Random | None = None) -> str:
    """Return a name of the form adjective-noun-NNN, for example "bold-heron-347".

    The name only needs to be memorable, not unguessable, so an ordinary pseudo-random
    generator is used; pass a seeded `rng` for reproducible names.

    Args:
        rng: The random generator to draw from; a process-wide one when omitted.
    """
    source = rng if rng is not None else _SYSTEM_RANDOM
    adjective = source.choice(ADJECTIVES)
    noun = source.choice(NOUNS)
    number = source.randrange(1000)
    return f"{adjective}-{noun}-{number:03d}"
