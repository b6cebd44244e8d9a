"""Validate: cheap pre-flight checks of an incoming CSV before any Glue job starts.

Reads the object's metadata and only its first HEADER_SAMPLE_BYTES (one ranged GET), never the
whole file. Checks: event shape, file suffix, existence, not empty, size limit, UTF-8 text (not
binary or gzip), a header with every required column and no duplicate columns, at least one data
row. Bad input of any kind returns {"valid": false, "reasons": [...]}; only infrastructure faults
that outlive botocore's retries (throttling, 5xx) raise, so the state machine's Retry/Catch sees them.

Event: {"bucket": ..., "key": ...}, or the EventBridge S3 "Object Created" event itself.

Environment:
  REQUIRED_COLUMNS     comma-separated required header columns (default: the fpac schema)
  MAX_FILE_BYTES       largest accepted object, bytes (default 536870912 = 512 MiB)
  HEADER_SAMPLE_BYTES  bytes read from the start of the object (default 65536)
  ALLOWED_SUFFIXES     comma-separated accepted key suffixes, case-insensitive (default .csv)
  LOG_LEVEL            DEBUG, INFO (default), WARNING or ERROR
"""
import codecs
import csv
import io
import json
import os
import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError
from fpac_aws import s3_client

DEFAULT_REQUIRED_COLUMNS = (
    "record_id",
    "state_code",
    "county_code",
    "program_code",
    "fiscal_year",
    "payment_date",
    "payment_amount",
    "recipient_id",
)
MAX_REPORTED_COLUMNS = 100
MAX_REASON_CHARS = 500
_NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
_DENIED = {"403", "AccessDenied", "AllAccessDisabled", "KMS.AccessDeniedException"}
_NON_WORD = re.compile(r"[^0-9a-z]+")
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}


class InvalidInput(Exception):
    """The event or the object cannot be processed; the message is the reason reported."""


@dataclass(frozen=True)
class Settings:
    required_columns: tuple
    max_file_bytes: int
    header_sample_bytes: int
    allowed_suffixes: tuple

    @classmethod
    def from_env(cls, env):
        """Read the settings; a bad value raises ValueError naming the variable (a deploy bug)."""
        required = _csv_list(env.get("REQUIRED_COLUMNS")) or list(DEFAULT_REQUIRED_COLUMNS)
        suffixes = _csv_list(env.get("ALLOWED_SUFFIXES", ".csv"))
        return cls(
            required_columns=tuple(normalise_column_name(c) for c in required),
            max_file_bytes=_positive_int(env, "MAX_FILE_BYTES", 512 * 1024 * 1024),
            header_sample_bytes=_positive_int(env, "HEADER_SAMPLE_BYTES", 64 * 1024),
            allowed_suffixes=tuple(s.lower() for s in suffixes),
        )


def _csv_list(value):
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _positive_int(env, name, default):
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"environment variable {name} must be positive, got {value}")
    return value


def normalise_column_name(name):
    """Header cell -> snake_case name; the same rule as the landing Glue job (fpac_schema)."""
    cleaned = (name or "").replace("\ufeff", "").strip().lower()
    return _NON_WORD.sub("_", cleaned).strip("_")


def _field(obj, *path):
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def extract_location(event):
    """(bucket, key) from {"bucket","key"} or an EventBridge S3 event; InvalidInput otherwise."""
    if not isinstance(event, dict):
        raise InvalidInput(f"event must be a JSON object, got {type(event).__name__}")
    if "detail" in event:
        bucket, key = _field(event, "detail", "bucket", "name"), _field(event, "detail", "object", "key")
        where = "detail.bucket.name / detail.object.key"
    else:
        bucket, key = event.get("bucket"), event.get("key")
        where = "bucket / key"
    if not isinstance(bucket, str) or not bucket.strip():
        raise InvalidInput(f"event has no bucket name ({where})")
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput(f"event has no object key ({where})")
    return bucket.strip(), key


def check_suffix(key, allowed_suffixes):
    if allowed_suffixes and not key.lower().endswith(allowed_suffixes):
        raise InvalidInput(f"object key {key!r} does not end with one of {list(allowed_suffixes)}")


def check_size(size, settings):
    if size == 0:
        raise InvalidInput("file is empty (0 bytes)")
    if size > settings.max_file_bytes:
        raise InvalidInput(f"file is {size} bytes, over the MAX_FILE_BYTES limit of {settings.max_file_bytes}")


def decode_sample(data, is_whole_file):
    """UTF-8 text of the sample (BOM dropped). A character cut by the end of a partial sample is
    fine; anything else that is not UTF-8, or binary/gzip content, raises InvalidInput."""
    if data[:2] == b"\x1f\x8b":
        raise InvalidInput("file is gzip-compressed; expected plain UTF-8 CSV text")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InvalidInput(f"file looks binary (NUL byte at offset {nul}); expected UTF-8 CSV text")
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        return decoder.decode(data, final=is_whole_file)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"file is not valid UTF-8 (byte offset {exc.start}: {exc.reason})") from None


