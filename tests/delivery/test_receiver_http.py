"""The webhook receiver over real HTTP, with a stub Jenkins on loopback recording what it is asked."""
from __future__ import annotations

import base64
import io
import json
import socket

import pytest
import requests

from deploy.delivery.signature import sign

from .conftest import DEV_NEW, JENKINS_ENV, MERGE, PROJECTS, REL, SECRET, TAG_OBJECT, fixture_bytes


def post(receiver, key: str | None, body: bytes, delivery: str | None = "d-1", signature: str | None = "sign",
         id_header: str = "X-Request-UUID") -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-Event-Key"] = key
    if delivery is not None:
        headers[id_header] = delivery
    if signature == "sign":
        signature = sign(SECRET.encode(), body)
    if signature is not None:
        headers["X-Hub-Signature"] = signature
    return requests.post(f"{receiver.url}/webhook", data=body, headers=headers, timeout=10)


def log_lines(receiver) -> list[dict]:
    return [json.loads(line) for line in receiver.logs.getvalue().splitlines()]


def test_push_triggers_jenkins_with_the_decision(start_receiver, jenkins):
    receiver = start_receiver()
    response = post(receiver, "repo:push", fixture_bytes("cloud/repo_push_develop.json"), delivery="cloud-1")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "triggered" and body["delivery_id"] == "cloud-1"
    assert body["results"][0]["outcome"] == "triggered"
    assert body["results"][0]["queue_url"] == f"{jenkins.url}/queue/item/1/"
    [request] = jenkins.requests
    assert request["path"] == "/job/delivery/job/aws-pipelines/buildWithParameters"
    assert request["authorization"] == "Basic " + base64.b64encode(b"deploy-bot:tok-3f9a1c7e5b").decode()
    assert request["form"] == {
        "ENVIRONMENT": "dev", "ACTION": "deploy", "COMMIT": DEV_NEW, "PROJECTS": ",".join(PROJECTS),
        "GIT_EVENT": "push", "GIT_REF": "develop", "GIT_TARGET": "", "CHANGED_SINCE": "3b1f0c9e5d7a2f4b6c8d0e1f2a3b4c5d6e7f8091",
        "DELIVERY_ID": "cloud-1",
    }
    [line] = [line for line in log_lines(receiver) if line["message"] == "webhook handled"]
    assert (line["status"], line["outcome"], line["delivery_id"], line["event_key"]) == (200, "triggered", "cloud-1", "repo:push")
    assert line["decisions"][0]["environment"] == "dev"


def test_server_push_with_several_changes_triggers_each_deployment_once(start_receiver, jenkins):
    receiver = start_receiver()
    response = post(receiver, "repo:refs_changed", fixture_bytes("server/refs_changed_multi.json"), id_header="X-Request-Id")
    assert response.status_code == 200
    assert [r["outcome"] for r in response.json()["results"]] == ["triggered", "nothing", "triggered", "nothing"]
    builds = jenkins.builds()
    assert [(b["ENVIRONMENT"], b["GIT_REF"], b["COMMIT"]) for b in builds] == [
        ("test", "release/2.1", REL), ("prod", "v2.1.0", TAG_OBJECT)]  # the pipeline peels the tag object


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("pullrequest:fulfilled", "cloud/pullrequest_fulfilled.json"), ("repo:push", "cloud/repo_push_main_merge.json")),
        (("repo:push", "cloud/repo_push_main_merge.json"), ("pullrequest:fulfilled", "cloud/pullrequest_fulfilled.json")),
        (("pr:merged", "server/pr_merged.json"), ("repo:refs_changed", "server/refs_changed_main_merge.json")),
    ],
)
def test_a_merge_produces_one_deployment_not_two(start_receiver, jenkins, first, second):
    receiver = start_receiver()
    one = post(receiver, first[0], fixture_bytes(first[1]), delivery="merge-a")
    two = post(receiver, second[0], fixture_bytes(second[1]), delivery="merge-b")
    assert (one.status_code, one.json()["status"]) == (200, "triggered")
    assert (two.status_code, two.json()["status"]) == (200, "nothing_to_deploy")
    assert two.json()["results"][0]["outcome"] == "already_triggered"
    [build] = jenkins.builds()
    assert build["ENVIRONMENT"] == "prod" and build["ACTION"] == "plan"
    assert MERGE.startswith(build["COMMIT"])


