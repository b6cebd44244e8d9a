"""Scheduling: the clients' bounded workers, the apply graph's order and parallelism, and a run of several
projects keeping every project's error. Barriers prove work runs at once; nothing here is timed."""
from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError

from deploy.common.applier import Applier, ApplyResult
from deploy.common.aws_common import AwsClients, AwsTarget
from deploy.common.fleet import Member, apply_all
from deploy.common.kinds.iam_role import RoleSpec
from deploy.common.plan import Change, Plan
from deploy.common.planner import Planner
from deploy.common.record import RecordLocation

WAIT = 10  # seconds a barrier waits before failing the test (a deadlock, not a slow machine)


def clients(max_in_flight: int = 8) -> AwsClients:
    return AwsClients(AwsTarget(region="us-east-2", endpoint_url="http://127.0.0.1:9", local=True, max_in_flight=max_in_flight))


def test_map_keeps_the_order_and_runs_the_items_at_once():
    together = threading.Barrier(4, timeout=WAIT)

    def work(item: int) -> int:
        together.wait()  # all four are running at the same time, or this times out
        return item * 10

    assert clients().map(work, [1, 2, 3, 4]) == [10, 20, 30, 40]


def test_map_raises_the_first_error_once_every_item_has_finished():
    finished = []

    def work(item: int) -> int:
        if item == 1:
            raise ValueError("one failed")
        finished.append(item)
        return item

    with pytest.raises(ValueError, match="one failed"):
        clients().map(work, range(6))
    assert sorted(finished) == [0, 2, 3, 4, 5], "no work is left running behind the error"


def test_no_more_than_max_in_flight_run_at_once():
    lock = threading.Lock()
    running, most = 0, 0

    def work(_: int) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        threading.Event().wait(0.01)
        with lock:
            running -= 1

    clients(max_in_flight=3).map(work, range(12))
    assert most == 3


def test_botocore_keeps_a_connection_per_worker():
    assert clients(max_in_flight=48).client("s3").meta.config.max_pool_connections == 48


class Recorder:
    """A handler whose create records its start and end, and can wait on a barrier."""

    kind = "iam_role"

    def __init__(self, barrier: threading.Barrier | None = None, meet: frozenset[str] = frozenset()):
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.barrier, self.meet = barrier, meet

    def create(self, spec) -> None:
        with self.lock:
            self.events.append(("start", spec.name))
        if spec.name in self.meet:
            self.barrier.wait()
        with self.lock:
            self.events.append(("end", spec.name))


def applier(handler) -> Applier:
    planner = Planner(clients(), {"iam_role": handler}, RecordLocation("bucket", "p", "dev"), "us-east-2")
    return Applier(planner, commit="abc")


def create(name: str, *after: str) -> Change:
    spec = RoleSpec(name=name, component="c", depends_on=tuple(f"iam_role:{a}" for a in after))
    return Change("create", spec.kind, spec.name, spec.component, (), spec)


def test_the_apply_graph_keeps_dependencies_and_runs_independent_changes_at_once():
    # a -> b -> c, and d beside them: a and d meet (both run at once), b starts only after a ended, c after b.
    handler = Recorder(threading.Barrier(2, timeout=WAIT), meet=frozenset({"a", "d"}))
    changes = [create("a"), create("b", "a"), create("c", "b"), create("d")]
    result = ApplyResult()
    applier(handler)._run_graph(changes, result, lambda *_: None, lambda c: c.spec.depends_on)
    assert [o.status for o in result.outcomes] == ["done"] * 4
    order = handler.events
    assert order.index(("end", "a")) < order.index(("start", "b")) and order.index(("end", "b")) < order.index(("start", "c"))


def test_after_a_failure_nothing_new_starts_and_the_rest_is_skipped():
    class Failing(Recorder):
        def create(self, spec) -> None:
            if spec.name == "a":
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "CreateRole")
            super().create(spec)

    handler = Failing()
    result = ApplyResult()
    applier(handler)._run_graph([create("a"), create("b", "a")], result, lambda *_: None, lambda c: c.spec.depends_on)
    assert {o.change.name: o.status for o in result.outcomes} == {"a": "failed", "b": "skipped"}
    assert handler.events == []


class StubEngine:
    def __init__(self, outcome):
        self.outcome = outcome

    def apply(self, plan, on_event=None):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def member(name: str, outcome) -> Member:
    class Prepared:  # what fleet reads of it
        project = name
        context = type("Context", (), {"settings": object()})()

    plan = Plan(name, "dev", "us-east-2", [Change("create", "iam_role", "r")])
    return Member(Prepared(), StubEngine(outcome), plan=plan)  # type: ignore[arg-type]


def test_a_project_whose_apply_hits_an_aws_error_reports_it_and_the_others_go_on():
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "lock write refused"}}, "PutObject")
    members = [member("one", denied), member("two", ApplyResult())]
    apply_all(members, lambda m: None)
    assert members[0].error == "AWS call failed: AccessDenied: lock write refused"
    assert members[1].result is not None and members[1].result.ok


def test_an_unexpected_error_of_one_project_is_raised_after_all_have_finished():
    members = [member("one", RuntimeError("a bug")), member("two", ApplyResult())]
    with pytest.raises(RuntimeError, match="a bug"):
        apply_all(members, lambda m: None)
    assert members[1].result is not None, "the other project was applied"


def test_work_on_the_workers_may_fan_out_again_without_waiting_on_them():
    # Every worker busy with an item that itself maps over items: on the bounded workers it would never finish.
    aws = clients(max_in_flight=2)
    together = threading.Barrier(2, timeout=WAIT)

    def outer(item: int) -> list[int]:
        together.wait()  # both workers are taken
        return aws.map(lambda x: x + item, [1, 2, 3])

    assert aws.map(outer, [10, 20]) == [[11, 12, 13], [21, 22, 23]]
    together.reset()
    assert aws.map(lambda item: (together.wait(), aws.map(lambda x: x + item, [1]))[1], [10, 20]) == [[11], [21]]


def test_an_unexpected_error_leaves_no_change_running_behind_it():
    go, ended = threading.Event(), []

    class Broken(Recorder):
        def create(self, spec) -> None:
            if spec.name == "broken":
                go.set()
                raise RuntimeError("a bug in a handler")
            go.wait(WAIT)
            threading.Event().wait(0.05)  # still working when the error is raised
            ended.append(spec.name)

    with pytest.raises(RuntimeError, match="a bug"):
        applier(Broken())._run_graph([create("slow"), create("broken")], ApplyResult(), lambda *_: None,
                                     lambda c: c.spec.depends_on)
    assert ended == ["slow"], "the graph returned (and the lock would be released) only after it ended"
