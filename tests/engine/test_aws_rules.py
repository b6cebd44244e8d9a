"""validate rejects what AWS would reject: one line naming the file and the field, exit 1, no AWS client.

The rules come from botocore's service models (checked by aws_rules' walker on the requests the handlers would
send) and from AWS's documented limits (config.py's validators and aws_rules' own checks).
"""
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from deploy.cli import cli
from deploy.common import aws_rules
from deploy.common.config import (
    GLUE_ETL_WORKER_TYPES, RETENTION_DAYS, EnvironmentConfig, GlueVersion, GlueWorkerType, LambdaRuntime, bucket_name_problem,
    glue_cron_problem,
)
from deploy.common.errors import ConfigError
from deploy.common.kinds.glue_job import GlueJobSpec
from deploy.common.kinds.iam_role import RoleSpec
from deploy.common.kinds.lambda_function import FunctionSpec
from deploy.common.kinds.s3_object import ObjectSpec

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
REPO = Path(__file__).resolve().parents[2]
FPAC = ("projects", "fpac")


def _set(*path_and_value):
    *path, value = path_and_value

    def mutate(doc):
        node = doc
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return mutate


def _tags(count):
    return lambda doc: doc["tags"].update({f"team{i}": "x" for i in range(count - len(doc["tags"]))})


def _same_buckets(doc):
    doc["projects"]["fpac"]["data_bucket"] = doc["artifact_bucket"]


