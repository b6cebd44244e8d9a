"""Validate Lambda against a real S3 endpoint (the local AWS server)."""
from __future__ import annotations

import gzip
import json

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

import fpac_schema  # on sys.path via conftest -> fpac_test_support
from fpac_test_support import BAD_SCHEMA_CSV, GOOD_CSV, FakeContext, load_handler

validate = load_handler("Validate")
HEADER = ",".join(fpac_schema.REQUIRED_COLUMNS)
ROW = "P1,IA,153,PLC,2024,2024-01-15,10.00,R1"


@pytest.fixture
def bucket(make_bucket, lambda_env):
    return make_bucket("fpac-validate")


def put(s3, bucket, key, body):
    s3.put_object(Bucket=bucket, Key=key, Body=body if isinstance(body, bytes) else body.encode("utf-8"))
    return {"bucket": bucket, "key": key}


def run(event):
    return validate.handler(event, FakeContext())


def test_good_sample_is_valid_and_reports_its_dirt(s3, bucket):
    event = put(s3, bucket, "incoming/good.csv", GOOD_CSV.read_bytes())
    result = run(event)
    assert result["valid"] is True, result["reasons"]
    assert result["reasons"] == []
    assert result["size_bytes"] == GOOD_CSV.stat().st_size
    assert result["columns"][:8] == list(fpac_schema.REQUIRED_COLUMNS)  # ' state_code ', 'County_Code' normalised
    assert result["extra_columns"] == ["batch_ref"]
    assert result["missing_columns"] == []
    assert any("batch_ref" in w for w in result["warnings"])
    assert any("field count" in w for w in result["warnings"])  # the short row P0011
    assert result["sample_rows"] == len(GOOD_CSV.read_text().splitlines()) - 1


def test_bad_schema_sample_is_invalid_with_the_missing_columns(s3, bucket):
    result = run(put(s3, bucket, "incoming/bad.csv", BAD_SCHEMA_CSV.read_bytes()))
    assert result["valid"] is False
    assert len(result["reasons"]) == 1
    assert "lacks required columns" in result["reasons"][0]
    assert "';'-delimited" in result["reasons"][0]
    assert set(result["missing_columns"]) == set(fpac_schema.REQUIRED_COLUMNS)


def test_eventbridge_event_is_accepted(s3, bucket):
    put(s3, bucket, "incoming/eb.csv", f"{HEADER}\n{ROW}\n")
    event = {"detail-type": "Object Created", "source": "aws.s3", "detail": {"bucket": {"name": bucket}, "object": {"key": "incoming/eb.csv"}}}
    result = run(event)
    assert result["valid"] is True, result["reasons"]
    assert (result["bucket"], result["key"]) == (bucket, "incoming/eb.csv")


@pytest.mark.parametrize(
    "event, expected",
    [
        (None, "event must be a JSON object"),
        ("s3://b/k.csv", "event must be a JSON object"),
        ([], "event must be a JSON object"),
        ({}, "no bucket name"),
        ({"bucket": "b"}, "no object key"),
        ({"bucket": "", "key": "k.csv"}, "no bucket name"),
        ({"bucket": "b", "key": 7}, "no object key"),
        ({"detail": {}}, "no bucket name (detail.bucket.name"),
        ({"detail": "oops"}, "no bucket name"),
        ({"detail": {"bucket": {"name": "b"}, "object": {}}}, "no object key"),
    ],
)
def test_malformed_events_are_invalid_not_errors(lambda_env, event, expected):
    result = run(event)
    assert result["valid"] is False
    assert any(expected in reason for reason in result["reasons"]), result["reasons"]


def test_missing_object_and_missing_bucket(s3, bucket):
    missing_key = run({"bucket": bucket, "key": "incoming/nope.csv"})
    assert missing_key["valid"] is False
    assert "does not exist" in missing_key["reasons"][0]
    missing_bucket = run({"bucket": f"{bucket}-absent", "key": "incoming/nope.csv"})
    assert missing_bucket["valid"] is False
    assert "does not exist" in missing_bucket["reasons"][0]


def test_url_encoded_key_from_a_notification_is_resolved(s3, bucket):
    put(s3, bucket, "incoming/farm payments+2024.csv", f"{HEADER}\n{ROW}\n")
    result = run({"bucket": bucket, "key": "incoming/farm+payments%2B2024.csv"})
    assert result["valid"] is True, result["reasons"]
    assert result["key"] == "incoming/farm payments+2024.csv"


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"", "file is empty"),
        (f"{HEADER}\n".encode(), "no data rows"),
        (b"\n\n  \n", "no header line"),
        (f"{HEADER}\nP1,IA,153,PLC,2024,2024-01-15,10.00,Ren\xe9\n".encode("latin-1"), "not valid UTF-8"),
        (gzip.compress(f"{HEADER}\n{ROW}\n".encode()), "gzip-compressed"),
        (b"PAR1\x00\x00\x15\x04", "looks binary"),
        (f"{HEADER},record_id\n{ROW},x\n".encode(), "duplicate columns ['record_id']"),
        (f"{HEADER},\n{ROW},\n".encode(), "empty column name"),
    ],
)
def test_content_problems(s3, bucket, body, expected):
    result = run(put(s3, bucket, "incoming/file.csv", body))
    assert result["valid"] is False
    assert any(expected in reason for reason in result["reasons"]), result["reasons"]


