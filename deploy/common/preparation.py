"""From CLI arguments to a ready engine: everything is validated before the first AWS call.

``prepare`` (no AWS at all): config file, region, project, its settings, its specs, IAM lint.
``connect`` (reads only): the endpoint, the clients, the account guard.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Literal

from botocore.exceptions import BotoCoreError, ClientError

from . import aws_rules
from .aws_common import AwsClients, AwsTarget, CallLog, check_account
from .boundary import boundary_document
from .config import AwsAccess, EnvironmentConfig, check_region, load_config, project_settings
from .context import ProjectContext
from .engine import Engine
from .planner import check_specs
from .history import Provenance
from .errors import AwsCallError, ConfigError, DeployerError, ProjectError
from .iam_policies import check_policies
from .naming import Arns, partition_for
from .projects import list_projects, load_project, project_folder
from .regions import check_bucket_names, environment_buckets
from .kinds import KNOWN_KINDS, build_handlers
from .kinds.base import Spec
from .kinds.iam_policy import ManagedPolicySpec
from .kinds.iam_role import RoleSpec
from .kinds.s3_bucket import BucketSpec
from .kinds.state_machine import StateMachineSpec
from .record import STATE_PREFIX, RecordLocation
from .tagging import git_commit, resource_tags

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_OWNER = "deployer"  # ownership tag of resources shared by every project (the artifact bucket)


@dataclass(frozen=True)
class Prepared:
    config_path: Path
    config: EnvironmentConfig
    project: str
    region: str
    context: ProjectContext
    specs: list[Spec]

    @property
    def record(self) -> RecordLocation:
        return RecordLocation(self.context.artifact_bucket, self.project, self.config.environment)


@dataclass(frozen=True)
class Environment:
    """A validated config for one region, with every configured project's validated settings."""

    config_path: Path
    config: EnvironmentConfig
    region: str
    commit: str
    settings: dict[str, Any]  # project -> its Settings model (each project the config names)

    @property
    def source(self) -> str:
        return str(self.config_path)


def load_environment(config_path: Path, region: str | None) -> Environment:
    """The config file, the region, and each configured project's settings, all validated. No AWS call."""
    config = load_config(config_path)
    source = str(config_path)
    if region is None:
        if len(config.regions) != 1:
            raise ConfigError(f"{source}: regions: this config allows several regions ({', '.join(config.regions)}); pass --region")
        region = config.regions[0]
    check_region(config, region, source)
    try:
        partition = partition_for(region)
    except ValueError as exc:
        raise ConfigError(f"{source}: regions: {exc}") from None
    for field in ("assume_role_arn", "plan_role_arn", "run_role_arn"):
        role = getattr(config.aws, field)
        if role and not role.startswith(f"arn:{partition}:"):
            raise ConfigError(f"{source}: aws.{field}: {role} is not in partition {partition} of region {region}")
    check_boundary_arn(config, partition, source)
    unknown = sorted(set(config.projects) - set(list_projects()))
    if unknown:
        raise ConfigError(f"{source}: projects.{unknown[0]}: unknown project (known: {', '.join(list_projects())})")
    # Every project's settings: the environment's boundary covers all their buckets, whichever project is deployed.
    settings = {name: project_settings(config, name, load_project(name).Settings, source) for name in sorted(config.projects)}
    return Environment(config_path, config, region, git_commit(REPO_ROOT), settings)


def resolve_projects(environment: Environment, selection: str) -> list[str]:
    """``--project-type``: a project, a comma-separated list, or ``all`` (every project the config names)."""
    if selection.strip() == "all":
        names = sorted(environment.settings)
        if not names:
            raise ConfigError(f"{environment.source}: projects: the config names no project, so 'all' selects nothing")
        return names
    names = [n.strip() for n in selection.split(",") if n.strip()]
    if not names:
        raise ProjectError("--project-type: name a project, a comma-separated list, or all")
    for name in names:
        project_folder(name)  # ProjectError listing the known ones
    return list(dict.fromkeys(names))


def prepare(config_path: Path, region: str | None, project: str, *, shared: bool = True,
            environment: Environment | None = None) -> Prepared:
    """Validate config, project and definitions; build the desired state. Makes no AWS call.

    ``shared``: include the environment's shared resources (the artifact bucket, the permissions boundary), as a
    single-project run does; a run of several projects deploys them once, first (``prepare_shared``)."""
    env = environment or load_environment(config_path, region)
    config, region, source = env.config, env.region, env.source
    module = load_project(project)
    settings = env.settings.get(project) or project_settings(config, project, module.Settings, source)
    check_bucket_names(config, settings, project, source)
    ctx = ProjectContext(project=project, config=config, settings=settings, region=region, commit=env.commit,
                         project_dir=project_folder(project))
    common = shared_specs(ctx, {**env.settings, project: settings})
    try:
        own = module.build_specs(ctx)
    except (FileNotFoundError, ValueError) as exc:
        raise DeployerError(f"project '{project}': {exc}") from None
    specs = [*common, *own] if shared else own
    check(specs, ctx, source, provided=() if shared else [s.key for s in common])
    check_state_machines(specs, project)
    return Prepared(config_path, config, project, region, ctx, specs)


