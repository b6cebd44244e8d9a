"""All AWS access goes through here: session, region, endpoint, retries, user agent, account guard.

Nothing else in the deployer builds a boto3 client. The same code serves real AWS and the local
emulator; only the endpoint differs.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from .. import __version__
from .errors import AccountMismatchError, AwsCallError

USER_AGENT = f"aws-pipeline-deployer/{__version__}"
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # moto accepts any; not a secret

# Operation-name prefixes that only read. Everything else is counted as a write (mutating call).
READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Head", "BatchGet", "Search", "Lookup", "Validate")
ROLE_SESSION_NAME = "pipeline-deployer"
# AWS calls in flight at once through one target's clients, all projects of a run together: what the engine's
# workers number at most, and the connections each client keeps (botocore's default is 10 per client).
# A run is bound by AWS's latency (tens of ms a call), not by CPU, as long as the graph's width fits in this.
MAX_IN_FLIGHT = 32

T = TypeVar("T")
R = TypeVar("R")


def is_mutating(operation_name: str) -> bool:
    """True for AWS operations that change something (CreateX, PutX, UpdateX, TagResource, ...)."""
    return not operation_name.startswith(READ_ONLY_PREFIXES)


@dataclass
class CallLog:
    """Thread-safe record of the AWS calls a run made, by service and operation."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, service: str, operation: str) -> None:
        with self._lock:
            self.calls.append((service, operation))

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if is_mutating(c[1])]


@dataclass(frozen=True)
class AwsTarget:
    """Where and as whom to call AWS."""

    region: str
    endpoint_url: str | None = None
    profile: str | None = None
    assume_role_arn: str | None = None
    retry_mode: str = "standard"
    max_attempts: int = 8
    local: bool = False
    max_in_flight: int = MAX_IN_FLIGHT


