"""One config, several regions: bucket names carry {region}, role names the region, the record is per region."""
import json
from pathlib import Path

import pytest

from deploy.common.config import load_config
from deploy.common.preparation import prepare
from deploy.common.errors import ConfigError
from deploy.common.regions import check_bucket_names, global_name_fields
from deploy.common.kinds.iam_role import RoleSpec
from deploy.common.kinds.lambda_function import FunctionSpec
from deploy.common.kinds.s3_bucket import BucketSpec
from deploy.common.kinds.state_machine import StateMachineSpec
from deploy.projects.fpac_pipeline.deploy import Settings, run_target

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"


def _config(tmp_path: Path, base: str = "dev.json", name: str = "cfg.json", regions=None, artifact_bucket=None,
            data_bucket=None) -> Path:
    data = json.loads((CONFIG_DIR / base).read_text())
    if regions is not None:
        data["regions"] = regions
    if artifact_bucket is not None:
        data["artifact_bucket"] = artifact_bucket
    if data_bucket is not None:
        data["projects"]["fpac"]["data_bucket"] = data_bucket
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _names(prepared, kind) -> set[str]:
    return {s.name for s in prepared.specs if isinstance(s, kind)}


def test_several_regions_without_region_in_a_bucket_name_is_one_line_naming_the_field(tmp_path):
    config = _config(tmp_path, regions=["us-east-2", "us-west-2"], data_bucket="acme-fpac-dev-data-{region}")
    with pytest.raises(ConfigError) as err:
        prepare(config, "us-east-2", "fpac")
    assert str(err.value) == (f"{config}: artifact_bucket: this config allows 2 regions (us-east-2, us-west-2) but bucket "
                              "names are global: put {region} in the name")
    config = _config(tmp_path, regions=["us-east-2", "us-west-2"], artifact_bucket="acme-artifacts-{region}")
    with pytest.raises(ConfigError, match=r"cfg.json: projects.fpac.data_bucket: this config allows 2 regions "
                                          r"\(us-east-2, us-west-2\) but bucket names are global: put \{region\} in the name$"):
        prepare(config, "us-west-2", "fpac")


def test_a_bucket_name_too_long_once_rendered_is_an_error_naming_the_region(tmp_path):
    long_name = "a" * 50 + "-{region}"  # 59 characters as written, 64 for ap-southeast-2
    config = _config(tmp_path, regions=["us-east-2", "ap-southeast-2"], artifact_bucket=long_name,
                     data_bucket="d-{region}")
    with pytest.raises(ConfigError, match=r"cfg.json: artifact_bucket: for region ap-southeast-2 the name is 'a+-ap-southeast-2': "
                                          r"String should have at most 63 characters"):
        prepare(config, "us-east-2", "fpac")


def test_placeholder_is_the_only_brace_form_a_bucket_name_accepts(tmp_path):
    with pytest.raises(ConfigError, match=r"artifact_bucket: String should match pattern"):
        load_config(_config(tmp_path, artifact_bucket="acme-{Region}"))
    assert load_config(_config(tmp_path, artifact_bucket="acme-{region}-artifacts")).artifact_bucket == "acme-{region}-artifacts"


def test_bucket_names_are_rendered_per_region_and_the_record_follows_the_artifact_bucket(tmp_path):
    config = _config(tmp_path, regions=["us-east-2", "eu-west-1"], artifact_bucket="acme-artifacts-{region}",
                     data_bucket="acme-fpac-data-{region}")
    east, west = prepare(config, "us-east-2", "fpac"), prepare(config, "eu-west-1", "fpac")
    assert _names(east, BucketSpec) == {"acme-artifacts-us-east-2", "acme-fpac-data-us-east-2"}
    assert _names(west, BucketSpec) == {"acme-artifacts-eu-west-1", "acme-fpac-data-eu-west-1"}
    assert (east.record.bucket, west.record.bucket) == ("acme-artifacts-us-east-2", "acme-artifacts-eu-west-1")
    assert east.record.record_key == west.record.record_key  # same key, each in its own region's bucket
    # Everything that names the data bucket uses the rendered name.
    (create_id,) = [s for s in west.specs if isinstance(s, FunctionSpec) and s.name.endswith("-createnewid")]
    assert create_id.environment["DATA_BUCKET"] == "acme-fpac-data-eu-west-1"
    assert "{region}" not in json.dumps([str(s.__dict__) for s in west.specs])
    assert run_target(east.context).bucket == "acme-fpac-data-us-east-2"  # where `deploy.py run` uploads


def test_a_single_region_config_may_use_the_placeholder_and_keeps_its_role_names(tmp_path):
    plain = prepare(CONFIG_DIR / "dev.json", None, "fpac")
    templated = prepare(_config(tmp_path, artifact_bucket="acme-artifacts-{region}"), None, "fpac")
    assert "acme-artifacts-us-east-2" in _names(templated, BucketSpec)
    assert _names(plain, RoleSpec) == _names(templated, RoleSpec)
    assert "fpac-dev-validate-role" in _names(plain, RoleSpec)  # exactly as before: no churn for existing deployments
    assert plain.context.role_name("workflow") == "fpac-dev-workflow-role"


def test_role_names_get_the_region_only_when_several_regions_are_allowed(tmp_path):
    config = _config(tmp_path, regions=["us-east-2", "us-west-2"], artifact_bucket="a-{region}", data_bucket="d-{region}")
    prepared = prepare(config, "us-west-2", "fpac")
    roles = _names(prepared, RoleSpec)
    assert len(roles) == 9 and all(r.endswith("-role-us-west-2") for r in roles), roles
    # Every reference to a role uses the suffixed name.
    (machine,) = [s for s in prepared.specs if isinstance(s, StateMachineSpec)]
    assert machine.role_arn.endswith(":role/fpac-dev-workflow-role-us-west-2")
    assert all(s.role_arn.rsplit("/", 1)[1] in roles for s in prepared.specs if isinstance(s, FunctionSpec))


def test_shipped_prod_planned_for_both_regions_shares_no_bucket_or_role_name():
    config = load_config(CONFIG_DIR / "prod.json")
    assert len(config.regions) == 2
    east, west = (prepare(CONFIG_DIR / "prod.json", region, "fpac") for region in config.regions)
    for kind in (BucketSpec, RoleSpec):
        assert _names(east, kind) and _names(east, kind).isdisjoint(_names(west, kind)), kind
    assert east.record.bucket != west.record.bucket
    assert _names(east, BucketSpec) == {"acme-pipelines-prod-artifacts-333333333333-us-east-2",
                                        "acme-fpac-prod-data-333333333333-us-east-2"}


def test_bucket_fields_are_found_by_type_in_the_config_and_the_project_settings():
    config = load_config(CONFIG_DIR / "prod.json")
    settings = Settings.model_validate(config.projects["fpac"])
    assert dict(global_name_fields(config)) == {"artifact_bucket": "acme-pipelines-prod-artifacts-333333333333-{region}"}
    assert dict(global_name_fields(settings, ("projects", "fpac"))) == {
        "projects.fpac.data_bucket": "acme-fpac-prod-data-333333333333-{region}"}
    check_bucket_names(config, settings, "fpac", "config/prod.json")  # no error
