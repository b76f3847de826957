"""The shipped IAM policy, CloudFormation role and Azure role are exactly what computewatch calls.

They are generated from the providers' and collectors' declarations (collectors.permissions);
this suite checks the committed copies in config/ are that output, that every declared action is
read-only, and that a full AWS collection uses every action of the policy (none is unused).
Calls beyond the declarations are caught by the collector contract suite and, over the whole test
session, by the hook in tests/conftest.py; the emulators grant only the declared actions, so every
end-to-end test proves them sufficient.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from computewatch.app.cli import main
from computewatch.collectors.aws.provider import AwsProvider
from computewatch.collectors.base import ApiCallCounter, CollectContext
from computewatch.collectors.permissions import DOCUMENTS, aws_actions, azure_actions, render
from computewatch.collectors.registry import builtin
from computewatch.collectors.runner import run_collection
from computewatch.config.aws import AwsSettings
from computewatch.demo.emulated_aws import EmulatedAws, InstanceSpec, MemberSpec, aws_environment
from computewatch.demo.emulated_aws_usage import (
    ModelUsage,
    TrainingJobSpec,
    seed_bedrock_tokens,
    seed_target,
    seed_training_job,
)
from computewatch.domain import CoverageStatus, Window, utc
from computewatch.domain.catalog import Catalog
from tests.helpers.paths import REPO

CONFIG = REPO / "config"
AWS_READ_VERBS = ("Describe", "List", "Get", "Search")
# Not named as reads, on purpose: entering member accounts, and running the exports' one SELECT
# per measure in Athena over the payer's CUR table (billing exports, Athena engine).
AWS_READ_EXCEPTIONS = frozenset({"sts:AssumeRole", "athena:StartQueryExecution"})
# Azure read actions that do not name a resource type's own /read: none today; a new one
# (e.g. an activity-log or metrics read action spelled differently) must be added here on purpose.
AZURE_READ_EXCEPTIONS: frozenset[str] = frozenset()


def _declarations() -> list[tuple[str, str, str]]:
    """(provider, owner, action) for every declared action of every provider and collector."""
    reg = builtin()
    out = [(p, p, a) for p, cls in reg.providers.items() for a in cls.permissions.actions]
    out += [(c.provider, n, a) for n, c in reg.collectors.items() for a in c.permissions.actions]
    return sorted(out)


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_committed_documents_are_the_generated_ones(document: str) -> None:
    filename, _ = DOCUMENTS[document]
    committed = (CONFIG / filename).read_text("utf-8")
    assert committed == render(document), (
        f"config/{filename} is stale: regenerate it with "
        f"`computewatch permissions {document} > config/{filename}`"
    )


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_the_cli_prints_each_document(document: str) -> None:
    result = CliRunner().invoke(main, ["permissions", document])
    assert result.exit_code == 0, result.output
    assert result.output == (CONFIG / DOCUMENTS[document][0]).read_text("utf-8")


def test_every_declared_action_is_read_only_and_exact() -> None:
    wrong = []
    for provider, owner, action in _declarations():
        if "*" in action:
            wrong.append(f"{owner}: wildcard {action}")
        elif provider in ("aws", "exports"):
            service, _, operation = action.partition(":")
            allowed = operation.startswith(AWS_READ_VERBS) or action in AWS_READ_EXCEPTIONS
            if not (service.isalnum() and service.islower() and operation.isalnum() and allowed):
                wrong.append(f"{owner}: {action}")
        elif provider == "azure":
            parts = action.split("/")
            read = parts[-1] == "read" or action in AZURE_READ_EXCEPTIONS
            if not (parts[0].startswith("Microsoft.") and len(parts) >= 3 and read):
                wrong.append(f"{owner}: {action}")
        else:
            wrong.append(f"{owner}: no read-only rule for provider {provider}")
    assert not wrong, "not read-only, or not one exact action: " + "; ".join(wrong)


def test_the_iam_policy_has_the_two_statements_of_declared_actions() -> None:
    doc = json.loads((CONFIG / "aws-iam-policy.json").read_text("utf-8"))
    statements = {s["Sid"]: s for s in doc["Statement"]}
    assert set(statements) == {"CallerDiscoveryAndBilling", "MemberAccountReadOnly"}
    assert all(s["Effect"] == "Allow" and s["Resource"] == "*" for s in statements.values())
    caller = set(statements["CallerDiscoveryAndBilling"]["Action"])
    member = set(statements["MemberAccountReadOnly"]["Action"])
    assert caller == set(aws_actions("caller")) and member == set(aws_actions("member"))
    # Written by hand from what the code calls where: entering accounts and billing are the
    # caller's; what is read inside each account is the member role's.
    assert {"sts:AssumeRole", "organizations:ListAccounts", "ce:GetCostAndUsage"} <= caller
    assert {"ec2:DescribeInstances", "ec2:DescribeRegions", "sagemaker:Search"} <= member
    assert not caller & member


def test_cloudformation_member_role_grants_the_member_statement() -> None:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: f"!{suffix}")
    text = (CONFIG / "aws-member-role.cfn.yaml").read_text("utf-8")
    doc: dict[str, Any] = yaml.load(text, Loader=Loader)  # noqa: S506 - SafeLoader, tags as text
    role = doc["Resources"]["ComputewatchReadOnlyRole"]
    assert role["Type"] == "AWS::IAM::Role"
    (policy,) = role["Properties"]["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Resource"] == "*"
    assert statement["Action"] == list(aws_actions("member"))
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "!Ref"}}


def test_azure_role_is_the_declared_actions_and_nothing_else() -> None:
    role = json.loads((CONFIG / "azure-custom-role.json").read_text("utf-8"))
    assert role["IsCustom"] is True
    assert role["Actions"] == list(azure_actions())
    assert role["NotActions"] == role["DataActions"] == role["NotDataActions"] == []
    assert "Microsoft.Compute/virtualMachines/read" in role["Actions"]


def test_a_full_collection_uses_every_action_in_the_policy(
    aws: EmulatedAws, catalog: Catalog
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

    def provider(regions: str | list[str]) -> AwsProvider:
        organization = {
            "role_name": "ComputewatchReadOnly",
            "include_ous": [org.ous["Production"]],
            "include_tags": {"env": "*"},
        }
        settings = {"regions": regions, "organization": organization}
        return AwsProvider(AwsSettings.model_validate(settings), counter)

    counter = ApiCallCounter()
    ctx = CollectContext(oct_, utc(2026, 10, 20), catalog)
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        # Enabled regions are discovered per account (every region: discovery only, for speed).
        assert len(provider("enabled").discover(ctx, []).targets) > 1
        result = run_collection([provider(["us-east-1"])], ctx)
    assert result.records and {c.status for c in result.coverage} == {CoverageStatus.OK}
    used, policy = set(counter.snapshot()), set(aws_actions("caller") + aws_actions("member"))
    assert used == policy, f"unused: {policy - used}; missing: {used - policy}"


def test_the_export_policy_keeps_athena_result_writes_in_their_own_optional_statement() -> None:
    doc = json.loads((CONFIG / "aws-export-policy.json").read_text("utf-8"))
    read, write = doc["Statement"]
    assert read["Sid"] == "BillingExportRead"
    assert all(
        a.partition(":")[2].startswith(AWS_READ_VERBS) or a in AWS_READ_EXCEPTIONS
        for a in read["Action"]
    )
    assert write["Sid"] == "OptionalAthenaQueryResultsWrite"
    assert "s3:PutObject" in write["Action"]
    assert all(a.startswith("s3:") for a in write["Action"])
    assert write["Resource"] != "*" and all("REPLACE-WITH" in r for r in write["Resource"])