# (label, mutation of config/dev.json, the field the line must name, a fragment it must hold)
CASES = [
    # Tags per resource, counting the 5 the deployer adds (S3 objects: 10)
    ("s3 object tag count", _tags(6), "tags", "would carry 11 tags (6 from config + 5 the deployer adds); S3 objects take at most 10"),
    ("tag key characters", _set("tags", "cost#center", "x"), "tags.cost#center", "key: String should match pattern"),
    ("tag value characters", _set("tags", "owner", "data;eng"), "tags.owner", "String should match pattern"),
    ("tag key too long", _set("tags", "k" * 129, "x"), "tags." + "k" * 129, "key: String should have at most 128 characters"),
    ("tag value too long", _set("tags", "owner", "v" * 257), "tags.owner", "at most 256 characters"),
    ("tag keys differing by case", _set("tags", "Owner", "x"), "tags", "differ only by case"),
    ("reserved tag prefix", _set("tags", "AWS:owner", "x"), "tags", "is reserved"),
    # S3 bucket names
    ("bucket like an IP address", _set("artifact_bucket", "192.168.10.1"), "artifact_bucket", "formatted like an IP address"),
    ("bucket prefix xn--", _set("artifact_bucket", "xn--acme-artifacts"), "artifact_bucket", "must not start with 'xn--'"),
    ("bucket prefix sthree-", _set(*FPAC, "data_bucket", "sthree-acme-data"), "projects.fpac.data_bucket", "'sthree-'"),
    ("bucket suffix -s3alias", _set("artifact_bucket", "acme-artifacts-s3alias"), "artifact_bucket", "'-s3alias'"),
    ("bucket suffix --ol-s3", _set("artifact_bucket", "acme-artifacts--ol-s3"), "artifact_bucket", "'--ol-s3'"),
    ("bucket suffix .mrap", _set("artifact_bucket", "acme-artifacts.mrap"), "artifact_bucket", "'.mrap'"),
    ("bucket suffix --x-s3", _set("artifact_bucket", "acme-artifacts--x-s3"), "artifact_bucket", "'--x-s3'"),
    ("bucket adjacent dots", _set("artifact_bucket", "acme..artifacts"), "artifact_bucket", "two adjacent dots"),
    ("bucket too long", _set("artifact_bucket", "a" * 64), "artifact_bucket", "at most 63 characters"),
    ("bucket upper case", _set("artifact_bucket", "Acme-artifacts"), "artifact_bucket", "String should match pattern"),
    # Two resources with the same name
    ("data bucket is the artifact bucket", _same_buckets, "projects.fpac.data_bucket",
     "is also named by artifact_bucket; two resources would get the same name"),
    # Lambda
    ("lambda memory above 10240", _set(*FPAC, "functions", "Validate", "memory_mb", 10241),
     "projects.fpac.functions.Validate.memory_mb", "less than or equal to 10240"),
    ("lambda timeout above 900", _set(*FPAC, "lambda_defaults", "timeout_seconds", 901),
     "projects.fpac.lambda_defaults.timeout_seconds", "less than or equal to 900"),
    ("lambda deprecated runtime", _set(*FPAC, "lambda_defaults", "runtime", "python3.9"),
     "projects.fpac.lambda_defaults.runtime", "Input should be 'python3.11', 'python3.12' or 'python3.13'"),
    ("lambda environment name (model pattern)", _set(*FPAC, "functions", "Validate", "environment", {"1BAD": "x"}),
     "projects.fpac.functions.Validate.environment.1BAD", "does not match AWS's pattern [a-zA-Z]([a-zA-Z0-9_])+"),
    ("lambda reserved environment name", _set(*FPAC, "functions", "LogResults", "environment", {"AWS_REGION": "x"}),
     "projects.fpac.functions.LogResults.environment.AWS_REGION", "is reserved by Lambda"),
    ("lambda environment over 4 KB", _set(*FPAC, "functions", "Validate", "environment", {"BIG": "x" * 4100}),
     "projects.fpac.functions.Validate.environment.BIG", "Lambda allows at most 4096"),
    ("lambda negative reserved concurrency", _set(*FPAC, "functions", "Validate", "reserved_concurrency", -1),
     "projects.fpac.functions.Validate.reserved_concurrency", "greater than or equal to 0"),
    # Glue
    ("glue G.025X for a Spark ETL job", _set(*FPAC, "glue_defaults", "worker_type", "G.025X"),
     "projects.fpac.glue_defaults.worker_type", "G.025X is for Glue streaming jobs only"),
    ("glue G.025X on one job", _set(*FPAC, "jobs", "cleaning", "worker_type", "G.025X"),
     "projects.fpac.jobs.cleaning.worker_type", "G.025X is for Glue streaming jobs only"),
    ("glue unknown worker type", _set(*FPAC, "glue_defaults", "worker_type", "G.3X"), "projects.fpac.glue_defaults.worker_type",
     "Input should be 'G.1X', 'G.2X', 'G.4X' or 'G.8X'"),
    ("glue version", _set(*FPAC, "glue_defaults", "glue_version", "3.0"), "projects.fpac.glue_defaults.glue_version",
     "Input should be '4.0' or '5.0'"),
    ("glue one worker", _set(*FPAC, "jobs", "final", "number_of_workers", 1), "projects.fpac.jobs.final.number_of_workers",
     "greater than or equal to 2"),
    # Glue cron schedules
    ("cron with 5 fields", _set(*FPAC, "crawler", "schedule", "cron(0 6 * * ?)"), "projects.fpac.crawler.schedule", "has 6 fields"),
    ("cron with 7 fields", _set(*FPAC, "crawler", "schedule", "cron(0 0 6 * * ? *)"), "projects.fpac.crawler.schedule", "not 7"),
    ("cron without ?", _set(*FPAC, "crawler", "schedule", "cron(0 6 * * * *)"), "projects.fpac.crawler.schedule",
     "exactly one of Day-of-month and Day-of-week must be '?'"),
    ("cron with two ?", _set(*FPAC, "crawler", "schedule", "cron(0 6 ? * ? *)"), "projects.fpac.crawler.schedule",
     "exactly one of Day-of-month and Day-of-week must be '?'"),
    ("cron hour 24", _set(*FPAC, "crawler", "schedule", "cron(0 24 * * ? *)"), "projects.fpac.crawler.schedule",
     "Hours field '24' is not valid"),
    ("cron every minute", _set(*FPAC, "crawler", "schedule", "cron(* * * * ? *)"), "projects.fpac.crawler.schedule",
     "more often than every 5 minutes"),
    # CloudWatch Logs
    ("log retention", _set("log_retention_days", 8), "log_retention_days", "must be one of CloudWatch's values"),
]


def _run(args):
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout, result.stderr


def _write(tmp_path, mutate, base="dev"):
    doc = copy.deepcopy(json.loads((CONFIG_DIR / f"{base}.json").read_text()))
    doc.pop("$schema", None)
    mutate(doc)
    path = tmp_path / f"{base}.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("label,mutate,field,expected", CASES, ids=[c[0] for c in CASES])
