"""The published JSON Schema matches the decoder, and example payloads validate."""

import json
from pathlib import Path

import telecare
from telecare.protocol import event_json_schema, shard_of, topic_for


def test_the_packaged_json_schema_is_the_one_the_decoder_enforces() -> None:
    """Regenerate with `telecare schema > telecare/schema/event-v1.schema.json`."""
    path = Path(telecare.__file__).parent / "schema" / "event-v1.schema.json"
    assert json.loads(path.read_text()) == event_json_schema()


def test_topics_carry_the_sha256_shard_of_the_hub() -> None:
    """The shard is the first two hex characters of sha256(hub_id)."""
    assert shard_of("H-kasteren-a") == "8f"  # sha256 = 8f...; fixed so the contract cannot drift
    assert topic_for("H-1", "alarm") == f"telecare/v1/{shard_of('H-1')}/H-1/alarm"
