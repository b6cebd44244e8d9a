"""Extensions to moto's backends for what the deployer and the local pipeline run need.

Only the server process imports this package (it imports moto). apply_all() patches moto's classes,
so the patches survive /moto-api/reset (which builds new backend instances of the same classes).
"""

from __future__ import annotations

from deploy.local_aws.extensions.context import LocalContext, set_context

_applied = False


def apply_all(context: LocalContext) -> None:
    """Install every extension once per process."""
    global _applied
    set_context(context)
    if _applied:
        return
    from deploy.local_aws.extensions import (
        dispatch_speed,
        events_targets,
        glue_api,
        glue_crawler,
        glue_job_runs,
        iam_boundaries,
        lambda_invoke,
        logs_groups,
        s3_notifications,
        s3_policy_conditions,
        sfn_glue_sync,
        sfn_state_machines,
        sfn_status_events,
        sns_subscriptions,
    )

    for module in (glue_api, glue_crawler, glue_job_runs, iam_boundaries, lambda_invoke, logs_groups, s3_notifications,
                   s3_policy_conditions, sfn_glue_sync, sfn_state_machines, sfn_status_events, sns_subscriptions,
                   events_targets, dispatch_speed):
        module.apply()
    _applied = True
