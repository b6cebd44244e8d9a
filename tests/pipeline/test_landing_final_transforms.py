"""landing_transforms and final_transforms on tiny DataFrames."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import final_transforms
import landing_transforms

INGESTED = dt.datetime(2025, 1, 25, 21, 32, tzinfo=dt.timezone.utc)


def test_normalise_column_names(spark):
    df = spark.createDataFrame([("1", "2", "3", "4")], ["\ufeffrecord_id", " state_code ", "County Code", "Payment Amount ($)"])
    assert landing_transforms.normalise_column_names(df).columns == ["record_id", "state_code", "county_code", "payment_amount"]


def test_colliding_column_names_are_an_error(spark):
    df = spark.createDataFrame([("1", "2")], ["State Code", "state_code"])
    with pytest.raises(ValueError, match="collide.*state_code"):
        landing_transforms.normalise_column_names(df)


def test_unusable_column_name_is_an_error(spark):
    df = spark.createDataFrame([("1", "2")], ["record_id", "($)"])
    with pytest.raises(ValueError, match=r"'\(\$\)'"):
        landing_transforms.normalise_column_names(df)


def test_to_landing_keeps_values_as_read_and_adds_lineage(spark):
    raw = spark.createDataFrame([(" P1 ", "ia"), (None, "")], "` Record_ID ` string, state_code string")
    landed = landing_transforms.to_landing(raw, "RID", "s3://b/incoming/x.csv", INGESTED)
    assert landed.dtypes == [
        ("record_id", "string"), ("state_code", "string"),
        ("run_id", "string"), ("source_file", "string"), ("ingested_at", "timestamp"),
    ]
    rows = [r.asDict() for r in landed.collect()]
    assert [(r["record_id"], r["state_code"]) for r in rows] == [(" P1 ", "ia"), (None, "")]
    assert {(r["run_id"], r["source_file"], r["ingested_at"]) for r in rows} == {("RID", "s3://b/incoming/x.csv", dt.datetime(2025, 1, 25, 21, 32))}


def test_lineage_needs_an_aware_timestamp(spark):
    raw = spark.createDataFrame([("P1",)], "record_id string")
    with pytest.raises(ValueError, match="timezone-aware"):
        landing_transforms.add_lineage(raw, "RID", "f", dt.datetime(2025, 1, 1))


def test_aggregate_payments(spark):
    rows = [
        ("IA", "PLC", 2024, "R1", "2024-01-15", "100.10"),
        ("IA", "PLC", 2024, "R1", "2024-03-01", "50.00"),
        ("IA", "PLC", 2024, "R2", "2024-02-01", "0.00"),
        ("IA", "PLC", 2023, "R1", "2023-05-05", "7.00"),
        ("NE", "PLC", 2024, "R3", "2024-01-01", "1.00"),
        ("IA", "ARC-CO", 2024, "R1", "2024-01-01", "2.00"),
    ]
    clean = spark.createDataFrame(
        [(s, p, fy, r, dt.date.fromisoformat(d), Decimal(a), "s3://b/x.csv") for s, p, fy, r, d, a in rows],
        "state_code string, program_code string, fiscal_year int, recipient_id string, payment_date date, "
        "payment_amount decimal(14,2), source_file string",
    )
    out = final_transforms.aggregate_payments(clean)
    assert out.columns[-1] == "fiscal_year"  # partition column last
    assert dict(out.dtypes)["total_amount"] == "decimal(24,2)"
    got = {(r["state_code"], r["program_code"], r["fiscal_year"]): r.asDict() for r in out.collect()}
    assert set(got) == {("IA", "PLC", 2024), ("IA", "PLC", 2023), ("NE", "PLC", 2024), ("IA", "ARC-CO", 2024)}
    ia = got[("IA", "PLC", 2024)]
    assert (ia["payment_count"], ia["total_amount"], ia["recipient_count"]) == (3, Decimal("150.10"), 2)
    assert (ia["first_payment_date"], ia["last_payment_date"]) == (dt.date(2024, 1, 15), dt.date(2024, 3, 1))
    assert ia["source_file"] == "s3://b/x.csv"
    assert got[("IA", "PLC", 2023)]["total_amount"] == Decimal("7.00")
