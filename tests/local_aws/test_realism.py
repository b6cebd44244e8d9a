"""The realism layer over HTTP: each behaviour answers exactly what AWS answers (code, status, message).

Clients here make one attempt (no botocore retries), so every refusal is seen as AWS sends it.
"""

from __future__ import annotations

import json
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from deploy.local_aws.admin import LocalAwsError, get_realism, set_realism
from deploy.local_aws.realism.settings import OFF, RealismSettings, from_environment

from .support import create_bucket, make_zip, wait_until

REALISM_ON = True
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})
TRUST = {"lambda": "lambda.amazonaws.com", "glue": "glue.amazonaws.com", "states": "states.amazonaws.com"}


@pytest.fixture
def aws(clean_aws_endpoint, local_aws_client):
    return lambda service: local_aws_client(service, config=ONE_ATTEMPT)


def _role(iam, name, service):
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": TRUST[service]},
                                                      "Action": "sts:AssumeRole"}]}
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def _error(call):
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def _function(lam, role_arn, name="fn", **extra):
    return lam.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="h.handler",
                               Code={"ZipFile": make_zip({"h.py": "def handler(e, c):\n    return 1\n"})}, **extra)


# ---- IAM propagation ---------------------------------------------------------------------------

def test_a_new_role_is_refused_by_lambda_then_accepted(aws, realism):
    realism(iam_propagation_seconds=1.5)
    arn = _role(aws("iam"), "fresh", "lambda")
    assert _error(lambda: _function(aws("lambda"), arn)) == (
        400, "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.")
    time.sleep(1.6)
    assert _function(aws("lambda"), arn)["FunctionName"] == "fn"


def test_a_new_role_is_refused_by_glue_crawlers(aws, realism):
    realism(iam_propagation_seconds=30)
    arn = _role(aws("iam"), "crawler", "glue")
    aws("glue").create_database(DatabaseInput={"Name": "db"})
    status, code, message = _error(lambda: aws("glue").create_crawler(
        Name="c", Role=arn, DatabaseName="db", Targets={"S3Targets": [{"Path": "s3://b/x/"}]}))
    assert (status, code) == (400, "InvalidInputException")
    assert message.startswith("Service is unable to assume provided role")


def test_step_functions_refuse_a_new_role_and_a_changed_role_when_logging(aws, realism):
    realism(iam_propagation_seconds=1.0)
    sfn, iam = aws("stepfunctions"), aws("iam")
    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}})
    arn = _role(iam, "machine", "states")
    status, code, message = _error(lambda: sfn.create_state_machine(name="m", definition=definition, roleArn=arn))
    assert (status, code) == (400, "AccessDeniedException")
    assert message == ("Neither the global service principal states.amazonaws.com, nor the regional one is authorized to "
                       "assume the provided role.")
    time.sleep(1.1)
    sfn.create_state_machine(name="m", definition=definition, roleArn=arn)
    iam.put_role_policy(RoleName="machine", PolicyName="logs", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}))
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    logging = {"level": "ALL", "includeExecutionData": False, "destinations": [
        {"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:us-east-2:123456789012:log-group:g:*"}}]}
    assert _error(lambda: sfn.update_state_machine(stateMachineArn=machine, loggingConfiguration=logging, roleArn=arn)) == (
        400, "AccessDeniedException", "The state machine IAM Role is not authorized to access the Log Destination")
    sfn.update_state_machine(stateMachineArn=machine, definition=definition)  # no logging, trust unchanged: accepted


# ---- Lambda states -----------------------------------------------------------------------------

def test_lambda_is_pending_after_create_and_in_progress_after_an_update(aws, realism):
    realism(iam_propagation_seconds=0, lambda_pending_seconds=1.0, lambda_update_seconds=1.0)
    lam = aws("lambda")
    created = _function(lam, _role(aws("iam"), "r", "lambda"), Publish=True)
    assert created["State"] == "Pending"
    assert lam.get_function(FunctionName="fn")["Configuration"]["State"] == "Pending"
    status, code, message = _error(lambda: lam.publish_version(FunctionName="fn"))
    assert (status, code) == (409, "ResourceConflictException") and "Pending" in message
    lam.get_waiter("function_active_v2").wait(FunctionName="fn", WaiterConfig={"Delay": 0.2, "MaxAttempts": 20})

    lam.update_function_configuration(FunctionName="fn", MemorySize=512)
    assert lam.get_function_configuration(FunctionName="fn")["LastUpdateStatus"] == "InProgress"
    status, code, message = _error(lambda: lam.update_function_code(FunctionName="fn", ZipFile=make_zip({"h.py": "x = 1"})))
    assert (status, code) == (409, "ResourceConflictException")
    assert message.startswith("The operation cannot be performed at this time. An update is in progress for resource: "
                              "arn:aws:lambda:us-east-2:123456789012:function:fn")
    assert lam.get_function(FunctionName="fn", Qualifier="1")["Configuration"]["State"] == "Active", "versions are immutable"
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn", WaiterConfig={"Delay": 0.2, "MaxAttempts": 20})
    assert lam.publish_version(FunctionName="fn")["Version"] == "2"


