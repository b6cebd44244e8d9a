import json
from urllib.parse import quote

from deploy.common.normalize import canonical_json, normalize_definition, normalize_policy


def test_policy_forms_that_mean_the_same_normalise_equal():
    a = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}
    b = {"Version": "2012-10-17",
         "Statement": {"Resource": ["arn:aws:s3:::b/*"], "Action": ["s3:GetObject"], "Effect": "Allow"}}
    assert normalize_policy(a) == normalize_policy(b)


def test_action_and_statement_order_do_not_matter():
    s1 = {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"}
    s2 = {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}
    p1 = {"Version": "2012-10-17", "Statement": [s1, s2]}
    p2 = {"Version": "2012-10-17", "Statement": [s2, {**s1, "Action": ["s3:GetObject", "s3:PutObject"]}]}
    assert normalize_policy(p1) == normalize_policy(p2)


def test_a_real_difference_survives_normalisation():
    p1 = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/a/*"}]}
    p2 = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/z/*"}]}
    assert normalize_policy(p1) != normalize_policy(p2)


def test_url_encoded_and_string_documents_are_parsed():
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                   "Action": "sts:AssumeRole"}]}
    assert normalize_policy(quote(json.dumps(doc))) == normalize_policy(doc)
    assert normalize_policy(json.dumps(doc)) == normalize_policy(doc)


def test_condition_values_are_order_insensitive():
    base = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}
    p1 = {"Statement": [{**base, "Condition": {"StringLike": {"s3:prefix": ["a/*", "b/*"]}}}]}
    p2 = {"Statement": [{**base, "Condition": {"StringLike": {"s3:prefix": ["b/*", "a/*"]}}}]}
    assert normalize_policy(p1) == normalize_policy(p2)


def test_asl_compares_as_parsed_json_not_text():
    asl = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    pretty = json.dumps(asl, indent=4)
    assert normalize_definition(pretty) == normalize_definition(json.dumps(asl, separators=(",", ":")))
    changed = {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}
    assert normalize_definition(json.dumps(changed)) != normalize_definition(pretty)


def test_canonical_json_is_key_order_independent():
    assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1})
