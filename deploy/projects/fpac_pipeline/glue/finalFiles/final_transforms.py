"""Final-stage transformations (pure DataFrame -> DataFrame): curated payment aggregates."""
from pyspark.sql import functions as F

import fpac_schema as S

GROUP_COLUMNS = (S.STATE_CODE, S.PROGRAM_CODE, S.FISCAL_YEAR)
TOTAL_TYPE = f"decimal({S.PAYMENT_AMOUNT_PRECISION + 10},{S.PAYMENT_AMOUNT_SCALE})"
PARTITION_COLUMNS = (S.FISCAL_YEAR,)


def aggregate_payments(clean_df):
    """Totals and counts per state, program and fiscal year.

    Columns: state_code, program_code, fiscal_year, payment_count, total_amount,
    recipient_count (distinct recipients), first_payment_date, last_payment_date, and the
    lineage (source_file, run_id) when the input has it.
    """
    lineage = [c for c in (S.SOURCE_FILE, S.RUN_ID) if c in clean_df.columns]
    return (
        clean_df.groupBy(*GROUP_COLUMNS, *lineage)
        .agg(
            F.count(F.lit(1)).alias("payment_count"),
            F.sum(S.PAYMENT_AMOUNT).cast(TOTAL_TYPE).alias("total_amount"),
            F.countDistinct(S.RECIPIENT_ID).alias("recipient_count"),
            F.min(S.PAYMENT_DATE).alias("first_payment_date"),
            F.max(S.PAYMENT_DATE).alias("last_payment_date"),
        )
        .select(
            S.STATE_CODE,
            S.PROGRAM_CODE,
            "payment_count",
            "total_amount",
            "recipient_count",
            "first_payment_date",
            "last_payment_date",
            *lineage,
            S.FISCAL_YEAR,
        )
    )
