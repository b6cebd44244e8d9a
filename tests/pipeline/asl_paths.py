"""A tiny evaluator for the JSONPath subset the fpac workflow uses, to walk its paths with real
handler outputs: '$', '$.a.b', '$$.Execution.X', payload templates (keys ending in '.$'),
ResultSelector / ResultPath, and States.Format. Not a general ASL interpreter."""
from __future__ import annotations

import copy
import re

_FORMAT = re.compile(r"^States\.Format\('((?:[^'\\]|\\.)*)',\s*(.*)\)$")


class MissingPath(KeyError):
    """A path the definition references does not exist in the data (Step Functions: States.Runtime)."""


def resolve(path: str, data, context):
    if path.startswith("$$"):
        data, path = context, path[1:]
    if path == "$":
        return data
    if not path.startswith("$."):
        raise ValueError(f"unsupported path {path!r}")
    value = data
    for part in path[2:].split("."):
        if not isinstance(value, dict) or part not in value:
            raise MissingPath(path)
        value = value[part]
    return value


def evaluate(expression: str, data, context):
    match = _FORMAT.match(expression)
    if match:
        template, args = match.groups()
        values = [resolve(arg.strip(), data, context) for arg in args.split(",")]
        return template.format(*("null" if v is None else v for v in values))
    return resolve(expression, data, context)


def render(template, data, context):
    """Apply a payload template (Parameters / ResultSelector / Payload)."""
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = evaluate(value, data, context)
            else:
                out[key] = render(value, data, context)
        return out
    if isinstance(template, list):
        return [render(v, data, context) for v in template]
    return template


def apply_result_path(state_input, result, result_path):
    if result_path is None:
        return state_input
    if result_path == "$":
        return result
    merged = copy.deepcopy(state_input)
    parts = result_path[2:].split(".")
    node = merged
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = result
    return merged


def task_input(state: dict, data, context):
    """What a Task sends: Parameters rendered (Payload may be '$' via 'Payload.$')."""
    return render(state.get("Parameters", {}), data, context)


def task_output(state: dict, data, raw_result, context):
    """State output after ResultSelector and ResultPath."""
    selected = render(state["ResultSelector"], raw_result, context) if "ResultSelector" in state else raw_result
    return apply_result_path(data, selected, state.get("ResultPath", "$"))