def test_a_repeated_delivery_is_answered_but_not_triggered_again(start_receiver, jenkins):
    receiver = start_receiver()
    body = fixture_bytes("server/refs_changed_develop.json")
    assert post(receiver, "repo:refs_changed", body, delivery="retry-1", id_header="X-Request-Id").json()["status"] == "triggered"
    again = post(receiver, "repo:refs_changed", body, delivery="retry-1", id_header="X-Request-Id")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert len(jenkins.builds()) == 1


def test_nothing_to_deploy_is_200_and_triggers_nothing(start_receiver, jenkins):
    receiver = start_receiver()
    response = post(receiver, "pullrequest:created", fixture_bytes("cloud/pullrequest_created.json"))
    assert (response.status_code, response.json()["status"]) == (200, "nothing_to_deploy")
    assert "no routing rule matches" in response.json()["results"][0]["reason"]
    assert jenkins.requests == []


def test_missing_or_wrong_signature_is_401(start_receiver, jenkins):
    receiver = start_receiver()
    body = fixture_bytes("cloud/repo_push_develop.json")
    missing = post(receiver, "repo:push", body, signature=None)
    assert (missing.status_code, missing.json()["error"]) == (401, "missing X-Hub-Signature")
    wrong = post(receiver, "repo:push", body, signature=sign(b"not the secret", body))
    assert (wrong.status_code, wrong.json()["error"]) == (401, "X-Hub-Signature does not match the body")
    tampered = post(receiver, "repo:push", body.replace(b"develop", b"release/x"), signature=sign(SECRET.encode(), body))
    assert tampered.status_code == 401
    assert jenkins.requests == []


def test_body_not_json_or_missing_fields_or_no_event_key_is_400(start_receiver, jenkins):
    receiver = start_receiver()
    assert post(receiver, "repo:push", b"<xml/>").status_code == 400
    assert post(receiver, "repo:push", b"\xff\xfe").status_code == 400
    broken = post(receiver, "repo:push", b'{"push": {}}')
    assert (broken.status_code, broken.json()["error"]) == (400, "repo:push payload: push.changes is missing")
    no_key = post(receiver, None, fixture_bytes("cloud/repo_push_develop.json"))
    assert (no_key.status_code, no_key.json()["error"]) == (400, "missing X-Event-Key header")
    assert jenkins.requests == []


def chunked(body: bytes, size: int = 1000):
    """The body as a generator: requests then sends it with Transfer-Encoding: chunked (no Content-Length)."""
    return (body[i:i + size] for i in range(0, len(body), size))


def test_body_over_the_limit_is_413_with_or_without_a_length(start_receiver, jenkins):
    """waitress refuses it before reading it whole: a declared length over the limit at once, a
    chunked body as soon as it passes the limit."""
    receiver = start_receiver(max_body_bytes=4096)
    body = json.dumps({"push": {"changes": []}, "padding": "x" * 8000}).encode()
    response = post(receiver, "repo:push", body)
    assert response.status_code == 413
    for too_big in (body, body * 100):
        headers = {"X-Event-Key": "repo:push", "X-Request-UUID": "big", "X-Hub-Signature": sign(SECRET.encode(), too_big)}
        response = requests.post(f"{receiver.url}/webhook", data=chunked(too_big), headers=headers, timeout=10)
        assert response.status_code == 413
        assert "Transfer-Encoding" not in response.request.headers or response.request.headers["Transfer-Encoding"] == "chunked"
    fits = fixture_bytes("cloud/repo_push_no_changes.json")
    headers = {"X-Event-Key": "repo:push", "X-Request-UUID": "small", "X-Hub-Signature": sign(SECRET.encode(), fits)}
    response = requests.post(f"{receiver.url}/webhook", data=chunked(fits, 100), headers=headers, timeout=10)
    assert (response.status_code, response.json()["status"]) == (200, "nothing_to_deploy")  # chunked and under: read whole
    assert post(receiver, "repo:push", fits, delivery="after").status_code == 200  # still serving
    assert jenkins.requests == []