def test_validate_rejects_what_aws_would_reject(tmp_path, no_aws, label, mutate, field, expected):
    path = _write(tmp_path, mutate)
    code, out, err = _run(["validate", "--config", str(path), "--project-type", "fpac"])
    assert code == 1, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"{path}: {field}: " in lines[0], lines[0]  # the file, then the field
    assert expected in lines[0], lines[0]


def test_the_first_problem_is_reported_with_a_count_of_the_others(tmp_path, no_aws):
    path = _write(tmp_path, _tags(6))  # 12 Glue script objects, each over S3's 10 tags
    _, _, err = _run(["validate", "--config", str(path), "--project-type", "fpac"])
    assert "s3_object acme-pipelines-dev-artifacts-111111111111/fpac/dev/glue/landing/landing_job.py would carry 11 tags" in err
    assert err.strip().endswith("(and 11 more errors)")


def test_five_config_tags_fit_on_an_s3_object(tmp_path, no_aws):
    path = _write(tmp_path, _tags(5))
    code, out, err = _run(["validate", "--config", str(path), "--project-type", "fpac"])
    assert code == 0, err


def test_a_bucket_template_is_checked_once_rendered(tmp_path, no_aws):
    """A name with {region} is not a bucket name yet; rendered for the region it must follow S3's rules."""
    path = _write(tmp_path, _set("artifact_bucket", "xn--acme-{region}"))
    code, _, err = _run(["validate", "--config", str(path), "--project-type", "fpac"])
    assert code == 1
    assert f"{path}: artifact_bucket: " in err and "xn--" in err


@pytest.mark.parametrize("name", ["local", "dev", "test", "prod"])
def test_shipped_configs_pass_every_rule(no_aws, name):
    code, out, err = _run(["validate", "--config", str(CONFIG_DIR / f"{name}.json"), "--region", "us-east-2",
                           "--project-type", "fpac"])
    assert code == 0, err
    from deploy.common.preparation import prepare

    prepared = prepare(CONFIG_DIR / f"{name}.json", "us-east-2", "fpac")
    assert aws_rules.problems(prepared.specs, prepared.config, "us-east-2") == []


# ---- The model walker can fail: hand-built requests ------------------------------------------------------------

def _function_kwargs(**overrides):
    kwargs = {"FunctionName": "fpac-dev-validate", "Runtime": "python3.12", "Role": "arn:aws:iam::111111111111:role/r",
              "Handler": "handler.handler", "Code": {"ZipFile": b"zip"}, "MemorySize": 256, "Timeout": 60}
    return {**kwargs, **overrides}


def test_walker_accepts_a_valid_request():
    assert aws_rules.check_request("lambda", "CreateFunction", _function_kwargs()) == []


@pytest.mark.parametrize("service,operation,params,path,fragment", [
    ("lambda", "CreateFunction", _function_kwargs(FunctionName="bad name!"), "FunctionName", "does not match AWS's pattern"),
    ("lambda", "CreateFunction", _function_kwargs(Runtime="python2.8"), "Runtime", "is not one of AWS's values"),
    ("lambda", "CreateFunction", _function_kwargs(MemorySize=64), "MemorySize", "64 is less than AWS's minimum 128"),
    ("lambda", "CreateFunction", _function_kwargs(Timeout=99999), "Timeout", "is more than AWS's maximum"),
    ("lambda", "CreateFunction", _function_kwargs(Description="d" * 257), "Description", "257 characters long; AWS allows at most 256"),
    ("lambda", "CreateFunction", _function_kwargs(Architectures=["x86_64", "arm64"]), "Architectures", "has 2 items; AWS allows at most 1"),
    ("lambda", "CreateFunction", _function_kwargs(Tags={"a": "b;c"}), "Tags.a", "does not match AWS's pattern"),
    ("lambda", "CreateFunction", {k: v for k, v in _function_kwargs().items() if k != "Role"}, "Role", "is required"),
    ("iam", "CreateRole", {"RoleName": "r" * 65, "AssumeRolePolicyDocument": "{}"}, "RoleName", "AWS allows at most 64"),
    ("iam", "CreateRole", {"RoleName": "rôle", "AssumeRolePolicyDocument": "{}"}, "RoleName", "does not match"),  # Java's \w is ASCII
    ("glue", "CreateJob", {"Name": "job\x01", "Role": "r", "Command": {"Name": "glueetl"}}, "Name", "does not match"),
    ("glue", "CreateJob", {"Name": "j", "Role": "r", "Command": {}, "Tags": {f"k{i}": "v" for i in range(51)}}, "Tags",
     "has 51 entries; AWS allows at most 50"),
    ("logs", "CreateLogGroup", {"logGroupName": "/aws/lambda/x y"}, "logGroupName", "does not match"),
    ("events", "PutRule", {"Name": "r" * 65}, "Name", "AWS allows at most 64"),
    ("stepfunctions", "CreateStateMachine", {"name": "n" * 81, "definition": "{}", "roleArn": "a"}, "name", "at most 80"),
])
def test_walker_catches_pattern_length_enum_and_range_violations(service, operation, params, path, fragment):
    violations = aws_rules.check_request(service, operation, params)
    assert any(v.path == path and fragment in v.message for v in violations), violations


