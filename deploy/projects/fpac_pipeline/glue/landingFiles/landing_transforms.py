"""Landing-stage transformations (pure DataFrame -> DataFrame): raw strings plus lineage."""
from pyspark.sql import functions as F

import fpac_schema


def normalise_column_names(df):
    """Rename header columns to snake_case (see fpac_schema.normalise_column_name).

    Parquet rejects blanks and ',;{}()=' in column names, and Validate compares headers the same
    way, so '  Payment Amount' becomes 'payment_amount'. Raises ValueError naming the clashing
    columns when two headers normalise to the same name, or a header normalises to nothing.
    """
    renamed = {}
    for original in df.columns:
        target = fpac_schema.normalise_column_name(original)
        if not target:
            raise ValueError(f"landing: header column {original!r} has no usable characters")
        renamed.setdefault(target, []).append(original)
    clashes = {target: names for target, names in renamed.items() if len(names) > 1}
    if clashes:
        detail = "; ".join(f"{names} -> {target!r}" for target, names in sorted(clashes.items()))
        raise ValueError(f"landing: header columns collide after normalisation: {detail}")
    return df.select([F.col(f"`{original}`").alias(target) for target, (original,) in renamed.items()])


def add_lineage(df, run_id, source_file, ingested_at):
    """Append run_id, source_file and ingested_at (a timezone-aware datetime, stored as UTC)."""
    if ingested_at.tzinfo is None:
        raise ValueError("landing: ingested_at must be timezone-aware")
    return df.select(
        "*",
        F.lit(run_id).cast("string").alias(fpac_schema.RUN_ID),
        F.lit(source_file).cast("string").alias(fpac_schema.SOURCE_FILE),
        F.lit(ingested_at).cast("timestamp").alias(fpac_schema.INGESTED_AT),
    )


def to_landing(raw_df, run_id, source_file, ingested_at):
    """The whole landing transformation: normalised headers, every value kept as read, lineage."""
    return add_lineage(normalise_column_names(raw_df), run_id, source_file, ingested_at)
