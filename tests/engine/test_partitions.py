"""Every ARN the deployer renders is in the region's partition (from botocore), GovCloud and China included."""
import dataclasses
import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from deploy.common.deployer_policy import PURPOSES, deployer_policy
from deploy.common.preparation import prepare
from deploy.common.errors import ConfigError
from deploy.common.naming import Arns, partition_for
from deploy.common.kinds import build_handlers
from deploy.common.kinds.state_machine import StateMachineSpec
from deploy.projects.fpac_pipeline.deploy import run_target

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
ARN = re.compile(r"arn:[^:\s\"']*:")


def strings(value: Any) -> Iterator[str]:
    """Every string anywhere in a spec, a policy or an ASL definition (dataclass fields, dict keys and values, sequences)."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from strings(getattr(value, f.name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from strings(item)


def assert_all_arns_in(partition: str, value: Any) -> int:
    found = 0
    for text in strings(value):
        assert "arn:aws:" not in text or partition == "aws", text
        for arn in ARN.findall(text):
            assert arn == f"arn:{partition}:", text
            found += 1
    return found


def _config_for(tmp_path: Path, region: str, **aws: str) -> Path:
    data = json.loads((CONFIG_DIR / "dev.json").read_text())
    data["regions"] = [region]
    data["aws"].update(aws)
    path = tmp_path / f"{region}.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("region, partition", [("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn"), ("us-east-2", "aws")])
def test_every_rendered_arn_is_in_the_regions_partition(tmp_path, region, partition):
    prepared = prepare(_config_for(tmp_path, region), region, "fpac")
    assert prepared.context.arns.partition == partition
    assert assert_all_arns_in(partition, prepared.specs) > 50  # roles, policies, functions, the ASL, the rule...
    (machine,) = [s for s in prepared.specs if isinstance(s, StateMachineSpec)]
    resources = {state["Resource"] for state in machine.definition["States"].values() if state["Type"] == "Task"}
    assert {r for r in resources if ":states:::" in r} == {
        f"arn:{partition}:states:::lambda:invoke", f"arn:{partition}:states:::glue:startJobRun.sync",
        f"arn:{partition}:states:::aws-sdk:glue:startCrawler"}

    # What the handlers render at plan time (bucket policies, ARNs they compare) follows the same partition.
    handlers = build_handlers(None, prepared.context.arns)  # desired() makes no AWS call
    assert_all_arns_in(partition, [handlers[s.kind].desired(s) for s in prepared.specs])

    target = run_target(prepared.context)
    policies = [deployer_policy(purpose, prepared, target) for purpose in PURPOSES]
    assert assert_all_arns_in(partition, policies) > 40


def test_partition_comes_from_botocore():
    assert partition_for("us-gov-east-1") == "aws-us-gov"
    assert partition_for("cn-northwest-1") == "aws-cn"
    assert partition_for("eu-central-2") == "aws"
    assert Arns("cn-north-1", "111111111111").role("r") == "arn:aws-cn:iam::111111111111:role/r"
    with pytest.raises(ValueError, match="no AWS partition for region 'zz-nowhere-1'"):
        partition_for("zz-nowhere-1")


def test_a_region_outside_every_partition_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"zz-nowhere-1.json: regions: botocore knows no AWS partition for region 'zz-nowhere-1'"):
        prepare(_config_for(tmp_path, "zz-nowhere-1"), None, "fpac")


def test_an_assumed_role_in_another_partition_is_a_config_error(tmp_path):
    config = _config_for(tmp_path, "us-gov-west-1", assume_role_arn="arn:aws:iam::111111111111:role/pipeline-deployer")
    with pytest.raises(ConfigError, match="aws.assume_role_arn: arn:aws:iam::111111111111:role/pipeline-deployer is not in "
                                          "partition aws-us-gov of region us-gov-west-1"):
        prepare(config, None, "fpac")
    gov_role = "arn:aws-us-gov:iam::111111111111:role/pipeline-deployer"
    assert prepare(_config_for(tmp_path, "us-gov-west-1", assume_role_arn=gov_role), None, "fpac").config.aws.assume_role_arn == gov_role
