"""Pure parts of planning: diffs, display of nested changes, spec checks, write detection."""
import pytest

from deploy.common.aws_common import is_mutating
from deploy.common.planner import check_specs
from deploy.common.errors import ProjectError
from deploy.common.plan import Change, FieldChange, Plan, diff_fields
from deploy.common.render import flatten_diff
from deploy.common.kinds.iam_role import RoleSpec
from deploy.common.kinds.lambda_function import FunctionSpec
from deploy.common.tagging import comparable_tags, is_owned_by


def test_diff_reports_only_differing_fields_old_to_new():
    current = {"memory_mb": 256, "timeout_seconds": 60, "tags": {"a": "1"}}
    desired = {"memory_mb": 512, "timeout_seconds": 60, "tags": {"a": "1"}}
    assert diff_fields(current, desired) == (FieldChange("memory_mb", 256, 512),)
    assert diff_fields(desired, desired) == ()


def test_nested_changes_are_shown_key_by_key():
    old = {"States": {"A": {"TimeoutSeconds": 60, "Next": "B"}, "B": {"Type": "Succeed"}}}
    new = {"States": {"A": {"TimeoutSeconds": 120, "Next": "B"}, "B": {"Type": "Succeed"}}}
    assert flatten_diff(old, new, "definition") == [("definition.States.A.TimeoutSeconds", 60, 120)]


def test_plan_summary_line_counts_each_action():
    plan = Plan("p", "dev", "us-east-2", [Change("create", "k", "a"), Change("update", "k", "b"), Change("delete", "k", "c"),
                                          Change("no-op", "k", "d")])
    assert plan.summary_line == "Plan: 1 to add, 1 to change, 1 to destroy."
    assert Plan("p", "dev", "us-east-2", [Change("no-op", "k", "d")]).summary_line.startswith("No changes.")


def test_check_specs_rejects_duplicates_unknown_dependencies_and_cycles():
    role = RoleSpec(name="r", component="c")
    fn = FunctionSpec(name="f", component="c", depends_on=(role.key,))
    check_specs([role, fn], {"iam_role", "lambda_function"})
    with pytest.raises(ProjectError, match="defined twice"):
        check_specs([role, role], {"iam_role"})
    with pytest.raises(ProjectError, match="does not define"):
        check_specs([fn], {"lambda_function"})
    a = RoleSpec(name="a", component="c", depends_on=("iam_role:b",))
    b = RoleSpec(name="b", component="c", depends_on=("iam_role:a",))
    with pytest.raises(ProjectError, match="cycle"):
        check_specs([a, b], {"iam_role"})


@pytest.mark.parametrize("op,mutating", [("GetFunction", False), ("ListTags", False), ("HeadObject", False),
                                         ("DescribeStateMachine", False), ("CreateFunction", True), ("PutObject", True),
                                         ("TagResource", True), ("UpdateJob", True), ("DeleteRole", True),
                                         ("PublishVersion", True)])
def test_write_detection(op, mutating):
    assert is_mutating(op) is mutating


def test_provenance_tags_do_not_count_in_diffs_but_ownership_does():
    tags = {"deployer:project": "fpac", "deployer:environment": "dev", "deployer:git-commit": "abc", "deployer:version": "1",
            "aws:cloudformation:x": "y", "owner": "me"}
    assert comparable_tags(tags) == {"deployer:project": "fpac", "deployer:environment": "dev", "owner": "me"}
    assert is_owned_by(tags, "fpac", "dev") and not is_owned_by(tags, "fpac", "prod")


def test_deletions_run_in_the_reverse_of_the_dependency_graph():
    import graphlib

    from deploy.common.applier import reverse_dependencies

    dependencies = {"lambda_function:f": ("iam_role:r", "log_group:g"), "state_machine:m": ("lambda_function:f", "iam_role:s"),
                    "event_rule:e": ("state_machine:m",)}
    keys = ["iam_role:r", "log_group:g", "lambda_function:f", "state_machine:m", "event_rule:e", "iam_role:s"]
    after = reverse_dependencies(keys, dependencies)
    order = list(graphlib.TopologicalSorter({k: after[k] for k in keys}).static_order())
    assert order.index("event_rule:e") < order.index("state_machine:m") < order.index("lambda_function:f")
    assert order.index("lambda_function:f") < order.index("iam_role:r") and order.index("state_machine:m") < order.index("iam_role:s")
    assert reverse_dependencies(["iam_role:r"], dependencies) == {"iam_role:r": []}, "only among what is deleted"