def prepare_shared(environment: Environment) -> Prepared:
    """The environment's shared resources on their own, owned by the deployer (its own record, lock and history)."""
    ctx = ProjectContext(project=SHARED_OWNER, config=environment.config, settings=None, region=environment.region,
                         commit=environment.commit, project_dir=REPO_ROOT)
    specs = shared_specs(ctx, environment.settings)
    check(specs, ctx, environment.source)
    return Prepared(environment.config_path, environment.config, SHARED_OWNER, environment.region, ctx, specs)


def prepare_targets(config_path: Path, region: str | None, selection: str) -> list[Prepared]:
    """What one run deploys: one project with the shared resources, or (several projects) the shared resources
    first and then each project without them."""
    environment = load_environment(config_path, region)
    names = resolve_projects(environment, selection)
    if len(names) == 1:
        return [prepare(config_path, region, names[0], environment=environment)]
    return [prepare_shared(environment),
            *(prepare(config_path, region, name, shared=False, environment=environment) for name in names)]


def shared_specs(ctx: ProjectContext, settings: dict[str, Any]) -> list[Spec]:
    """What every project of the environment uses and no project owns: the artifact bucket, the boundary."""
    return [artifact_bucket_spec(ctx), *boundary_specs(ctx, settings)]


def check(specs: list[Spec], ctx: ProjectContext, source: str, provided: Iterable[str] = ()) -> None:
    """Definitions, names, AWS's limits and IAM, before anything is read or written. ``provided``: keys of
    resources another part of the run deploys (a project deployed with others depends on the shared ones)."""
    config, region = ctx.config, ctx.region
    aws_rules.check_names(specs, config, region, source)  # before check_specs: names the config fields that collide
    check_specs(specs, KNOWN_KINDS, provided)
    check_role_boundaries(specs, ctx)
    aws_rules.check(specs, config, region, source)  # what AWS would refuse: service models + documented limits
    check_policies([*((s.name, s.policies) for s in specs if isinstance(s, RoleSpec)),
                    *((s.name, {"boundary": s.document}) for s in specs if isinstance(s, ManagedPolicySpec))])


def check_state_machines(specs: list[Spec], project: str) -> None:
    """Every workflow passes statelint (Amazon States Language rules: reachable, terminating, known Next
    states, valid fields) before anything is planned."""
    import json

    from statelint.linter import Linter

    for spec in specs:
        if isinstance(spec, StateMachineSpec):
            problems = Linter.validate(json.loads(json.dumps(spec.definition)))
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise ProjectError(f"project '{project}': state_machine {spec.name}: {problems[0]}{more}")


def check_boundary_arn(config: EnvironmentConfig, partition: str, source: str) -> None:
    """A boundary named by the config is in the region's partition and in the config's account (or AWS-managed)."""
    arn = config.aws.permissions_boundary_arn
    if not arn:
        return
    _, arn_partition, _, _, account, _ = arn.split(":", 5)
    if arn_partition != partition:
        raise ConfigError(f"{source}: aws.permissions_boundary_arn: {arn} is not in partition {partition}")
    if account not in (config.account_id, "aws"):
        raise ConfigError(f"{source}: aws.permissions_boundary_arn: {arn} is in account {account}, not {config.account_id}; "
                          "a permissions boundary must be a policy of the role's own account (or AWS-managed)")


def boundary_specs(ctx: ProjectContext, settings: dict[str, Any]) -> list[ManagedPolicySpec]:
    """The environment's permissions boundary, shared like the artifact bucket; none when the config names one."""
    name = ctx.permissions_boundary_name
    if name is None:
        return []
    document = boundary_document(ctx.arns, ctx.environment, sorted(settings), environment_buckets(ctx.config, settings, ctx.region))
    return [ManagedPolicySpec(name=name, component="boundary", document=document,
                              description=f"The most any pipeline role of {ctx.environment} in {ctx.region} may do",
                              tags=resource_tags(SHARED_OWNER, ctx.environment, "boundary", dict(ctx.config.tags), ctx.commit))]


def check_role_boundaries(specs: list[Spec], ctx: ProjectContext) -> None:
    """Every role carries the environment's boundary (and is created after it): the deployer may write no other role."""
    for spec in specs:
        if not isinstance(spec, RoleSpec):
            continue
        if spec.permissions_boundary != ctx.permissions_boundary_arn:
            raise ProjectError(f"{spec.key}: permissions_boundary is {spec.permissions_boundary or 'not set'}; every role must carry "
                               f"the environment's boundary {ctx.permissions_boundary_arn} (ctx.permissions_boundary_arn)")
        missing = [key for key in ctx.boundary_dependency if key not in spec.depends_on]
        if missing:
            raise ProjectError(f"{spec.key}: must depend on {missing[0]} (ctx.boundary_dependency): the boundary is created first")


