"""The importer's JSON encoder and SQL literals (no database needed)."""

from __future__ import annotations

import json
import random

from mailer.engine.imports import importer
from mailer.lib import dbutil


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randrange(-(10**20), 10**20)
    if kind == 3:
        return rng.choice([0.0, -0.0, 1e-300, 1.5e300, rng.uniform(-1e6, 1e6)])
    if kind in (4, 5):
        alphabet = "ab'\"\\/\n\t\x00\x1f\x7f é李🎉\u2028%"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
    if kind in (6, 7):
        return {
            str(_random_value(rng, 3)): _random_value(rng, depth + 1)
            for _ in range(rng.randrange(5))
        }
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(5))]


def test_attribute_encoder_gives_json_dumps_output_exactly():
    rng = random.Random(3)
    encode = importer.json_encode
    for _ in range(5000):
        value = {"a": _random_value(rng), "b": _random_value(rng)}
        assert encode(value) == json.dumps(value, ensure_ascii=False)
    assert encode({}) == "{}"


def test_mysql_literals():
    lit = dbutil.mysql_literal
    assert lit(None) == "NULL"
    assert lit("plain é 🎉 %s") == "'plain é 🎉 %s'"
    assert lit("O'Brien") == "'O''Brien'"
    # A backslash or NUL means different things with and without NO_BACKSLASH_ESCAPES: hex.
    assert lit("a\\b") == "_utf8mb4 X'615c62'"
    assert lit("a\x00'") == "_utf8mb4 X'610027'"
    assert (lit(7), lit(True), lit(False), lit(2.5)) == ("7", "1", "0", "2.5")
