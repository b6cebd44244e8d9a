"""Cleaning-stage transformations (pure DataFrame -> DataFrame).

Pipeline (see clean_payments): select business columns -> standardise text -> parse types ->
drop duplicates -> attach reject reasons -> split into clean and quarantine.

Reject reason codes (';'-separated in the reject_reason column, in this order):
  missing_<column>          a required value is empty
  invalid_state_code        not two letters
  invalid_county_code       not a 1-3 digit county FIPS code
  invalid_program_code      not letters/digits joined by '-', or too long
  invalid_fiscal_year       not a year in [MIN_FISCAL_YEAR, MAX_FISCAL_YEAR]
  invalid_payment_date      not yyyy-MM-dd or M/d/yyyy, not a real date, or out of range
  invalid_payment_amount    not a plain number with at most 2 decimals ('$' and ',' allowed)
  negative_payment_amount   below zero
  duplicate_record_id       the same record_id with different contents (all copies rejected)
"""
from collections import namedtuple

from pyspark.sql import Window
from pyspark.sql import functions as F

import fpac_schema as S

CleaningResult = namedtuple("CleaningResult", ["clean", "rejected"])

BUSINESS_COLUMNS = S.REQUIRED_COLUMNS
AMOUNT_TYPE = f"decimal({S.PAYMENT_AMOUNT_PRECISION},{S.PAYMENT_AMOUNT_SCALE})"
_PARSED_DATE = "_parsed_payment_date"
_PARSED_AMOUNT = "_parsed_payment_amount"
_AMOUNT_TEXT = "_payment_amount_text"
_PARSED_YEAR = "_parsed_fiscal_year"


def select_business_columns(df):
    """Keep the business columns and lineage (source_file, ingested_at, run_id when present);
    drop anything else, e.g. an unexpected extra column. Raises ValueError naming missing columns."""
    missing = [c for c in BUSINESS_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"cleaning: input lacks required column(s) {missing}")
    keep = list(BUSINESS_COLUMNS) + [c for c in (*S.LINEAGE_COLUMNS, S.RUN_ID) if c in df.columns]
    return df.select(*keep)


def extra_columns(df):
    """Columns select_business_columns would drop (reported in the metrics)."""
    known = set(BUSINESS_COLUMNS) | set(S.LINEAGE_COLUMNS) | {S.RUN_ID}
    return [c for c in df.columns if c not in known]


# Whitespace as Java regex sees it, plus the no-break space and BOM that spreadsheets leave behind.
_EDGE_BLANKS = r"^[\s\x{00A0}\x{FEFF}]+|[\s\x{00A0}\x{FEFF}]+$"


def _blank_to_null(column):
    trimmed = F.regexp_replace(column, _EDGE_BLANKS, "")
    return F.when(trimmed == "", F.lit(None)).otherwise(trimmed)


def trim_values(df, columns=BUSINESS_COLUMNS):
    """Trim blanks (spaces, tabs, no-break spaces) around each value; empty strings become null."""
    return df.withColumns({c: _blank_to_null(F.col(c)) for c in columns})


def normalise_codes(df):
    """Upper-case the codes and ids; pad numeric county codes to 3 digits ('5' -> '005');
    join program-code words with '-' ('arc co', 'ARC_CO' -> 'ARC-CO')."""
    county = F.col(S.COUNTY_CODE)
    program = F.regexp_replace(F.upper(F.col(S.PROGRAM_CODE)), r"[\s_-]+", "-")
    return df.withColumns(
        {
            S.STATE_CODE: F.upper(F.col(S.STATE_CODE)),
            S.COUNTY_CODE: F.when(county.rlike(r"^[0-9]{1,3}$"), F.lpad(county, 3, "0")).otherwise(county),
            S.PROGRAM_CODE: program,
            S.RECIPIENT_ID: F.upper(F.col(S.RECIPIENT_ID)),
            S.RECORD_ID: F.upper(F.col(S.RECORD_ID)),
        }
    )


def standardise(df):
    """Trimmed, blank-as-null, case-normalised business values (still strings)."""
    return normalise_codes(trim_values(df))


def drop_duplicates(df):
    """Drop rows that are the same record after standardisation (exact duplicates included).

    Runs after parse_fields: dates, amounts and years compare by parsed value where they parse
    ('$2,500.00' equals '2500', '10/17/2024' equals '2024-10-17'), otherwise by their text.
    """
    typed = {S.PAYMENT_DATE: _PARSED_DATE, S.PAYMENT_AMOUNT: _PARSED_AMOUNT, S.FISCAL_YEAR: _PARSED_YEAR}
    key = {
        f"_key_{c}": F.coalesce(F.col(typed[c]).cast("string"), F.col(c)) if c in typed else F.col(c)
        for c in BUSINESS_COLUMNS
    }
    return df.withColumns(key).dropDuplicates(list(key)).drop(*key)


def parse_date(column):
    """First accepted layout that matches (fpac_schema.DATE_FORMATS), else null.

    Each parse is guarded by a shape regex so Spark never sees a string it would refuse with
    SparkUpgradeException; impossible dates such as 2023-02-29 parse to null.
    """
    parsed = [F.when(column.rlike(shape), F.to_date(F.try_to_timestamp(column, F.lit(fmt)))) for shape, fmt in S.DATE_FORMATS]
    return F.coalesce(*parsed)


def amount_text(column):
    """Amount text with currency signs, thousands separators and blanks removed."""
    return F.regexp_replace(column, r"[$,\s]", "")


