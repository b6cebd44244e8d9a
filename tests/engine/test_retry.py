"""Retries keyed on AWS's codes and messages, bounded by wall-clock budgets (a fake clock: no real waiting)."""
import pytest
from botocore.exceptions import ClientError

from deploy.common import retry


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch):
    t = FakeTime()
    monkeypatch.setattr(retry, "clock", t.clock)
    monkeypatch.setattr(retry, "sleep", t.sleep)
    return t


def _error(code, message=""):
    return ClientError({"Error": {"Code": code, "Message": message}}, "CreateFunction")


def _failing(*errors, then="ok"):
    items = iter(errors)

    def call():
        item = next(items, None)
        if item is None:
            return then
        raise item
    return call


LAMBDA_ROLE = _error("InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.")


def test_role_propagation_is_waited_out_with_backoff(fake_time):
    call = _failing(LAMBDA_ROLE, LAMBDA_ROLE, LAMBDA_ROLE)
    assert retry.call_with_retries(call, retry.LAMBDA_ROLE_NOT_READY, budget=120) == "ok"
    assert fake_time.sleeps == [0.5, 1.0, 2.0]


def test_same_code_with_another_message_is_not_retried(fake_time):
    """InvalidParameterValueException also means a bad value: only the propagation message is temporary."""
    call = _failing(_error("InvalidParameterValueException", "Unsupported runtime: python2.7"))
    with pytest.raises(ClientError, match="Unsupported runtime"):
        retry.call_with_retries(call, retry.LAMBDA_ROLE_NOT_READY, budget=120)
    assert fake_time.sleeps == []


@pytest.mark.parametrize("transient,error", [
    (retry.GLUE_ROLE_NOT_READY, _error("InvalidInputException", "Service is unable to assume provided role. Please verify role's TrustPolicy.")),
    (retry.SFN_ROLE_NOT_READY, _error("AccessDeniedException", "Neither the global service principal states.amazonaws.com, nor the "
                                                                "regional one is authorized to assume the provided role.")),
    (retry.SFN_ROLE_NOT_READY, _error("AccessDeniedException", "The state machine IAM Role is not authorized to access the Log Destination")),
    (retry.LAMBDA_UPDATE_IN_PROGRESS, _error("ResourceConflictException", "The operation cannot be performed at this time. An update is "
                                                                          "in progress for resource: arn:aws:lambda:us-east-2:1:function:f")),
    (retry.CRAWLER_RUNNING, _error("CrawlerRunningException", "Crawler with name c has already started")),
    (retry.S3_CONDITIONAL_CONFLICT, _error("ConditionalRequestConflict", "A conflicting operation occurred.")),
])
def test_each_services_real_answer_is_recognised(fake_time, transient, error):
    assert retry.call_with_retries(_failing(error), transient, budget=60) == "ok"


def test_sfn_access_denied_for_a_real_permission_problem_is_not_retried(fake_time):
    call = _failing(_error("AccessDeniedException", "User: x is not authorized to perform: states:CreateStateMachine"))
    with pytest.raises(ClientError):
        retry.call_with_retries(call, retry.SFN_ROLE_NOT_READY, budget=120)


def test_budget_is_wall_clock_time_not_attempts(fake_time):
    calls = []

    def always():
        calls.append(fake_time.now)
        raise LAMBDA_ROLE

    with pytest.raises(ClientError):
        retry.call_with_retries(always, retry.LAMBDA_ROLE_NOT_READY, budget=120)
    assert fake_time.now <= 120 and fake_time.now > 100, "keeps trying for (nearly) the whole budget"
    assert max(fake_time.sleeps) == 5.0, "backoff is capped"
    assert len(calls) > 10


def test_waits_are_reported_to_the_current_thread_reporter(fake_time):
    seen = []
    with retry.reporting(seen.append):
        retry.call_with_retries(_failing(LAMBDA_ROLE), retry.LAMBDA_ROLE_NOT_READY, budget=60, what="fpac-dev-validate-role")
    retry.call_with_retries(_failing(LAMBDA_ROLE), retry.LAMBDA_ROLE_NOT_READY, budget=60)  # no reporter: silent
    assert len(seen) == 1 and "IAM role propagation" in seen[0] and "fpac-dev-validate-role" in seen[0]


def test_wait_until_polls_then_times_out_naming_what_it_waited_for(fake_time):
    answers = iter([None, None, "ready"])
    assert retry.wait_until(lambda: next(answers), budget=60, what="crawler c") == "ready"
    with pytest.raises(retry.WaitTimeout, match="crawler c: still not done after 30s"):
        retry.wait_until(lambda: None, budget=30, what="crawler c")
