"""The fpac payment-record schema and the cleaning rules' constants, shared by every Glue job.

The Validate Lambda carries its own copy of REQUIRED_COLUMNS (it is a separate payload);
tests/pipeline asserts that the two stay equal.
"""
import re

# Business columns of an incoming CSV, in file order.
RECORD_ID = "record_id"
STATE_CODE = "state_code"
COUNTY_CODE = "county_code"
PROGRAM_CODE = "program_code"
FISCAL_YEAR = "fiscal_year"
PAYMENT_DATE = "payment_date"
PAYMENT_AMOUNT = "payment_amount"
RECIPIENT_ID = "recipient_id"

REQUIRED_COLUMNS = (
    RECORD_ID,
    STATE_CODE,
    COUNTY_CODE,
    PROGRAM_CODE,
    FISCAL_YEAR,
    PAYMENT_DATE,
    PAYMENT_AMOUNT,
    RECIPIENT_ID,
)

# Lineage columns added by the landing job.
RUN_ID = "run_id"
SOURCE_FILE = "source_file"
INGESTED_AT = "ingested_at"
LINEAGE_COLUMNS = (SOURCE_FILE, INGESTED_AT)

# Column added to quarantined rows: ';'-separated reason codes (see cleaning_transforms).
REJECT_REASON = "reject_reason"

# Validation rules applied by the cleaning job.
STATE_CODE_PATTERN = r"^[A-Z]{2}$"  # USPS state/territory abbreviation
COUNTY_CODE_PATTERN = r"^[0-9]{3}$"  # 3-digit county FIPS code (left-padded by cleaning)
PROGRAM_CODE_PATTERN = r"^[A-Z0-9]+(-[A-Z0-9]+)*$"  # e.g. ARC-CO, PLC, CRP
PROGRAM_CODE_MAX_LENGTH = 16
FISCAL_YEAR_PATTERN = r"^[0-9]{4}$"
MIN_FISCAL_YEAR = 1990
MAX_FISCAL_YEAR = 2100
MIN_PAYMENT_DATE = "1990-01-01"
MAX_PAYMENT_DATE = "2100-12-31"
# Amount text after '$', ',' and blanks are removed: at most 12 integer digits and 2 decimals.
PAYMENT_AMOUNT_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
PAYMENT_AMOUNT_PRECISION = 14
PAYMENT_AMOUNT_SCALE = 2
# Accepted payment_date layouts: (shape regex guarding the parse, Spark datetime pattern).
# The regex guard matters: Spark 3 raises SparkUpgradeException (even in try_to_timestamp) for
# strings the new parser rejects but the legacy one accepted, e.g. '2024-1-5' with 'yyyy-MM-dd'.
DATE_FORMATS = (
    (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "yyyy-MM-dd"),
    (r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$", "M/d/yyyy"),
)

_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalise_column_name(name):
    """Header cell -> snake_case column name: BOM and blanks stripped, lower case, runs of other
    characters collapsed to '_'. The Validate Lambda applies the same rule."""
    cleaned = (name or "").replace("\ufeff", "").strip().lower()
    return _NON_WORD.sub("_", cleaned).strip("_")