def test_walker_understands_java_surrogate_pairs():
    """Glue's NameString allows U+10000..U+10FFFF, written in Java as \\uD800\\uDC00-\\uDBFF\\uDFFF."""
    assert aws_rules.check_request("glue", "CreateJob", {"Name": "job-\U0001F600", "Role": "r", "Command": {}}) == []


def test_every_pattern_of_the_operations_we_call_compiles():
    seen, patterns = set(), set()

    def collect(shape):
        if shape.name in seen:
            return
        seen.add(shape.name)
        if shape.metadata.get("pattern"):
            patterns.add(shape.metadata["pattern"])
        for child in (list(shape.members.values()) if shape.type_name == "structure" else
                      [shape.member] if shape.type_name == "list" else
                      [shape.key, shape.value] if shape.type_name == "map" else []):
            collect(child)

    operations = {("s3", "CreateBucket"), ("s3", "PutBucketTagging"), ("s3", "PutObject"), ("iam", "CreateRole"),
                  ("iam", "PutRolePolicy"), ("logs", "CreateLogGroup"), ("logs", "PutRetentionPolicy"),
                  ("lambda", "CreateFunction"), ("lambda", "CreateAlias"), ("lambda", "PutFunctionConcurrency"),
                  ("glue", "CreateDatabase"), ("glue", "CreateJob"), ("glue", "CreateCrawler"),
                  ("stepfunctions", "CreateStateMachine"), ("events", "PutRule"), ("events", "PutTargets")}
    for service, operation in operations:
        collect(aws_rules.service_model(service).operation_model(operation).input_shape)
    assert patterns
    for pattern in patterns:
        aws_rules.compiled_pattern(pattern)  # raises if the Java pattern was not translated


# ---- Documented limits on specs no config can produce (names are derived) -----------------------------------------

def _check(*specs):
    config = EnvironmentConfig.model_validate(json.loads((CONFIG_DIR / "dev.json").read_text()))
    with pytest.raises(ConfigError) as caught:
        aws_rules.check(list(specs), config, "us-east-2", "config/dev.json")
    return str(caught.value)


def test_lambda_function_name_longer_than_64():
    name = "f" * 65
    line = _check(FunctionSpec(name=name, component="c", role_arn="arn:aws:iam::111111111111:role/r", zip_bytes=b"z"))
    assert line.startswith(f"config/dev.json: lambda_function {name}: FunctionName is 65 characters long; Lambda allows at most 64")


def test_iam_role_name_longer_than_64_from_the_model():
    name = "r" * 65
    line = _check(RoleSpec(name=name, component="c", trust_service="lambda.amazonaws.com"))
    assert line.startswith(f"config/dev.json: iam_role {name}: CreateRole RoleName: ")
    assert "AWS allows at most 64" in line


def test_role_names_that_differ_only_by_case_collide():
    line = _check(RoleSpec(name="Fpac-role", component="a", trust_service="glue.amazonaws.com"),
                  RoleSpec(name="fpac-role", component="b", trust_service="glue.amazonaws.com"))
    assert "iam_role Fpac-role and fpac-role: AWS compares these names regardless of case" in line


def test_tags_the_deployer_adds_are_checked_too():
    line = _check(ObjectSpec(name="b-bucket/k", component="c", bucket="b-bucket", object_key="k",
                             tags={"deployer:git-commit": "not;hex"}))
    assert "tag deployer:git-commit value 'not;hex' may hold only letters" in line


