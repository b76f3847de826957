"""Account and region discovery: Organizations filters, explicit accounts, enabled regions."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from computewatch.app.exits import audit_exit_code
from computewatch.collectors.aws.provider import AwsProvider
from computewatch.collectors.base import ApiCallCounter, CollectContext
from computewatch.config.aws import AwsSettings
from computewatch.demo.emulated_aws import EmulatedAws, MemberSpec, aws_environment
from computewatch.domain import Window, utc
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import ConfigError
from computewatch.pipeline.audit import AuditRequest, run_audit
from computewatch.pipeline.loading import load_config
from tests.helpers.aws import seed, write_config

OCT = Window.month("2026-10")
NOW = utc(2026, 11, 28)
MEMBERS = [
    MemberSpec("prod-a", ou="Production", tags=(("env", "prod"),)),
    MemberSpec("prod-b", ou="Production", tags=(("env", "prod"), ("compliance", "exempt"))),
    MemberSpec("sandbox", ou="Sandbox", tags=(("env", "dev"),)),
    MemberSpec("loose"),
]


def discovered(
    aws: EmulatedAws, tmp_path: Path, org_extra: dict[str, object], **aws_extra: object
) -> list[str]:
    org = seed(aws, MEMBERS)
    aws_extra = {"collectors": ["aws.ec2"], "regions": ["us-east-1"]} | aws_extra
    path = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db", **aws_extra)
    doc = yaml.safe_load(path.read_text())
    organization = doc["aws"]["organization"]
    organization.update(org_extra)
    for key in ("include_ous", "exclude_ous"):
        if key in organization:
            organization[key] = [org.ous[name] for name in organization[key]]
    path.write_text(yaml.safe_dump(doc))
    config = load_config(path)
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        outcome = run_audit(
            config,
            AuditRequest(OCT, NOW, tmp_path / "r", ["json"], providers={"aws"}, bundle=False),
        )
    names = {v: k for k, v in org.members.items()}
    return sorted(names[a.account_id] for a in outcome.context.accounts)


@pytest.mark.parametrize(
    ("org_extra", "expected"),
    [
        ({}, ["loose", "prod-a", "prod-b", "sandbox"]),
        ({"include_ous": ["Production"]}, ["prod-a", "prod-b"]),
        ({"exclude_ous": ["Sandbox"]}, ["loose", "prod-a", "prod-b"]),
        ({"include_tags": {"env": "*"}}, ["prod-a", "prod-b", "sandbox"]),
        ({"include_tags": {"env": "prod"}, "exclude_tags": {"compliance": "exempt"}}, ["prod-a"]),
    ],
)
def test_organization_filters(
    aws: EmulatedAws, tmp_path: Path, org_extra: dict[str, object], expected: list[str]
) -> None:
    assert discovered(aws, tmp_path, org_extra) == expected


def test_enabled_regions_are_discovered_per_account(aws: EmulatedAws, tmp_path: Path) -> None:
    org = seed(aws, [MemberSpec("only")])
    path = write_config(
        # SageMaker's one Search per region is the cheapest unit to count regions with.
        tmp_path,
        f"sqlite:///{tmp_path}/s.db",
        regions="enabled",
        collectors=["aws.sagemaker"],
    )
    config = load_config(path)
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        outcome = run_audit(config, AuditRequest(OCT, NOW, tmp_path / "r", ["json"], bundle=False))
    (acct,) = outcome.context.accounts
    assert acct.account_id == org.members["only"]
    assert acct.units_total > 10  # every enabled region of the account, not the configured two
    assert outcome.api_calls["ec2:DescribeRegions"] == 1


def test_unknown_collector_name_is_a_config_error_with_its_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db", collectors=["aws.ec3"])
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.field == "aws.collectors.0" and err.value.line is not None
    assert "aws.ec3" in str(err.value) and "aws.ec2" in str(err.value)  # names the known ones


def test_explicit_account_with_missing_external_id_is_a_gap(
    aws: EmulatedAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = seed(aws, [MemberSpec("only")])
    aid = org.members["only"]
    monkeypatch.delenv("CW_TEST_EXTERNAL_ID", raising=False)
    path = write_config(
        tmp_path,
        f"sqlite:///{tmp_path}/s.db",
        organization=None,
        accounts=[
            {
                "id": aid,
                "role_arn": f"arn:aws:iam::{aid}:role/ComputewatchReadOnly",
                "external_id_env": "CW_TEST_EXTERNAL_ID",
            }
        ],
    )
    config = load_config(path)
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        outcome = run_audit(config, AuditRequest(OCT, NOW, tmp_path / "r", ["json"], bundle=False))
    (acct,) = outcome.context.accounts
    assert acct.coverage_status == "failed"
    assert {g.error_code for g in acct.gaps} == {"ExternalIdMissing"}
    assert audit_exit_code(outcome) == 4


def test_assumed_role_credentials_are_renewed_before_they_expire(
    aws: EmulatedAws, tmp_path: Path
) -> None:
    """A run longer than the role session (one hour) keeps reading: botocore asks STS again."""
    org = seed(aws, [MemberSpec("long-run")])
    settings = AwsSettings.model_validate(
        {"regions": ["us-east-1"], "organization": {"role_name": "ComputewatchReadOnly"}}
    )
    counter = ApiCallCounter()
    provider = AwsProvider(settings, counter)
    role = f"arn:aws:iam::{org.members['long-run']}:role/ComputewatchReadOnly"
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        member = provider._assume(provider._clients(), role, None)
        creds = member.credentials
        assert creds is not None
        first = creds.get_frozen_credentials().access_key
        ec2 = member.client("ec2", "us-east-1")  # built with the first keys
        assert counter.snapshot()["sts:AssumeRole"] == 1
        # Seen from 55 minutes later: the credentials are about to expire.
        later = datetime.now(UTC) + timedelta(minutes=55)
        creds._time_fetcher = lambda: later  # botocore's clock hook for refresh decisions
        assert ec2.describe_instances()["Reservations"] == []  # still allowed, with new keys
    assert counter.snapshot()["sts:AssumeRole"] == 2
    assert creds.get_frozen_credentials().access_key != first


def test_retry_settings_reach_every_client(aws: EmulatedAws, catalog: Catalog) -> None:
    org = seed(aws, [MemberSpec("throttled")])
    settings = AwsSettings.model_validate(
        {
            "regions": ["us-east-1"],
            "organization": {"role_name": "ComputewatchReadOnly"},
            "retry_mode": "adaptive",
            "max_attempts": 10,
        }
    )
    provider = AwsProvider(settings, ApiCallCounter())
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        found = provider.discover(CollectContext(OCT, NOW, catalog), ["aws.ec2"])
        clients = [t.clients.client("ec2") for t in found.targets + found.org_targets]
    assert clients and all(
        # botocore's max_attempts counts retries: ten of them after the first try.
        c.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 11}
        for c in clients
    )