def test_reserved_concurrency_must_leave_100_unreserved(aws, realism):
    realism(iam_propagation_seconds=0, lambda_pending_seconds=0, lambda_concurrency_limit=150)
    lam = aws("lambda")
    _function(lam, _role(aws("iam"), "r", "lambda"))
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 150
    lam.put_function_concurrency(FunctionName="fn", ReservedConcurrentExecutions=50)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 100
    assert _error(lambda: lam.put_function_concurrency(FunctionName="fn", ReservedConcurrentExecutions=51)) == (
        400, "InvalidParameterValueException", "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [100].")


# ---- Glue crawlers -----------------------------------------------------------------------------

def test_a_running_crawler_cannot_be_updated_or_deleted(aws, realism):
    realism(iam_propagation_seconds=0, crawler_run_seconds=1.5)
    glue = aws("glue")
    glue.create_database(DatabaseInput={"Name": "db"})
    glue.create_crawler(Name="c", Role=_role(aws("iam"), "cr", "glue"), DatabaseName="db",
                        Targets={"S3Targets": [{"Path": "s3://b/x/"}]})
    glue.start_crawler(Name="c")
    assert glue.get_crawler(Name="c")["Crawler"]["State"] == "RUNNING"
    assert _error(lambda: glue.update_crawler(Name="c", Description="new"))[1] == "CrawlerRunningException"
    assert _error(lambda: glue.delete_crawler(Name="c"))[:2] == (400, "CrawlerRunningException")
    wait_until(lambda: glue.get_crawler(Name="c")["Crawler"]["State"] == "READY", timeout=10, what="crawl end")
    glue.update_crawler(Name="c", Description="new")
    glue.delete_crawler(Name="c")


# ---- EventBridge, Step Functions, S3 -------------------------------------------------------------