def test_wrong_suffix_is_rejected_before_any_read(s3, bucket):
    result = run(put(s3, bucket, "incoming/data.xlsx", f"{HEADER}\n{ROW}\n"))
    assert result["valid"] is False
    assert "does not end with" in result["reasons"][0]
    assert result["size_bytes"] is None  # never looked at the object


def test_bom_and_crlf_header_is_valid(s3, bucket):
    body = ("\ufeff" + HEADER.upper() + "\r\n" + ROW + "\r\n").encode("utf-8")
    result = run(put(s3, bucket, "incoming/bom.csv", body))
    assert result["valid"] is True, result["reasons"]
    assert result["columns"] == list(fpac_schema.REQUIRED_COLUMNS)


def test_size_limit_from_environment(s3, bucket, monkeypatch):
    event = put(s3, bucket, "incoming/good.csv", GOOD_CSV.read_bytes())
    monkeypatch.setenv("MAX_FILE_BYTES", "100")
    result = run(event)
    assert result["valid"] is False
    assert "over the MAX_FILE_BYTES limit of 100" in result["reasons"][0]


def test_required_columns_from_environment(s3, bucket, monkeypatch):
    event = put(s3, bucket, "incoming/good.csv", GOOD_CSV.read_bytes())
    monkeypatch.setenv("REQUIRED_COLUMNS", "record_id, Batch Ref ,tax_id")
    result = run(event)
    assert result["valid"] is False
    assert result["missing_columns"] == ["tax_id"]


def test_header_longer_than_the_sample(s3, bucket, monkeypatch):
    event = put(s3, bucket, "incoming/good.csv", GOOD_CSV.read_bytes())
    monkeypatch.setenv("HEADER_SAMPLE_BYTES", "20")
    result = run(event)
    assert result["valid"] is False
    assert "no complete header line within the first 20 bytes" in result["reasons"][0]


def test_only_the_sample_is_read_and_a_cut_character_is_fine(s3, bucket, lambda_env):
    header_and_first = f"{HEADER}\n{ROW}\n"
    # The sample ends inside the two-byte 'é' of the third row.
    filler = "P2,IA,153,PLC,2024,2024-01-15,10.00,R"
    cut_at = len((header_and_first + filler).encode("utf-8")) + 1
    body = (header_and_first + filler + "é\n" + (ROW + "\n") * 5000).encode("utf-8")
    event = put(s3, bucket, "incoming/big.csv", body)

    client = boto3.client("s3", endpoint_url=lambda_env)
    ranges = []
    client.meta.events.register("before-call.s3.GetObject", lambda params, **_: ranges.append(params["headers"].get("Range")))
    settings = validate.Settings.from_env({"HEADER_SAMPLE_BYTES": str(cut_at)})
    result = validate.validate(event, settings, client)

    assert result["valid"] is True, result["reasons"]
    assert ranges == [f"bytes=0-{cut_at - 1}"]
    assert result["sample_rows"] == 1  # the cut row is not counted
    assert result["size_bytes"] == len(body)


def _client_answering(endpoint, operation, status, code):
    """A client whose `operation` gets an injected HTTP error (one attempt, no retries)."""
    client = boto3.client("s3", endpoint_url=endpoint, config=Config(retries={"mode": "standard", "max_attempts": 1}))

    def reply(request, **_):
        body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Raw(body))

    client.meta.events.register(f"before-send.s3.{operation}", reply)
    return client


class _Raw:
    def __init__(self, body):
        self._body = body

    def stream(self, **_):
        yield self._body


def test_access_denied_is_an_invalid_file(s3, bucket, lambda_env):
    event = put(s3, bucket, "incoming/locked.csv", f"{HEADER}\n{ROW}\n")
    client = _client_answering(lambda_env, "GetObject", 403, "AccessDenied")
    result = validate.validate(event, validate.Settings.from_env({}), client)
    assert result["valid"] is False
    assert "access denied" in result["reasons"][0]


def test_infrastructure_errors_raise_for_the_state_machine_to_retry(s3, bucket, lambda_env):
    from botocore.exceptions import ClientError

    event = put(s3, bucket, "incoming/ok.csv", f"{HEADER}\n{ROW}\n")
    client = _client_answering(lambda_env, "HeadObject", 503, "SlowDown")
    with pytest.raises(ClientError):
        validate.validate(event, validate.Settings.from_env({}), client)


@pytest.mark.parametrize("name, value", [("MAX_FILE_BYTES", "ten"), ("HEADER_SAMPLE_BYTES", "0"), ("MAX_FILE_BYTES", "-1")])
def test_bad_configuration_raises_naming_the_variable(lambda_env, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        run({"bucket": "b", "key": "k.csv"})


def test_one_structured_log_line(s3, bucket, capsys):
    run(put(s3, bucket, "incoming/bad.csv", BAD_SCHEMA_CSV.read_bytes()))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    assert lines[0]["component"] == "Validate"
    assert lines[0]["level"] == "WARNING"
    assert lines[0]["key"] == "incoming/bad.csv"


def test_defaults_match_the_glue_schema():
    """The Lambda is a separate payload with its own copy of the schema: keep the copies equal."""
    assert validate.DEFAULT_REQUIRED_COLUMNS == fpac_schema.REQUIRED_COLUMNS
    for name in [" State Code ", "\ufeffrecord_id", "Payment-Amount ($)", "fiscal__YEAR", "", "  "]:
        assert validate.normalise_column_name(name) == fpac_schema.normalise_column_name(name)