def inspect_csv(text, is_whole_file, settings):
    """Check the header and sample rows; returns the report fields, raises InvalidInput."""
    if not is_whole_file:
        end = max(text.rfind("\n"), text.rfind("\r"))
        if end < 0:
            raise InvalidInput(f"no complete header line within the first {settings.header_sample_bytes} bytes")
        text = text[: end + 1]  # drop the line cut by the end of the sample
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise InvalidInput(f"file is not parseable as CSV: {exc}") from None
    if not rows:
        raise InvalidInput("file has no header line (only blank lines)")
    header, data_rows = rows[0], rows[1:]
    columns = [normalise_column_name(cell) for cell in header]
    reasons, warnings = [], []
    if any(not c for c in columns):
        reasons.append(f"header has {sum(1 for c in columns if not c)} empty column name(s)")
    duplicates = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicates:
        reasons.append(f"header has duplicate columns {duplicates}")
    missing = [c for c in settings.required_columns if c not in columns]
    if missing:
        reasons.append(f"header lacks required columns {missing}" + _delimiter_hint(header))
    extra = [c for c in columns if c and c not in settings.required_columns]
    if extra:
        warnings.append(f"unexpected columns {extra[:MAX_REPORTED_COLUMNS]} will be ignored by cleaning")
    if not data_rows:
        where = "file" if is_whole_file else f"first {settings.header_sample_bytes} bytes"
        reasons.append(f"no data rows after the header in the {where}")
    ragged = sum(1 for row in data_rows if len(row) != len(header))
    if ragged:
        warnings.append(f"{ragged} of {len(data_rows)} sampled data rows have a field count other than {len(header)}")
    return {
        "columns": columns[:MAX_REPORTED_COLUMNS],
        "missing_columns": missing,
        "extra_columns": extra[:MAX_REPORTED_COLUMNS],
        "sample_rows": len(data_rows),
        "reasons": reasons,
        "warnings": warnings,
    }


def _delimiter_hint(header):
    if len(header) == 1:
        for delimiter, name in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
            if delimiter in header[0]:
                return f" (the header looks {name}-delimited; expected ',')"
    return ""


def _error_code(exc):
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def _access_denied(bucket, key):
    return f"access denied reading s3://{bucket}/{key} (check the Validate role, bucket policy and KMS key)"


def head_object(s3, bucket, key):
    """HeadObject; falls back to the URL-decoded key (S3 notifications URL-encode keys)."""
    candidates = [key] + ([unquote_plus(key)] if unquote_plus(key) != key else [])
    for index, candidate in enumerate(candidates):
        try:
            return candidate, s3.head_object(Bucket=bucket, Key=candidate)
        except ClientError as exc:
            code = _error_code(exc)
            if code in _NOT_FOUND and index + 1 < len(candidates):
                continue
            if code in _NOT_FOUND:
                raise InvalidInput(f"object s3://{bucket}/{key} does not exist") from None
            if code in _DENIED:
                raise InvalidInput(_access_denied(bucket, key)) from None
            raise
    raise AssertionError("unreachable")


def read_sample(s3, bucket, key, size, sample_bytes):
    length = min(size, sample_bytes)
    try:
        response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{length - 1}")
    except ClientError as exc:
        code = _error_code(exc)
        if code in _NOT_FOUND:
            raise InvalidInput(f"object s3://{bucket}/{key} disappeared during validation") from None
        if code in _DENIED:
            raise InvalidInput(_access_denied(bucket, key)) from None
        raise
    return response["Body"].read(length)


def validate(event, settings, s3):
    """The full check; returns the result dict (never raises InvalidInput)."""
    result = {
        "valid": False, "reasons": [], "warnings": [], "bucket": None, "key": None, "size_bytes": None,
        "columns": [], "missing_columns": [], "extra_columns": [], "sample_rows": None,
    }
    try:
        bucket, key = extract_location(event)
        result.update(bucket=bucket, key=key)
        check_suffix(key, settings.allowed_suffixes)
        key, head = head_object(s3, bucket, key)
        size = int(head.get("ContentLength", 0))
        result.update(key=key, size_bytes=size, etag=head.get("ETag", "").strip('"'), content_type=head.get("ContentType"))
        check_size(size, settings)
        data = read_sample(s3, bucket, key, size, settings.header_sample_bytes)
        is_whole_file = len(data) >= size
        report = inspect_csv(decode_sample(data, is_whole_file), is_whole_file, settings)
    except InvalidInput as exc:
        result["reasons"].append(str(exc)[:MAX_REASON_CHARS])
        return result
    result["reasons"].extend(r[:MAX_REASON_CHARS] for r in report.pop("reasons"))
    result["warnings"].extend(w[:MAX_REASON_CHARS] for w in report.pop("warnings"))
    result.update(report)
    result["valid"] = not result["reasons"]
    return result


def log(level, message, **fields):
    threshold = _LEVELS.get(os.environ.get("LOG_LEVEL", "INFO").upper(), 20)
    if _LEVELS[level] >= threshold:
        print(json.dumps({"level": level, "message": message, **fields}, default=str, sort_keys=True), flush=True)


def handler(event, context):
    settings = Settings.from_env(os.environ)
    result = validate(event, settings, s3_client())
    log(
        "INFO" if result["valid"] else "WARNING",
        "validation passed" if result["valid"] else "validation failed",
        component="Validate",
        bucket=result["bucket"],
        key=result["key"],
        size_bytes=result["size_bytes"],
        reasons=result["reasons"],
        warnings=result["warnings"],
        request_id=getattr(context, "aws_request_id", None),
    )
    return result
