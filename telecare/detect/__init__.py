"""Streaming detection in event time: pure computation, no I/O, no wall clock."""

from telecare.detect.decisions import Cancel, Clear, Decision, Raise
from telecare.detect.engine import Engine

__all__ = ["Cancel", "Clear", "Decision", "Engine", "Raise"]
