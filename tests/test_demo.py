"""The README's demo command runs the whole spine on a machine with nothing but Python."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import free_port


def test_the_demo_on_the_embedded_broker_shows_a_press_and_a_silent_hub_then_stops_cleanly(
) -> None:
    """`telecare demo` lists the pendant press and, within its first minute, the silent hub."""
    env = {**os.environ, "TELECARE_HTTP_ADDR": f"127.0.0.1:{free_port()}",
           "TELECARE_BROKER_URL": f"mqtt://127.0.0.1:{free_port()}"}
    done = subprocess.run(
        [sys.executable, "-m", "telecare", "demo", "--embedded-broker", "--seconds", "58"],
        env=env, capture_output=True, text=True, timeout=150,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "embedded broker" in out
    press = [line for line in out.splitlines() if "pendant_press" in line and "P1" in line]
    silent = [line for line in out.splitlines() if "hub_silent" in line and "P4" in line]
    assert press, out[-3000:]
    assert silent, out[-3000:]
    assert "Traceback" not in done.stderr
