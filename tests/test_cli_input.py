"""Installers' bad input gets a clear error and writes nothing (CLI against a real store file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from telecare.config import ConfigError, load_settings
from telecare.store import SqliteStore


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "TELECARE_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run([sys.executable, "-m", "telecare", *args], env=full_env,
                          capture_output=True, text=True, timeout=60)


def test_a_device_import_with_one_bad_row_names_it_and_registers_nothing(tmp_path: Path) -> None:
    """All rows are checked before any is written."""
    csv = tmp_path / "estate.csv"
    csv.write_text("hub_id,device_id,type,location\nH-1,pendant-1,pendant,\n"
                   "H-2,pir-1,teleporter,hall\nH bad,pir-1,motion,hall\n")
    done = run(tmp_path, "device", "import", str(csv))
    assert done.returncode == 2
    assert "line 3" in done.stderr and "teleporter" in done.stderr and "line 4" in done.stderr
    store = SqliteStore.open(tmp_path / "data" / "telecare.db")
    assert store.hubs() == []
    store.close()


def test_a_good_import_registers_hubs_and_devices_in_bulk(tmp_path: Path) -> None:
    """New hubs get the default heartbeat and time zone."""
    csv = tmp_path / "estate.csv"
    csv.write_text("hub_id,device_id,type,location\nH-1,pendant-1,pendant,\nH-1,pir-1,motion,hall\n"
                   "H-2,door-1,door,front\n")
    done = run(tmp_path, "device", "import", str(csv))
    assert done.returncode == 0, done.stderr
    assert "imported 3 devices (2 new hubs)" in done.stdout
    store = SqliteStore.open(tmp_path / "data" / "telecare.db")
    assert [(h.hub_id, h.heartbeat_s, h.tz) for h in store.hubs()] == [
        ("H-1", 60, "Europe/London"), ("H-2", 60, "Europe/London")]
    assert [d.location for d in store.devices("H-2")] == ["front"]
    store.close()


def test_registering_on_an_unknown_hub_or_with_a_bad_zone_is_refused(tmp_path: Path) -> None:
    """Clear errors, exit code 2."""
    done = run(tmp_path, "device", "add", "H-9", "pir-1", "--type", "motion")
    assert done.returncode == 2 and "hub H-9 is not registered" in done.stderr
    done = run(tmp_path, "hub", "add", "H-9", "--tz", "Mars/Olympus")
    assert done.returncode == 2 and "unknown time zone" in done.stderr
    done = run(tmp_path, "hub", "reset-seq", "H-404")
    assert done.returncode == 2 and "not registered" in done.stderr


def test_reset_seq_is_audited(tmp_path: Path) -> None:
    """Who reset a hub's counter, and when, is on record."""
    assert run(tmp_path, "hub", "add", "H-1").returncode == 0
    assert run(tmp_path, "hub", "reset-seq", "H-1", "--by", "installer-3").returncode == 0
    store = SqliteStore.open(tmp_path / "data" / "telecare.db")
    actions = [(actor, action) for _, actor, action, _, _ in store.audit_log()]
    store.close()
    assert ("installer-3", "hub.reset_seq") in actions


def test_the_config_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    """TOML first, TELECARE_* over it; an unknown key is an error, not a silent default."""
    conf = tmp_path / "telecare.toml"
    conf.write_text('broker_url = "mqtt://broker:1884"\nhttp_addr = "0.0.0.0:9000"\n')
    settings = load_settings({"TELECARE_CONFIG": str(conf), "TELECARE_HTTP_ADDR": "127.0.0.1:9"})
    assert settings.broker_url == "mqtt://broker:1884" and settings.http_addr == "127.0.0.1:9"
    conf.write_text('brokr_url = "x"\n')
    with pytest.raises(ConfigError, match="brokr_url"):
        load_settings({"TELECARE_CONFIG": str(conf)})


def test_an_installer_sets_not_back_from_the_command_line_and_a_bad_value_writes_nothing(
        tmp_path: Path) -> None:
    """`telecare hub configure --not-back-h` reaches the hub's stored rules; a negative time
    is refused with a clear error and leaves them as they were."""
    assert run(tmp_path, "hub", "add", "H-1").returncode == 0
    bad = run(tmp_path, "hub", "configure", "H-1", "--not-back-h", "-2")
    assert bad.returncode != 0 and "not back" in bad.stderr
    done = run(tmp_path, "hub", "configure", "H-1", "--not-back-h", "10")
    assert done.returncode == 0, done.stderr
    assert "not back after 10 h" in done.stdout
    store = SqliteStore.open(tmp_path / "data" / "telecare.db")
    assert '"not_back_h":10.0' in store.hub_settings()["H-1"]
    store.close()
