"""Trigger the deployment job through Jenkins' remote API (``buildWithParameters``).

Authenticated with a user's API token (HTTP basic auth), which Jenkins exempts from CSRF crumbs.
Settings come only from the environment; the token never appears in a repr, a log or an error,
and is only sent over https (plain http only when the caller allows it, for a local Jenkins).
Builds go to ``JENKINS_JOB``, or to ``JENKINS_JOB_<ENVIRONMENT>`` where one is set (e.g.
``JENKINS_JOB_PROD``: prod builds run in the folder that holds the prod credentials).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import requests

from .errors import DeliveryError, JenkinsTriggerError
from .routing import Decision

ENV_VARS = ("JENKINS_URL", "JENKINS_USER", "JENKINS_API_TOKEN", "JENKINS_JOB")
JOB_PREFIX = "JENKINS_JOB_"


@dataclass(frozen=True)
class JenkinsSettings:
    url: str
    user: str
    token: str = field(repr=False)
    job: str  # job path; folders separated by '/', e.g. "deployers/aws-pipelines"
    jobs: Mapping[str, str] = field(default_factory=dict)  # environment -> job path, where it is not ``job``

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, allow_http: bool = False) -> JenkinsSettings:
        missing = [name for name in ENV_VARS if not env.get(name)]
        if missing:
            raise DeliveryError(f"environment variable(s) not set: {', '.join(missing)} (needed to trigger Jenkins)")
        url = env["JENKINS_URL"].rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DeliveryError("JENKINS_URL must be an http(s) URL")
        if parts.scheme != "https" and not allow_http:
            raise DeliveryError("JENKINS_URL must be https:// (the API token goes with every request);"
                                " --allow-http-jenkins permits http for a local or test Jenkins")
        if parts.username or parts.password:
            raise DeliveryError("JENKINS_URL must not contain credentials (use JENKINS_USER and JENKINS_API_TOKEN)")
        jobs = {name[len(JOB_PREFIX):].lower(): value.strip().strip("/") for name, value in env.items()
                if name.startswith(JOB_PREFIX) and value.strip().strip("/")}
        return cls(url=url, user=env["JENKINS_USER"], token=env["JENKINS_API_TOKEN"], job=env["JENKINS_JOB"].strip("/"),
                   jobs=jobs)

    def job_for(self, environment: str) -> str:
        return self.jobs.get(environment.lower(), self.job)

    def build_url(self, job: str) -> str:
        path = "/job/".join(quote(part, safe="") for part in job.split("/") if part)
        return f"{self.url}/job/{path}/buildWithParameters"


def build_parameters(decision: Decision, delivery_id: str | None) -> dict[str, str]:
    """The job's parameters for one decision (the Jenkinsfile declares the same names)."""
    event = decision.event
    return {
        "ENVIRONMENT": decision.environment or "",
        "ACTION": decision.action or "",
        "COMMIT": event.commit or "",
        "PROJECTS": ",".join(decision.projects),
        "GIT_EVENT": event.kind,
        "GIT_REF": event.ref,
        "GIT_TARGET": event.target or "",
        "CHANGED_SINCE": event.previous or "",
        "DELIVERY_ID": delivery_id or "",
    }


class JenkinsClient:
    """Queues builds of one job."""

    def __init__(self, settings: JenkinsSettings, timeout: float = 10.0, session: requests.Session | None = None):
        self.settings = settings
        self.timeout = timeout
        self.session = session or requests.Session()

    def trigger(self, parameters: Mapping[str, str]) -> str:
        """Queue a build (of the environment's job); returns the queue item URL Jenkins answers with (may be empty)."""
        job = self.settings.job_for(parameters.get("ENVIRONMENT", ""))
        try:
            response = self.session.post(
                self.settings.build_url(job),
                data=dict(parameters),
                auth=(self.settings.user, self.settings.token),
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise JenkinsTriggerError(f"Jenkins job '{job}': request failed ({type(exc).__name__})") from None
        if response.status_code not in (200, 201):
            raise JenkinsTriggerError(f"Jenkins job '{job}': buildWithParameters answered HTTP {response.status_code}")
        return response.headers.get("Location", "")