class AwsClients:
    """One boto3 session and a cache of clients for one target (clients are thread-safe; sessions are not),
    and the workers that make the calls: at most ``max_in_flight`` at once, shared by every engine (project)
    over these clients. Threads start as work arrives, so a run uses as many as its graph is wide."""

    def __init__(self, target: AwsTarget, call_log: CallLog | None = None,
                 event_hooks: list[tuple[str, Callable[..., Any]]] | None = None):
        self.target = target
        self.call_log = call_log or CallLog()
        self._event_hooks = list(event_hooks or [])
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self.identity: dict[str, str] = {}  # who the credentials are, once caller_account() has asked STS
        self._config = Config(
            region_name=target.region,
            user_agent_extra=USER_AGENT,
            retries={"mode": target.retry_mode, "total_max_attempts": target.max_attempts},
            connect_timeout=10,
            read_timeout=70,
            max_pool_connections=target.max_in_flight,  # one connection per worker, kept open between calls
        )
        self._session = self._make_session()
        self._workers = ThreadPoolExecutor(max_workers=target.max_in_flight, thread_name_prefix="aws-call",
                                           initializer=_mark_worker)

    def submit(self, work: Callable[..., R], *args: Any) -> Future[R]:
        """Run ``work(*args)`` on the clients' workers. Work already on them may submit more but not wait for it
        (the workers are bounded: they could all be waiting); ``map`` may be waited on from anywhere."""
        return self._workers.submit(work, *args)

    def map(self, work: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``work`` over ``items`` on the workers, in order; the first error is raised once all have finished.

        Called by work that itself runs on these workers (a read that fans out), the items run on a few threads
        of their own: a worker that waited on the bounded workers could wait for ever, all of them waiting."""
        items = list(items)
        if getattr(_worker, "active", False):
            if len(items) <= 1:
                return [work(item) for item in items]
            with ThreadPoolExecutor(max_workers=min(len(items), NESTED_WORKERS)) as pool:
                futures = [pool.submit(work, item) for item in items]
        else:
            futures = [self._workers.submit(work, item) for item in items]
        for future in futures:
            future.exception()  # wait for every one, so no work is left running behind an error
        return [future.result() for future in futures]

    def _make_session(self) -> boto3.Session:
        t = self.target
        core = _botocore_session()
        if t.local:
            session = boto3.Session(botocore_session=core, region_name=t.region, **LOCAL_CREDENTIALS)
        else:
            session = boto3.Session(botocore_session=core, region_name=t.region, profile_name=t.profile)
            core.get_scoped_config()  # an unknown profile fails here (ProfileNotFound), not at the first call
        if not t.assume_role_arn:
            return session
        # Assumed-role credentials last an hour; a deploy or a followed run may take longer. botocore
        # refreshes these before they expire (15 min ahead, then 10 min ahead as a must), calling
        # AssumeRole again with the source credentials; every client shares them.
        credentials = DeferredRefreshableCredentials(refresh_using=self._assume_role_using(session), method="assume-role")
        credentials.get_frozen_credentials()  # assume now: a refused role fails here, before any other call
        assumed = _botocore_session()
        assumed.get_component("credential_provider").insert_before("env", _FixedCredentials(credentials))
        return boto3.Session(botocore_session=assumed, region_name=t.region)

    def _assume_role_using(self, source: boto3.Session) -> Callable[[], dict[str, Any]]:
        """The refresh function of the assumed-role credentials: one AssumeRole with the source credentials."""
        t = self.target

        def assume_role() -> dict[str, Any]:
            sts = source.client("sts", endpoint_url=t.endpoint_url, config=self._config)
            for event, hook in self._event_hooks:
                sts.meta.events.register(event, hook)
            creds = sts.assume_role(RoleArn=t.assume_role_arn, RoleSessionName=ROLE_SESSION_NAME)["Credentials"]
            return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                    "token": creds["SessionToken"], "expiry_time": creds["Expiration"].isoformat()}

        return assume_role

    @property
    def credentials(self) -> Any:
        """The session's credentials; refreshable (botocore refreshes them in place) when a role is assumed."""
        return self._session.get_credentials()

    def client(self, service: str) -> Any:
        found = self._clients.get(service)  # no lock once made: calls through other clients never wait on a creation
        if found is not None:
            return found
        with self._lock:
            if service not in self._clients:
                client = self._session.client(service, endpoint_url=self.target.endpoint_url, config=self._config)
                client.meta.events.register("before-call", self._record_call)
                for event, hook in self._event_hooks:
                    client.meta.events.register(event, hook)
                self._clients[service] = client
            return self._clients[service]

    def _record_call(self, model: Any, **_: Any) -> None:
        self.call_log.record(model.service_model.service_name, model.name)

    def caller_account(self) -> str:
        """The account of the credentials; also keeps the caller's identity (``identity``: Account, Arn, UserId)."""
        try:
            found = self.client("sts").get_caller_identity()
        except (ClientError, BotoCoreError) as exc:
            raise AwsCallError(f"sts:GetCallerIdentity failed (are credentials set for region {self.target.region}?): {exc}") from None
        self.identity = {k: found[k] for k in ("Account", "Arn", "UserId") if k in found}
        return found["Account"]


_worker = threading.local()  # .active on the clients' worker threads
NESTED_WORKERS = 4  # threads of a fan-out made by work already on the workers (see AwsClients.map)


def _mark_worker() -> None:
    _worker.active = True


_loader_lock = threading.Lock()
_shared_loader: Any = None


def _botocore_session() -> botocore.session.Session:
    """A new botocore session whose data loader (service models, endpoints) is the process's one. Parsing
    botocore's JSON models is most of what making a client costs (tens of ms each); parsed once, every
    later session's clients (another target, another project's engine, a test) are made in a few ms."""
    global _shared_loader
    session = botocore.session.Session()
    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = session.get_component("data_loader")
        else:
            session.register_component("data_loader", _shared_loader)
    return session


class _FixedCredentials(CredentialProvider):
    """A credential provider that answers with the given (refreshable) credentials."""

    METHOD = "pipeline-deployer-assume-role"
    CANONICAL_NAME = "custom-pipeline-deployer-assume-role"

    def __init__(self, credentials: DeferredRefreshableCredentials):
        super().__init__()
        self._credentials = credentials

    def load(self) -> DeferredRefreshableCredentials:
        return self._credentials


def check_account(clients: AwsClients, expected_account_id: str, source: str) -> None:
    """Account guard: stop before any write when the credentials are for another account."""
    actual = clients.caller_account()
    if actual != expected_account_id:
        raise AccountMismatchError(
            f"{source}: account_id: credentials are for account {actual}, config names {expected_account_id}; nothing was changed"
        )


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError, '' for anything else."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return ""


def local_environment_defaults() -> None:
    """Dummy credentials for code that builds its own clients against the local endpoint (e.g. tests)."""
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(key, value)