def artifact_bucket_spec(ctx: ProjectContext) -> BucketSpec:
    return BucketSpec(name=ctx.artifact_bucket, component="artifacts", tls_only=ctx.config.tls_endpoint,
                      append_only=(f"{STATE_PREFIX}/*/history/*",), object_lock=ctx.config.history_retention_days is not None,
                      tags=resource_tags(SHARED_OWNER, ctx.environment, "artifacts", dict(ctx.config.tags), ctx.commit))


Credential = Literal["plan", "deploy", "run"]  # which of the deployer's policies the command needs (deployer_policy.py)


def role_for(aws: AwsAccess, credential: Credential) -> str | None:
    """The role a command assumes: plan_role_arn for plan, run_role_arn for run, else assume_role_arn."""
    return {"plan": aws.plan_role_arn, "run": aws.run_role_arn}.get(credential) or aws.assume_role_arn


def aws_target(prepared: Prepared, credential: Credential = "deploy") -> AwsTarget:
    aws = prepared.config.aws
    endpoint = aws.endpoint
    if prepared.config.is_local:
        from ..local_aws.manager import ensure_running  # only local mode needs moto installed

        endpoint = ensure_running()
    return AwsTarget(region=prepared.region, endpoint_url=endpoint, profile=aws.profile, assume_role_arn=role_for(aws, credential),
                     retry_mode=aws.retry_mode, max_attempts=aws.max_attempts, local=endpoint is not None and prepared.config.is_local,
                     max_in_flight=aws.max_in_flight)


def connect(prepared: Prepared, call_log: CallLog | None = None,
            event_hooks: list[tuple[str, Callable[..., Any]]] | None = None, target: AwsTarget | None = None,
            adopt: Iterable[str] = (), credential: Credential = "deploy") -> Engine:
    """Clients for the config's account (as the role of ``credential``), checked by the account guard, and the engine.

    ``adopt``: 'kind:name' keys of resources another owner's tags claim that this deployment may take over."""
    clients = _checked_clients(prepared, target or aws_target(prepared, credential), call_log, event_hooks)
    return _engine(prepared, clients, Provenance.collect(REPO_ROOT, prepared.context.commit, prepared.config_path), adopt)


def connect_all(targets: list[Prepared], credential: Credential = "deploy", adopt: Iterable[str] = ()) -> list[Engine]:
    """An engine for each part of a run (``prepare_targets``). Parts that reach AWS the same way (one config, one
    region: every part of a run) share one set of clients, so a run of 50 projects makes each client once, asks
    STS once for the account guard, and has one pool of workers: at most the target's max_in_flight calls at once,
    all projects together."""
    clients: dict[AwsTarget, AwsClients] = {}
    targets_of: dict[tuple[Path, str], AwsTarget] = {}
    provenances: dict[tuple[Path, str], Provenance] = {}
    engines = []
    for prepared in targets:
        where = (prepared.config_path, prepared.region)
        if where not in targets_of:
            targets_of[where] = aws_target(prepared, credential)
        target = targets_of[where]
        if target not in clients:
            clients[target] = _checked_clients(prepared, target)
        else:
            _check_same_account(clients[target], prepared)
        made = (prepared.config_path, prepared.context.commit)
        if made not in provenances:
            provenances[made] = Provenance.collect(REPO_ROOT, prepared.context.commit, prepared.config_path)
        engines.append(_engine(prepared, clients[target], provenances[made], adopt))
    return engines


def _checked_clients(prepared: Prepared, target: AwsTarget, call_log: CallLog | None = None,
                     event_hooks: list[tuple[str, Callable[..., Any]]] | None = None) -> AwsClients:
    try:
        clients = AwsClients(target, call_log=call_log, event_hooks=event_hooks)
    except (ClientError, BotoCoreError) as exc:  # unknown profile, refused assume-role, ...
        raise AwsCallError(f"{prepared.config_path}: aws: cannot get credentials: {exc}") from None
    check_account(clients, prepared.config.account_id, str(prepared.config_path))
    return clients


def _check_same_account(clients: AwsClients, prepared: Prepared) -> None:
    """The account guard for another part over clients already checked: the identity STS gave them."""
    if clients.identity.get("Account") != prepared.config.account_id:
        check_account(clients, prepared.config.account_id, str(prepared.config_path))


def _engine(prepared: Prepared, clients: AwsClients, provenance: Provenance, adopt: Iterable[str]) -> Engine:
    handlers = build_handlers(clients, Arns(prepared.region, prepared.config.account_id))
    return Engine(clients, handlers, prepared.record, prepared.region, prepared.context.commit,
                  provenance=provenance, adopt=frozenset(adopt), history_retention_days=prepared.config.history_retention_days)
