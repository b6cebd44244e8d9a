"""A resource kind is one module of deploy/common/kinds, found by being there."""
from __future__ import annotations

import sys
import textwrap

from deploy.common import kinds
from deploy.common.kinds import KINDS, KNOWN_KINDS


def test_every_kind_declares_spec_handler_actions_and_arns():
    assert {"s3_bucket", "s3_object", "iam_role", "iam_policy", "log_group", "lambda_function", "glue_database", "glue_job",
            "glue_crawler", "state_machine", "event_rule", "sns_topic"} <= KNOWN_KINDS
    for name, kind in KINDS.items():
        assert kind.spec.kind == name and kind.handler.kind == name, name
        assert kind.reads and all(":" in a for a in kind.reads + kind.writes), name
        limit, noun = kind.tag_limit
        assert limit in (10, 50) and noun, name


def test_the_actions_each_kind_declares_exist_in_iams_catalogue():
    from parliament import iam_definition

    catalogue = {f"{service['prefix']}:{p['privilege']}".lower() for service in iam_definition for p in service["privileges"]}
    for name, kind in KINDS.items():
        for action in kind.reads + kind.writes:
            assert action.lower() in catalogue, f"{name}: {action} is not an IAM action"


def test_a_new_module_with_a_kind_is_registered_without_touching_anything_else(tmp_path, monkeypatch):
    (tmp_path / "widget.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass
        from typing import ClassVar
        from deploy.common.kinds.base import Kind, ResourceHandler, Spec

        @dataclass(frozen=True, eq=False)
        class WidgetSpec(Spec):
            kind: ClassVar[str] = "widget"

        class WidgetHandler(ResourceHandler):
            kind = "widget"

        KIND = Kind(spec=WidgetSpec, handler=WidgetHandler, reads=("s3:GetObject",), writes=("s3:PutObject",),
                    arns=lambda s, arns, p: [], requests=lambda s, region: [], tag_limit=(50, "widgets"))
    '''))
    monkeypatch.setattr(kinds, "__path__", [*kinds.__path__, str(tmp_path)])
    try:
        found = kinds._discover()
    finally:
        sys.modules.pop("deploy.common.kinds.widget", None)
    assert "widget" in found and found["widget"].spec.__name__ == "WidgetSpec"
    assert set(found) == set(KINDS) | {"widget"}