def test_put_and_remove_targets_partially_fail_with_http_200(aws, realism):
    realism(events_failed_calls_per_rule=1)
    events = aws("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["x"]}))
    target = {"Id": "t1", "Arn": "arn:aws:sqs:us-east-2:123456789012:q"}
    first = events.put_targets(Rule="r", Targets=[target])
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert first["FailedEntryCount"] == 1
    assert first["FailedEntries"][0]["TargetId"] == "t1"
    assert first["FailedEntries"][0]["ErrorCode"] == "ConcurrentModificationException"
    assert events.list_targets_by_rule(Rule="r")["Targets"] == [], "a failed entry is not applied"
    assert events.put_targets(Rule="r", Targets=[target])["FailedEntryCount"] == 0
    assert events.remove_targets(Rule="r", Ids=["t1"])["FailedEntryCount"] == 1
    assert events.remove_targets(Rule="r", Ids=["t1"])["FailedEntryCount"] == 0


def test_describe_state_machine_shows_the_old_definition_for_a_moment(aws, realism):
    realism(iam_propagation_seconds=0, sfn_stale_read_seconds=1.0)
    sfn = aws("stepfunctions")
    old = {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}
    new = {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}
    arn = sfn.create_state_machine(name="m", definition=json.dumps(old), roleArn=_role(aws("iam"), "m", "states"))[
        "stateMachineArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(new))
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == old
    time.sleep(1.1)
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == new


def test_a_conditional_write_racing_a_delete_gets_409_and_a_false_condition_412(aws, realism):
    realism(s3_conflict_seconds=5)
    s3 = aws("s3")
    create_bucket(s3, "realism-bucket")
    s3.put_object(Bucket="realism-bucket", Key="lock", Body=b"a")
    s3.delete_object(Bucket="realism-bucket", Key="lock")
    status, code, _ = _error(lambda: s3.put_object(Bucket="realism-bucket", Key="lock", Body=b"b", IfNoneMatch="*"))
    assert (status, code) == (409, "ConditionalRequestConflict")
    s3.put_object(Bucket="realism-bucket", Key="lock", Body=b"b", IfNoneMatch="*")  # the retry goes through
    assert _error(lambda: s3.put_object(Bucket="realism-bucket", Key="lock", Body=b"c", IfNoneMatch="*"))[:2] == (
        412, "PreconditionFailed")


def test_hot_step_functions_reads_are_throttled_by_a_token_bucket(aws, realism):
    realism(throttles={"states:ListExecutions": [3, 1.0]})
    sfn = aws("stepfunctions")
    arn = "arn:aws:states:us-east-2:123456789012:stateMachine:none"
    answers = []
    for _ in range(5):
        try:
            sfn.list_executions(stateMachineArn=arn)
            answers.append("ok")
        except ClientError as exc:
            answers.append(exc.response["Error"]["Code"])
    assert answers[:3] != ["ThrottlingException"] * 3 and answers[3:] == ["ThrottlingException"] * 2
    time.sleep(1.1)
    assert _error(lambda: sfn.list_executions(stateMachineArn=arn))[1] != "ThrottlingException"


# ---- settings ------------------------------------------------------------------------------------

def test_settings_come_from_the_environment_and_can_be_changed_at_run_time(aws_endpoint, realism):
    assert from_environment({}) == RealismSettings()
    assert from_environment({"PIPELINE_DEPLOYER_REALISM": "off"}) == OFF
    assert from_environment({"PIPELINE_DEPLOYER_REALISM": '{"crawler_run_seconds": 9}'}).crawler_run_seconds == 9.0
    with pytest.raises(ValueError, match="unknown realism setting 'typo'"):
        from_environment({"PIPELINE_DEPLOYER_REALISM": '{"typo": 1}'})
    assert realism(lambda_update_seconds=7)["lambda_update_seconds"] == 7.0
    assert get_realism(aws_endpoint)["lambda_update_seconds"] == 7.0
    with pytest.raises(LocalAwsError, match="must be a number"):
        set_realism(aws_endpoint, {"lambda_update_seconds": "soon"})


def test_realism_off_answers_like_plain_moto(aws, realism):
    realism(enabled=False, iam_propagation_seconds=60)
    created = _function(aws("lambda"), _role(aws("iam"), "r", "lambda"))
    assert created["State"] == "Active"
    assert aws("lambda").get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 1000, "a moto gap stays filled"


def test_an_s3_object_takes_at_most_10_tags(aws):
    """The deployer adds 5 tags of its own, so a config may add at most 5 (validate checks; AWS refuses more)."""
    from urllib.parse import urlencode

    s3 = aws("s3")
    create_bucket(s3, "tag-limit-bucket")
    s3.put_object(Bucket="tag-limit-bucket", Key="ten", Body=b"x", Tagging=urlencode({f"k{i}": "v" for i in range(10)}))
    status, _, message = _error(lambda: s3.put_object(Bucket="tag-limit-bucket", Key="eleven", Body=b"x",
                                                      Tagging=urlencode({f"k{i}": "v" for i in range(11)})))
    assert (status, message) == (400, "Object tags cannot be greater than 10")



# ---- latency and concurrency (what the latency benchmarks measure with) ----------------------------

def test_call_latency_delays_each_request_but_not_the_others_in_flight(local_aws_client, aws_endpoint, realism):
    """200 ms per call even with realism off, answered concurrently: 8 parallel calls take ~200 ms, not 1.6 s."""
    from concurrent.futures import ThreadPoolExecutor

    from deploy.local_aws.admin import request_stats

    s3 = local_aws_client("s3", config=Config(retries={"total_max_attempts": 1}, max_pool_connections=8))
    s3.list_buckets()  # connect outside the timing
    realism(enabled=False, call_latency_ms=200)
    request_stats(aws_endpoint, reset=True)
    started = time.monotonic()
    s3.list_buckets()
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: s3.list_buckets(), range(8)))
    assert time.monotonic() - started < 0.2 * 4, "requests waited for each other"
    stats = request_stats(aws_endpoint)
    assert stats["requests"] == 9
    assert stats["max_in_flight"] >= 4
    assert request_stats(aws_endpoint, reset=True)["requests"] == 0
