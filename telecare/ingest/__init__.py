"""MQTT consumption, payload validation, dedup and acknowledgement."""