def test_glue_streaming_worker_type_rejected_for_a_spark_etl_job():
    line = _check(GlueJobSpec(name="j", component="c", role_arn="arn:aws:iam::111111111111:role/r", worker_type="G.025X",
                              script_location="s3://b/k"))
    assert "glue_job j: WorkerType G.025X is for Glue streaming jobs only" in line


# ---- What the config allows agrees with botocore's models ------------------------------------------------------

def test_allowed_lambda_runtimes_are_in_botocores_runtime_enum():
    enum = aws_rules.service_model("lambda").shape_for("Runtime").enum
    assert set(LambdaRuntime.__args__) <= set(enum)


def test_allowed_glue_worker_types_and_versions_are_known_to_botocore():
    glue = aws_rules.service_model("glue")
    assert set(GlueWorkerType.__args__) <= set(glue.shape_for("WorkerType").enum)
    assert set(GlueVersion.__args__) == set(GLUE_ETL_WORKER_TYPES)
    assert all(set(types) <= set(GlueWorkerType.__args__) for types in GLUE_ETL_WORKER_TYPES.values())


def test_retention_days_agree_with_the_model_when_it_has_an_enum():
    days = aws_rules.service_model("logs").shape_for("Days")
    assert not getattr(days, "enum", None) or set(RETENTION_DAYS) <= set(map(int, days.enum))


# ---- The documented rules themselves ---------------------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "cron(0 10 * * ? *)", "cron(15 12 * * ? *)", "cron(0 18 ? * MON-FRI *)", "cron(0 8 1 * ? *)", "cron(0/15 * * * ? *)",
    "cron(0/10 * ? * MON-FRI *)", "cron(0/5 8-17 ? * MON-FRI *)", "cron(0 6 L * ? *)", "cron(0 6 15W JAN-MAR ? 2030)",
    "cron(0 6 ? * 6L *)", "cron(0,58 6 * * ? *)",
])
def test_glue_cron_examples_from_the_docs_pass(expression):
    assert glue_cron_problem(expression) is None


@pytest.mark.parametrize("expression", [
    "rate(1 day)", "cron(0 6 * * ?)", "cron(0 6 * * * *)", "cron(0 6 ? * ? *)", "cron(60 6 * * ? *)", "cron(0 6 32 * ? *)",
    "cron(0 6 * 13 ? *)", "cron(0 6 ? * 8 *)", "cron(0 6 * * ? 1969)", "cron(0/2 * * * ? *)", "cron(0,58 * * * ? *)",
    "cron(0 6 ? * 2#1 *)", "cron(a 6 * * ? *)",
])
def test_glue_cron_mistakes_fail(expression):
    assert glue_cron_problem(expression)


@pytest.mark.parametrize("name,ok", [
    ("acme-data", True), ("a.b-c", True), ("abc", True), ("a" * 63, True), ("ab", False), ("a" * 64, False), ("Acme", False),
    ("-acme", False), ("acme-", False), ("a_b", False), ("a..b", False), ("10.0.0.1", False), ("xn--acme", False),
    ("sthree-acme", False), ("amzn-s3-demo-acme", False), ("acme-s3alias", False), ("acme--ol-s3", False),
    ("acme.mrap", False), ("acme--x-s3", False), ("acme--table-s3", False),
])
def test_bucket_name_rules(name, ok):
    assert (bucket_name_problem(name) is None) is ok


def test_importing_the_rules_loads_no_model():
    code = "import sys, deploy.common.aws_rules as r; print('regex' in sys.modules, r.service_model.cache_info().currsize)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "0"]


def test_the_schema_carries_the_tag_rules_for_editors():
    import jsonschema

    from deploy.common.schema import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text())
    doc = json.loads((CONFIG_DIR / "dev.json").read_text())
    jsonschema.validate({**doc, "tags": {"cost center": "ünïcode ok"}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**doc, "tags": {"cost#center": "x"}}, schema)


@pytest.mark.parametrize("command", [["plan"], ["deploy", "--yes"], ["deployer-policy"]])
def test_plan_and_deploy_reject_before_any_aws_call_too(tmp_path, no_aws, command):
    path = _write(tmp_path, _tags(6))
    code, _, err = _run([*command, "--config", str(path), "--project-type", "fpac"])
    assert code == 1 and f"{path}: tags: s3_object " in err
