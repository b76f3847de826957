"""The shipped IAM policy is exactly what computewatch calls: no more, no less.

The emulated AWS enforces READ_ACTIONS / CALLER_ACTIONS on the audit's credentials, so every
end-to-end test that reads an account proves the policy sufficient; conftest also checks every
operation seen in the whole suite; this file checks the files agree and that nothing is unused.
"""

import json
from datetime import timedelta
from functools import cache
from pathlib import Path

import yaml

from computewatch.demo.emulated_aws import (
    CALLER_ACTIONS,
    READ_ACTIONS,
    EmulatedAws,
    InstanceSpec,
    MemberSpec,
)
from computewatch.demo.emulated_aws_usage import (
    ModelUsage,
    TrainingJobSpec,
    seed_bedrock_tokens,
    seed_target,
    seed_training_job,
)
from computewatch.domain import Window, utc
from tests.aws_scenarios import audit
from tests.conftest import REPO

POLICY = REPO / "config" / "aws-iam-policy.json"


def statements() -> dict[str, set[str]]:
    doc = json.loads(POLICY.read_text("utf-8"))
    return {s["Sid"]: set(s["Action"]) for s in doc["Statement"]}


@cache
def policy_actions() -> frozenset[str]:
    return frozenset(a for actions in statements().values() for a in actions)


def test_policy_is_read_only_and_matches_the_emulated_roles() -> None:
    st = statements()
    assert st["MemberAccountReadOnly"] == set(READ_ACTIONS)
    assert st["CallerDiscoveryAndBilling"] == set(CALLER_ACTIONS)
    verbs = ("Describe", "List", "Get", "Search", "AssumeRole")
    assert all(a.split(":")[1].startswith(verbs) for a in policy_actions()), (
        "read-only actions only"
    )
    assert all("*" not in a for a in policy_actions())


def test_cloudformation_member_role_grants_the_same_actions() -> None:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    text = (REPO / "config" / "aws-member-role.cfn.yaml").read_text("utf-8")
    doc = yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader that ignores CloudFormation tags
    role = doc["Resources"]["ComputewatchReadOnlyRole"]["Properties"]
    (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == statements()["MemberAccountReadOnly"]


def test_a_full_audit_uses_every_action_in_the_policy(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    """OU and tag filters, enabled regions, tokens and a training job: every path that calls AWS."""
    oct_ = Window.month("2026-10")
    org = aws.seed_organization(
        [
            MemberSpec(
                "busy",
                (InstanceSpec("p5.48xlarge", "us-east-1", oct_.start),),
                ou="Production",
                tags=(("env", "prod"),),
            ),
            MemberSpec("other", ou="Sandbox", tags=(("env", "dev"),)),
        ]
    )
    where = seed_target(aws, org.members["busy"], "us-east-1")
    seed_bedrock_tokens(
        aws, where, Window(oct_.start, oct_.start + timedelta(days=3)), [ModelUsage("m", 10, 5, 1)]
    )
    seed_training_job(
        aws,
        where,
        TrainingJobSpec("job", "ml.p4d.24xlarge", oct_.start, oct_.start + timedelta(hours=2)),
    )
    aws.enforce_iam()
    a = audit(
        aws,
        org,
        tmp_path,
        oct_,
        utc(2026, 10, 20),
        sqlite_url,
        config_overrides={
            "regions": "enabled",
            "organization": {
                "role_name": "ComputewatchReadOnly",
                "include_ous": [org.ous["Production"]],
                "include_tags": {"env": "*"},
            },
        },
    )
    used = set(a.outcome.api_calls)
    assert used == set(policy_actions()), (
        f"unused: {set(policy_actions()) - used}; missing: {used - set(policy_actions())}"
    )
