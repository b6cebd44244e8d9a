"""cleaning_transforms on tiny DataFrames: one test per kind of dirt."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

import cleaning_transforms as C
import fpac_schema as S

GOOD = {
    "record_id": "P1",
    "state_code": "IA",
    "county_code": "153",
    "program_code": "PLC",
    "fiscal_year": "2024",
    "payment_date": "2024-01-15",
    "payment_amount": "100.00",
    "recipient_id": "R1",
}


def landing_df(spark, *overrides, extra=None):
    """A landing-like DataFrame (all strings) with one row per override dict applied to GOOD."""
    rows = [{**GOOD, **o} for o in overrides]
    columns = list(S.REQUIRED_COLUMNS) + list(extra or ())
    schema = ", ".join(f"{c} string" for c in columns)
    return spark.createDataFrame([tuple(r.get(c) for c in columns) for r in rows], schema)


def by_id(df):
    return {row["record_id"]: row.asDict() for row in df.collect()}


def test_select_business_columns_drops_extra_and_keeps_lineage(spark):
    df = landing_df(spark, {}, extra=("batch_ref", "source_file", "run_id"))
    assert C.extra_columns(df) == ["batch_ref"]
    assert C.select_business_columns(df).columns == [*S.REQUIRED_COLUMNS, "source_file", "run_id"]


def test_select_business_columns_names_missing_columns(spark):
    df = spark.createDataFrame([("P1", "IA")], "record_id string, state_code string")
    with pytest.raises(ValueError, match="county_code"):
        C.select_business_columns(df)


def test_trim_values_and_blank_to_null(spark):
    df = landing_df(spark, {"record_id": "  P1 ", "state_code": "   ", "recipient_id": "\tR1\u00a0"})
    row = C.trim_values(df).collect()[0]
    assert (row["record_id"], row["state_code"], row["recipient_id"]) == ("P1", None, "R1")


def test_normalise_codes(spark):
    df = landing_df(
        spark,
        {"record_id": "p1", "state_code": "ia", "county_code": "5", "program_code": "arc co", "recipient_id": "r1"},
        {"record_id": "P2", "county_code": "55", "program_code": "ARC_co"},
        {"record_id": "P3", "county_code": "ABC", "program_code": "arc--CO"},
    )
    rows = by_id(C.normalise_codes(df))
    assert rows["P1"]["state_code"] == "IA"
    assert rows["P1"]["county_code"] == "005"
    assert rows["P1"]["program_code"] == "ARC-CO"
    assert rows["P1"]["recipient_id"] == "R1"
    assert rows["P2"]["county_code"] == "055" and rows["P2"]["program_code"] == "ARC-CO"
    assert rows["P3"]["county_code"] == "ABC" and rows["P3"]["program_code"] == "ARC-CO"


@pytest.mark.parametrize("ansi", ["false", "true"])
def test_parse_date_accepts_two_layouts_and_never_raises(spark, ansi):
    values = ["2024-01-15", "01/22/2024", "1/5/2024", "2024-02-30", "2023-02-29", "2024-1-5", "2024/04/02", "not a date", None]
    df = spark.createDataFrame([(v,) for v in values], "d string")
    previous = spark.conf.get("spark.sql.ansi.enabled")
    spark.conf.set("spark.sql.ansi.enabled", ansi)
    try:
        parsed = [r["p"] for r in df.select(C.parse_date(F.col("d")).alias("p")).collect()]
    finally:
        spark.conf.set("spark.sql.ansi.enabled", previous)
    assert parsed == [dt.date(2024, 1, 15), dt.date(2024, 1, 22), dt.date(2024, 1, 5), None, None, None, None, None, None]


def test_parse_amount(spark):
    values = ["100", "1,234.56", "$2,500.00", " 7.5 ", "-75.00", "12.345", "abc", "N/A", "1e3", "1.2.3", "9999999999999"]
    df = spark.createDataFrame([(v,) for v in values], "a string")
    parsed = [r["p"] for r in df.select(C.parse_amount(C.amount_text(F.col("a"))).alias("p")).collect()]
    assert parsed == [
        Decimal("100.00"), Decimal("1234.56"), Decimal("2500.00"), Decimal("7.50"), Decimal("-75.00"),
        None, None, None, None, None, None,
    ]


# One dirty batch through clean_payments once (Spark jobs are slow); each case is asserted apart.
RULE_CASES = {
    "R01": ({"state_code": ""}, "missing_state_code"),
    "R02": ({"recipient_id": None}, "missing_recipient_id"),
    "R03": ({"payment_amount": "   "}, "missing_payment_amount"),
    "R04": ({"state_code": "Minnesota"}, "invalid_state_code"),
    "R05": ({"county_code": "12A"}, "invalid_county_code"),
    "R06": ({"county_code": "1534"}, "invalid_county_code"),
    "R07": ({"program_code": "P L C!"}, "invalid_program_code"),
    "R08": ({"program_code": "A" * 17}, "invalid_program_code"),
    "R09": ({"fiscal_year": "FY24"}, "invalid_fiscal_year"),
    "R10": ({"fiscal_year": "1899"}, "invalid_fiscal_year"),
    "R11": ({"payment_date": "2023-09-31"}, "invalid_payment_date"),
    "R12": ({"payment_date": "not a date"}, "invalid_payment_date"),
    "R13": ({"payment_date": "1989-12-31"}, "invalid_payment_date"),
    "R14": ({"payment_amount": "abc"}, "invalid_payment_amount"),
    "R15": ({"payment_amount": "12.345"}, "invalid_payment_amount"),
    "R16": ({"payment_amount": "-0.01"}, "negative_payment_amount"),
    "R17": ({"state_code": "", "payment_date": "x", "payment_amount": "-5"}, "missing_state_code;invalid_payment_date;negative_payment_amount"),
    "R18": ({"payment_amount": " N/A ", "payment_date": "2024/04/02"}, "invalid_payment_date;invalid_payment_amount"),
}
BATCH = [
    *({"record_id": rid, "recipient_id": f"X{rid}", **override} for rid, (override, _reason) in RULE_CASES.items()),
    {"record_id": "OK1"},
    {"record_id": "OK1"},  # exact duplicate
    {"record_id": "ok1 ", "state_code": " ia", "payment_amount": "$100", "payment_date": "1/15/2024"},  # same record, other spelling
    {"record_id": "D1", "payment_amount": "abc"},
    {"record_id": "D1", "payment_amount": "abc"},  # a duplicated bad row is quarantined once
    {"record_id": "C1", "payment_amount": "300"},  # three conflicting copies of C1
    {"record_id": "C1", "payment_amount": "350"},
    {"record_id": "C1", "payment_amount": "x"},
    {"record_id": None, "recipient_id": "N1"},  # missing ids are not a conflict
    {"record_id": " ", "recipient_id": "N2"},
    {"record_id": "OK2", "program_code": "arc co", "county_code": "5", "recipient_id": "r2"},
]


@pytest.fixture(scope="module")
def batch(spark):
    result = C.clean_payments(landing_df(spark, *BATCH))
    rejected = [r.asDict() for r in result.rejected.collect()]
    return {
        "clean": sorted(r.asDict()["record_id"] for r in result.clean.collect()),
        "rejected": rejected,
        "reasons_by_id": {r["record_id"]: r[S.REJECT_REASON] for r in rejected if r["record_id"] not in ("C1", None)},
        "counts": C.reject_reason_counts(result.rejected),
    }


@pytest.mark.parametrize("record_id", sorted(RULE_CASES))
def test_each_rule_rejects_with_its_reason(batch, record_id):
    assert batch["reasons_by_id"][record_id] == RULE_CASES[record_id][1]


def test_only_the_good_rows_are_clean(batch):
    assert batch["clean"] == ["OK1", "OK2"]


def test_exact_and_normalised_duplicates_are_dropped(batch):
    assert batch["clean"].count("OK1") == 1
    assert [r["record_id"] for r in batch["rejected"]].count("D1") == 1


def test_conflicting_copies_of_a_record_id_are_all_rejected(batch):
    reasons = sorted(r[S.REJECT_REASON] for r in batch["rejected"] if r["record_id"] == "C1")
    assert reasons == ["duplicate_record_id", "duplicate_record_id", "invalid_payment_amount;duplicate_record_id"]


def test_missing_record_id_is_rejected_not_treated_as_a_conflict(batch):
    missing = sorted((r["recipient_id"], r[S.REJECT_REASON]) for r in batch["rejected"] if r["record_id"] is None)
    assert missing == [("N1", "missing_record_id"), ("N2", "missing_record_id")]


def test_quarantine_keeps_the_text_that_failed(batch):
    row = next(r for r in batch["rejected"] if r["record_id"] == "R18")
    assert (row["payment_amount"], row["payment_date"]) == ("N/A", "2024/04/02")


def test_reject_reason_counts(batch):
    expected = {}
    for row in batch["rejected"]:
        for code in row[S.REJECT_REASON].split(";"):
            expected[code] = expected.get(code, 0) + 1
    assert batch["counts"] == expected
    assert batch["counts"]["duplicate_record_id"] == 3
    assert batch["counts"]["missing_state_code"] == 2


def test_clean_output_types_and_values(spark):
    df = landing_df(spark, {"record_id": " p9 ", "county_code": "7", "payment_date": "10/17/2024", "payment_amount": '"1,234.5"'.strip('"'), "fiscal_year": "2025"})
    df = df.withColumn("source_file", F.lit("s3://b/k.csv")).withColumn("ingested_at", F.lit(dt.datetime(2025, 1, 1)))
    result = C.clean_payments(df)
    clean = _only(result.clean)
    assert dict(result.clean.dtypes) == {
        "record_id": "string", "state_code": "string", "county_code": "string", "program_code": "string",
        "fiscal_year": "int", "payment_date": "date", "payment_amount": "decimal(14,2)", "recipient_id": "string",
        "source_file": "string", "ingested_at": "timestamp",
    }
    assert clean["record_id"] == "P9"
    assert clean["county_code"] == "007"
    assert clean["fiscal_year"] == 2025
    assert clean["payment_date"] == dt.date(2024, 10, 17)
    assert clean["payment_amount"] == Decimal("1234.50")
    assert clean["source_file"] == "s3://b/k.csv"


def _only(df):
    rows = df.collect()
    assert len(rows) == 1, rows
    return rows[0].asDict()