def parse_amount(text_column):
    """Decimal amount when the text is a plain number with at most 2 decimals, else null.
    The regex guard makes the cast safe also under ANSI mode (at most 12 integer digits)."""
    return F.when(text_column.rlike(S.PAYMENT_AMOUNT_PATTERN), text_column.cast(AMOUNT_TYPE))


def parse_fields(df):
    """Add typed helper columns for the date, amount and fiscal year (the text stays as is)."""
    year = F.col(S.FISCAL_YEAR)
    with_text = df.withColumn(_AMOUNT_TEXT, amount_text(F.col(S.PAYMENT_AMOUNT)))
    return with_text.withColumns(
        {
            _PARSED_DATE: parse_date(F.col(S.PAYMENT_DATE)),
            _PARSED_AMOUNT: parse_amount(F.col(_AMOUNT_TEXT)),
            _PARSED_YEAR: F.when(year.rlike(S.FISCAL_YEAR_PATTERN), year.cast("int")),
        }
    )


def _reason_rules():
    """(code, condition) pairs; a row gets every code whose condition is true."""
    present = {c: F.col(c).isNotNull() for c in BUSINESS_COLUMNS}
    date = F.col(_PARSED_DATE)
    amount = F.col(_PARSED_AMOUNT)
    year = F.col(_PARSED_YEAR)
    program = F.col(S.PROGRAM_CODE)
    rules = [(f"missing_{c}", ~present[c]) for c in BUSINESS_COLUMNS]
    rules += [
        ("invalid_state_code", present[S.STATE_CODE] & ~F.col(S.STATE_CODE).rlike(S.STATE_CODE_PATTERN)),
        ("invalid_county_code", present[S.COUNTY_CODE] & ~F.col(S.COUNTY_CODE).rlike(S.COUNTY_CODE_PATTERN)),
        (
            "invalid_program_code",
            present[S.PROGRAM_CODE]
            & (~program.rlike(S.PROGRAM_CODE_PATTERN) | (F.length(program) > S.PROGRAM_CODE_MAX_LENGTH)),
        ),
        (
            "invalid_fiscal_year",
            present[S.FISCAL_YEAR] & (year.isNull() | ~year.between(S.MIN_FISCAL_YEAR, S.MAX_FISCAL_YEAR)),
        ),
        (
            "invalid_payment_date",
            present[S.PAYMENT_DATE]
            & (date.isNull() | ~date.between(F.lit(S.MIN_PAYMENT_DATE).cast("date"), F.lit(S.MAX_PAYMENT_DATE).cast("date"))),
        ),
        ("invalid_payment_amount", present[S.PAYMENT_AMOUNT] & amount.isNull()),
        ("negative_payment_amount", amount < 0),
    ]
    return rules


def add_reject_reasons(df):
    """Add reject_reason: the ';'-joined codes of every failed rule, null for a clean row."""
    codes = [F.when(condition, F.lit(code)) for code, condition in _reason_rules()]
    joined = F.concat_ws(";", *codes)
    return df.withColumn(S.REJECT_REASON, F.when(joined == "", F.lit(None)).otherwise(joined))


def flag_conflicting_record_ids(df):
    """Reject every copy of a record_id that appears more than once after de-duplication:
    the copies disagree, and the pipeline cannot tell which one is right."""
    copies = F.count(F.lit(1)).over(Window.partitionBy(S.RECORD_ID))
    conflict = F.col(S.RECORD_ID).isNotNull() & (copies > 1)
    reason = F.col(S.REJECT_REASON)
    flagged = F.when(reason.isNull(), F.lit("duplicate_record_id")).otherwise(F.concat(reason, F.lit(";duplicate_record_id")))
    return df.withColumn(S.REJECT_REASON, F.when(conflict, flagged).otherwise(reason))


def split_clean_rejected(df):
    """Clean rows with typed columns; rejected rows with the standardised text and reject_reason."""
    lineage = [c for c in (*S.LINEAGE_COLUMNS, S.RUN_ID) if c in df.columns]
    clean = df.where(F.col(S.REJECT_REASON).isNull()).select(
        S.RECORD_ID,
        S.STATE_CODE,
        S.COUNTY_CODE,
        S.PROGRAM_CODE,
        F.col(_PARSED_YEAR).alias(S.FISCAL_YEAR),
        F.col(_PARSED_DATE).alias(S.PAYMENT_DATE),
        F.col(_PARSED_AMOUNT).alias(S.PAYMENT_AMOUNT),
        S.RECIPIENT_ID,
        *lineage,
    )
    rejected = df.where(F.col(S.REJECT_REASON).isNotNull()).select(*BUSINESS_COLUMNS, S.REJECT_REASON, *lineage)
    return CleaningResult(clean, rejected)


def clean_payments(landing_df):
    """The whole cleaning transformation; returns CleaningResult(clean, rejected)."""
    parsed = parse_fields(standardise(select_business_columns(landing_df)))
    checked = flag_conflicting_record_ids(add_reject_reasons(drop_duplicates(parsed)))
    return split_clean_rejected(checked)


def reject_reason_counts(rejected_df):
    """{reason code: rows carrying it}; a row with two codes counts for both."""
    codes = rejected_df.select(F.explode(F.split(F.col(S.REJECT_REASON), ";")).alias("code"))
    return {row["code"]: row["count"] for row in codes.groupBy("code").count().collect()}
