"""CreateNewId Lambda: run ids and the run's S3 layout (no AWS calls)."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from fpac_test_support import FakeContext, load_handler

create = load_handler("CreateNewId")
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
T0 = datetime(2025, 1, 25, 21, 32, 0, 123000, tzinfo=timezone.utc)


def test_uuid7_layout():
    unix_ms = 0x0194A1B2C3D4
    value = create.uuid7(unix_ms, bytes(range(10)))
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == unix_ms  # the first 48 bits are the timestamp
    assert str(value).startswith("0194a1b2-c3d4-7")


def test_uuid7_rejects_out_of_range_time():
    with pytest.raises(ValueError, match="out of range"):
        create.uuid7(1 << 48)


def test_run_id_format_and_date_prefix():
    run_id = create.new_run_id(T0)
    assert RUN_ID.match(run_id), run_id
    assert run_id.startswith("20250125T213200Z-")
    assert uuid.UUID(run_id[17:]).int >> 80 == int(T0.timestamp() * 1000)


def test_run_ids_sort_by_creation_time_and_are_unique():
    times = [T0 + timedelta(milliseconds=ms) for ms in (0, 1, 2, 999, 1000, 60_000, 86_400_000)]
    ids = [create.new_run_id(t) for t in times]
    assert sorted(ids) == ids
    # Within one millisecond the ids still differ (random bits).
    same_ms = {create.new_run_id(T0) for _ in range(500)}
    assert len(same_ms) == 500


def test_run_id_needs_an_aware_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        create.new_run_id(datetime(2025, 1, 1))


def test_plan_run_layout():
    settings = create.settings_from_env({"DATA_BUCKET": "fpac-dev-data"})
    run = create.plan_run("RID", "fpac-dev-data", "incoming/pay ments.csv", settings, T0)
    assert run["run_id"] == "RID"
    assert run["run_date"] == "2025-01-25"
    assert run["paths"] == {
        "source": "s3://fpac-dev-data/incoming/pay ments.csv",
        "landing": "s3://fpac-dev-data/landing",
        "clean": "s3://fpac-dev-data/clean",
        "quarantine": "s3://fpac-dev-data/quarantine",
        "final": "s3://fpac-dev-data/final",
    }
    assert run["outputs"]["clean"] == "s3://fpac-dev-data/clean/run_id=RID/"
    assert run["metrics"] == {
        "landing": "s3://fpac-dev-data/metrics/run_id=RID/landing.json",
        "cleaning": "s3://fpac-dev-data/metrics/run_id=RID/cleaning.json",
        "final": "s3://fpac-dev-data/metrics/run_id=RID/final.json",
    }
    assert run["source"] == {"bucket": "fpac-dev-data", "key": "incoming/pay ments.csv", "path": run["paths"]["source"]}


def test_prefixes_from_environment():
    env = {"DATA_BUCKET": "b-1", "LANDING_PREFIX": "/zones/raw/", "METRICS_PREFIX": "ops/metrics"}
    run = create.plan_run("R", "src", "k.csv", create.settings_from_env(env), T0)
    assert run["paths"]["landing"] == "s3://b-1/zones/raw"
    assert run["metrics"]["final"] == "s3://b-1/ops/metrics/run_id=R/final.json"


@pytest.mark.parametrize(
    "env, variable",
    [
        ({}, "DATA_BUCKET"),
        ({"DATA_BUCKET": "Not_A_Bucket"}, "DATA_BUCKET"),
        ({"DATA_BUCKET": "ok-bucket", "CLEAN_PREFIX": "a//b"}, "CLEAN_PREFIX"),
        ({"DATA_BUCKET": "ok-bucket", "FINAL_PREFIX": "has space"}, "FINAL_PREFIX"),
    ],
)
def test_bad_settings_name_the_variable(env, variable):
    with pytest.raises(ValueError, match=variable):
        create.settings_from_env(env)


def test_handler_returns_the_run_and_logs_one_line(monkeypatch, capsys):
    monkeypatch.setenv("DATA_BUCKET", "fpac-test-data")
    run = create.handler({"bucket": "fpac-test-in", "key": "incoming/a.csv"}, FakeContext())
    assert RUN_ID.match(run["run_id"])
    assert run["paths"]["source"] == "s3://fpac-test-in/incoming/a.csv"
    assert run["metrics"]["landing"].endswith(f"/run_id={run['run_id']}/landing.json")
    json.dumps(run)  # the state machine needs plain JSON
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [entry["run_id"] for entry in logged] == [run["run_id"]]


@pytest.mark.parametrize("event", [None, {}, {"bucket": "b"}, {"bucket": " ", "key": "k"}, {"bucket": "b", "key": ""}])
def test_handler_rejects_a_bad_event(monkeypatch, event):
    monkeypatch.setenv("DATA_BUCKET", "fpac-test-data")
    with pytest.raises(ValueError, match="CreateNewId"):
        create.handler(event, FakeContext())
