"""Deployable pipelines, discovered by name: --project-type fpac -> projects/fpac_pipeline."""
