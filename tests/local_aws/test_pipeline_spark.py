"""End to end: an upload triggers a state machine that calls a Lambda and a PySpark Glue job (.sync),
which reads and writes s3:// paths through the prefixes the Spark worker stages for it."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from typing import Any

from deploy.common.execution_watch import follow_execution, wait_for_execution

from .support import create_bucket, create_role, make_zip

VALIDATE = '''
def handler(event, context):
    key = event["object"]["key"]
    if not key.endswith(".csv"):
        raise ValueError("not a csv: " + key)
    return {"bucket": event["bucket"]["name"], "key": key}
'''

SPARK_SCRIPT = '''
import sys
try:
    from awsglue.utils import getResolvedOptions
    args = getResolvedOptions(sys.argv, ["JOB_NAME", "input", "output"])
except ImportError:
    import argparse
    parser = argparse.ArgumentParser()
    for name in ("JOB_NAME", "input", "output"):
        parser.add_argument("--" + name)
    args = vars(parser.parse_known_args()[0])

from pyspark.sql import SparkSession, functions as F

spark = SparkSession.builder.master("local[*]").appName(args["JOB_NAME"]).getOrCreate()
rows = spark.read.option("header", True).csv(args["input"])
(rows.where(F.col("amount").cast("int") > 10)
     .withColumn("amount", F.col("amount").cast("int") * 2)
     .coalesce(1).write.mode("overwrite").option("header", True).csv(args["output"]))
# Direct Hadoop FileSystem use, to a path built in code, as the fpac jobs write their metrics.
jvm = spark.sparkContext._jvm
path = jvm.org.apache.hadoop.fs.Path("s3://reports/" + args["JOB_NAME"] + "/metrics.json")
stream = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).create(path, True)
stream.write(bytearray(b'{"rows": 2}'))
stream.close()
spark.stop()
'''


def test_upload_runs_lambda_and_spark_job(clean_aws_endpoint: str, local_aws_client: Callable[..., Any]) -> None:
    s3, lam, glue, events, sfn, iam = (local_aws_client(n) for n in
                                       ("s3", "lambda", "glue", "events", "stepfunctions", "iam"))
    role = create_role(iam)
    for bucket in ("artifacts", "data", "reports"):
        create_bucket(s3, bucket)
    s3.put_object(Bucket="data", Key="clean/stale-part.csv", Body=b"old,output\n")
    s3.put_object(Bucket="artifacts", Key="glue/clean.py", Body=SPARK_SCRIPT.encode())
    validate = lam.create_function(FunctionName="validate", Runtime="python3.11", Role=role, Handler="app.handler",
                                   Code={"ZipFile": make_zip({"app.py": VALIDATE})})["FunctionArn"]
    glue.create_job(Name="clean", Role=role, GlueVersion="4.0",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/glue/clean.py"},
                    DefaultArguments={"--output": "s3://data/clean/"})
    definition = {"StartAt": "Validate", "States": {
        "Validate": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Parameters": {"FunctionName": validate, "Payload.$": "$.detail"},
                     "ResultSelector": {"file.$": "$.Payload"}, "Next": "Clean"},
        "Clean": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                  "Parameters": {"JobName": "clean", "Arguments": {
                      "--input.$": "States.Format('s3://{}/{}', $.file.bucket, $.file.key)"}},
                  "End": True}}}
    machine = sfn.create_state_machine(name="pipeline", definition=json.dumps(definition),
                                       roleArn=role)["stateMachineArn"]
    s3.put_bucket_notification_configuration(Bucket="data", NotificationConfiguration={"EventBridgeConfiguration": {}})
    events.put_rule(Name="on-landing", EventPattern=json.dumps({
        "source": ["aws.s3"], "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": ["data"]}, "object": {"key": [{"prefix": "landing/"}]}}}))
    events.put_targets(Rule="on-landing", Targets=[{"Id": "sm", "Arn": machine, "RoleArn": role}])

    started = time.time() - 1
    s3.put_object(Bucket="data", Key="landing/sales.csv", Body=b"id,amount\n1,5\n2,20\n3,30\n")
    execution = wait_for_execution(sfn, machine, started_after=started, timeout=10)
    entered: list[str] = []
    final = follow_execution(sfn, execution,
                             lambda e: entered.append(e["stateEnteredEventDetails"]["name"])
                             if e["type"].endswith("StateEntered") else None, timeout=240)

    assert final["status"] == "SUCCEEDED", final.get("cause")
    assert entered == ["Validate", "Clean"]
    assert json.loads(final["output"])["JobRunState"] == "SUCCEEDED"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="data", Prefix="clean/")["Contents"]]
    parts = [k for k in keys if k.startswith("clean/part-") and k.endswith(".csv")]
    assert len(parts) == 1 and "clean/_SUCCESS" in keys
    assert "clean/stale-part.csv" not in keys  # overwrite mode removed it, in S3 too
    assert not any(k.endswith(".crc") for k in keys)
    body = s3.get_object(Bucket="data", Key=parts[0])["Body"].read().decode()
    assert list(csv.DictReader(io.StringIO(body))) == [{"id": "2", "amount": "40"}, {"id": "3", "amount": "60"}]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="reports")["Contents"]] == ["clean/metrics.json"]
    assert s3.get_object(Bucket="reports", Key="clean/metrics.json")["Body"].read() == b'{"rows": 2}'