def test_the_apps_own_limit_answers_413_in_json_under_any_server(jenkins, tmp_path, repo_rules):
    """The Flask app keeps its own limit (for a WSGI server without one), chunked input included."""
    from deploy.delivery.deadletter import DeadLetters
    from deploy.delivery.receiver import ReceiverConfig, create_app

    config = ReceiverConfig(secret=SECRET.encode(), rules=repo_rules, projects=PROJECTS, dead_letters=DeadLetters(tmp_path / "dl"),
                            trigger=lambda parameters: "", state=tmp_path / "state.sqlite3", max_body_bytes=2048)
    client = create_app(config).test_client()
    response = client.post("/webhook", data=b"x" * 4096, headers={"X-Event-Key": "repo:push"})
    assert (response.status_code, response.get_json()["status"]) == (413, "request_entity_too_large")
    # A server that passes a chunked body through unbuffered (no length, input terminated by EOF):
    response = client.post("/webhook", input_stream=io.BytesIO(b"x" * 4096), environ_overrides={"wsgi.input_terminated": True},
                           headers={"X-Event-Key": "repo:push", "Transfer-Encoding": "chunked"})
    assert (response.status_code, response.get_json()["status"]) == (413, "request_entity_too_large")


def test_unknown_event_is_202_and_ignored(start_receiver, jenkins):
    receiver = start_receiver()
    response = post(receiver, "repo:fork", b'{"fork": {}}')
    assert (response.status_code, response.json()["status"]) == (202, "ignored")
    assert jenkins.requests == []


def test_ping_is_200_signed_or_unsigned_but_a_wrong_signature_is_401(start_receiver, jenkins):
    receiver = start_receiver()
    body = fixture_bytes("server/diagnostics_ping.json")
    assert post(receiver, "diagnostics:ping", body, id_header="X-Request-Id").json()["status"] == "pong"
    assert post(receiver, "diagnostics:ping", body, signature=None).status_code == 200
    assert post(receiver, "diagnostics:ping", body, signature="sha256=00").status_code == 401
    assert jenkins.requests == []


def test_jenkins_failure_is_502_logged_dead_lettered_and_the_retry_goes_through(start_receiver, jenkins):
    receiver = start_receiver()
    jenkins.status = 500
    body = fixture_bytes("cloud/repo_push_develop.json")
    failed = post(receiver, "repo:push", body, delivery="lost-1")
    assert failed.status_code == 502
    assert failed.json()["status"] == "jenkins_failed"
    assert "HTTP 500" in failed.json()["results"][0]["error"]
    [record] = [json.loads(line) for line in receiver.dead_letter.read_text().splitlines()]
    assert (record["type"], record["delivery_id"], record["event_key"]) == ("failed", "lost-1", "repo:push")
    assert record["parameters"]["ENVIRONMENT"] == "dev" and record["parameters"]["DELIVERY_ID"] == "lost-1"
    errors = [line for line in log_lines(receiver) if line["level"] == "error"]
    assert errors and errors[0]["delivery_id"] == "lost-1" and errors[0]["dead_letter"] == str(receiver.dead_letter)
    # Bitbucket retries the same delivery: it is not a duplicate, and now Jenkins answers.
    jenkins.status = 201
    retried = post(receiver, "repo:push", body, delivery="lost-1")
    assert (retried.status_code, retried.json()["status"]) == (200, "triggered")
    assert len(jenkins.builds()) == 2


def test_jenkins_unreachable_is_502(start_receiver, jenkins):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        jenkins.url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # nothing listens there
    receiver = start_receiver()
    response = post(receiver, "repo:push", fixture_bytes("cloud/repo_push_develop.json"), delivery="dead-1")
    assert response.status_code == 502
    assert "request failed (ConnectionError)" in response.json()["results"][0]["error"]
    assert json.loads(receiver.dead_letter.read_text())["delivery_id"] == "dead-1"


def test_logs_never_contain_the_secret_or_the_token(start_receiver, jenkins):
    receiver = start_receiver()
    jenkins.status = 403
    post(receiver, "repo:push", fixture_bytes("cloud/repo_push_develop.json"), delivery="s-1")
    post(receiver, "repo:push", b"{}", signature="sha256=bad")
    text = receiver.logs.getvalue() + receiver.dead_letter.read_text()
    assert "HTTP 403" in text
    for secret in (SECRET, JENKINS_ENV["JENKINS_API_TOKEN"], base64.b64encode(b"deploy-bot:tok-3f9a1c7e5b").decode()):
        assert secret not in text


def test_health_endpoint(start_receiver):
    receiver = start_receiver()
    response = requests.get(f"{receiver.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert (response.text, response.headers["Content-Type"]) == ("ok", "text/plain; charset=utf-8")  # and nothing else
    assert requests.get(f"{receiver.url}/webhook", timeout=5).status_code == 405


def test_the_same_body_under_a_new_delivery_id_is_a_duplicate(start_receiver, jenkins):
    receiver = start_receiver()
    body = fixture_bytes("cloud/repo_push_develop.json")
    assert post(receiver, "repo:push", body, delivery="first").json()["status"] == "triggered"
    again = post(receiver, "repo:push", body, delivery="resent-as-new")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert len(jenkins.builds()) == 1
    [line] = [line for line in log_lines(receiver) if line.get("outcome") == "duplicate"]
    assert line["body_sha256"] == __import__("hashlib").sha256(body).hexdigest()


def test_deduplication_survives_a_restart(start_receiver, jenkins):
    body = fixture_bytes("server/refs_changed_develop.json")
    first = start_receiver()
    assert post(first, "repo:refs_changed", body, delivery="r-1", id_header="X-Request-Id").json()["status"] == "triggered"
    restarted = start_receiver()  # same state file, new app and server
    again = post(restarted, "repo:refs_changed", body, delivery="r-1", id_header="X-Request-Id")
    assert again.json()["status"] == "duplicate"
    assert len(jenkins.builds()) == 1


@pytest.mark.parametrize(
    "body",
    [b"[" * 200_000 + b"]" * 200_000, b'{"push": ' * 50_000 + b"{}" + b"}" * 50_000, b'{"push": {"changes": 5}}',
     b'{"push": {"changes": [{"new": {"type": "branch", "name": [], "target": {"hash": {}}}}]}}', b"null", b'"x"', b"1e999999"],
)
def test_a_malformed_body_is_400_never_500(start_receiver, jenkins, body):
    receiver = start_receiver(max_body_bytes=1024 * 1024)
    response = post(receiver, "repo:push", body)
    assert response.status_code == 400, response.text
    assert response.json()["status"] == "bad_request"
    assert jenkins.requests == []


def test_each_environment_may_have_its_own_jenkins_job(start_receiver, jenkins):
    """JENKINS_JOB_PROD: prod builds are queued in the folder that holds the prod credentials."""
    receiver = start_receiver(env={"JENKINS_JOB_PROD": "delivery-prod/aws-pipelines/"})
    post(receiver, "repo:push", fixture_bytes("cloud/repo_push_develop.json"), delivery="j-1")
    post(receiver, "pullrequest:fulfilled", fixture_bytes("cloud/pullrequest_fulfilled.json"), delivery="j-2")
    assert [(r["path"], r["form"]["ENVIRONMENT"]) for r in jenkins.requests] == [
        ("/job/delivery/job/aws-pipelines/buildWithParameters", "dev"),
        ("/job/delivery-prod/job/aws-pipelines/buildWithParameters", "prod")]
