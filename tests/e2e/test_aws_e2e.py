"""End to end through the ordinary boto3 path (AWS_ENDPOINT_URL -> moto server): an organization
with accounts in two OUs, one OU excluded, and a region the endpoint cannot serve."""

from datetime import timedelta
from pathlib import Path

from computewatch.app.exits import audit_exit_code
from computewatch.demo.emulated_aws import MANAGEMENT_ACCOUNT, EmulatedAws, InstanceSpec, MemberSpec
from computewatch.demo.emulated_aws_usage import ModelUsage, seed_bedrock_tokens, seed_target
from computewatch.domain import Window, utc
from computewatch.reports.json_report import validate_contract
from tests.helpers.aws import audit

OCT = Window.month("2026-10")
NOW = utc(2026, 11, 2)
BROKEN_REGION = "xx-fake-1"  # the emulator answers 500 for a region it does not serve


def test_organization_two_ous_one_excluded_one_failing_region(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    org = aws.seed_organization(
        [
            MemberSpec(
                "research-a", (InstanceSpec("p5.48xlarge", "us-east-1", OCT.start),), ou="Research"
            ),
            MemberSpec(
                "research-b",
                (InstanceSpec("g5.xlarge", "us-east-1", OCT.start + timedelta(days=9)),),
                ou="Research",
            ),
            MemberSpec(
                "sandbox", (InstanceSpec("p4d.24xlarge", "us-east-1", OCT.start),), ou="Sandbox"
            ),
        ]
    )
    seed_bedrock_tokens(
        aws,
        seed_target(aws, org.members["research-b"], "us-east-1"),
        OCT,
        [ModelUsage("anthropic.claude-3-5-sonnet-20241022-v2:0", 1000, 200, 3)],
    )
    aws.enforce_iam()
    a = audit(
        aws,
        org,
        tmp_path,
        OCT,
        NOW,
        sqlite_url,
        config_overrides={
            "regions": ["us-east-1", BROKEN_REGION],
            "organization": {
                "role_name": "ComputewatchReadOnly",
                "exclude_ous": [org.ous["Sandbox"]],
                "exclude_accounts": [MANAGEMENT_ACCOUNT],
            },
        },
    )
    validate_contract(a.report)
    assert sorted(x["name"] for x in a.report["accounts"]) == ["research-a", "research-b"]

    ra, rb = a.account("research-a"), a.account("research-b")
    assert ra["accelerator_hours"] == {"H100": 8 * 31 * 24}
    assert ra["peak_concurrent_accelerators"] == {"H100": 8}
    assert rb["accelerator_hours"] == {"A10G": 22 * 24}
    assert rb["tokens"] == {
        "anthropic.claude-3-5-sonnet-20241022-v2:0": {
            "input": 31_000,
            "output": 6_200,
            "invocations": 93,
        }
    }
    for acct in (ra, rb):
        assert acct["coverage"]["status"] == "partial"
        assert acct["coverage"]["units_read"] == 3 and acct["coverage"]["units_total"] == 6
        assert {(g["region"], g["collector"]) for g in acct["coverage"]["gaps"]} == {
            (BROKEN_REGION, "aws.ec2"),
            (BROKEN_REGION, "aws.bedrock"),
            (BROKEN_REGION, "aws.sagemaker"),
        }
    # 5,952 H100-hours already cross 5,000: BREACH despite the gap. 528 A10G-hours: UNKNOWN, not OK.
    assert a.findings("internal-3a090-hours-month", "research-a")[0]["status"] == "BREACH"
    rb_finding = a.findings("internal-3a090-hours-month", "research-b")[0]
    assert (rb_finding["status"], rb_finding["value"]) == ("UNKNOWN", 0)
    assert a.report["coverage"]["status"] == "partial"
    assert audit_exit_code(a.outcome) == 3


def test_config_attests_internal_policy_notices(
    aws: EmulatedAws, tmp_path: Path, sqlite_url: str
) -> None:
    """`reports.attest_internal_policy: true` reaches the notices a bundled run writes: the
    internal-policy notice carries the certification block and says the operator attests it."""
    org = aws.seed_organization(
        [MemberSpec("big", (InstanceSpec("p5.48xlarge", "us-east-1", OCT.start),))]
    )
    aws.enforce_iam()
    a = audit(
        aws,
        org,
        tmp_path,
        OCT,
        NOW,
        sqlite_url,
        config_overrides={
            "regions": ["us-east-1"],
            "sections": {"reports": {"attest_internal_policy": True}},
        },
        bundle=True,
    )
    (finding,) = a.findings("internal-3a090-hours-month", "big")
    assert (finding["status"], finding["legal_status"]) == ("BREACH", "internal-policy")
    for suffix in ("md", "html"):
        text = (tmp_path / "reports" / f"notice-{finding['id']}.{suffix}").read_text("utf-8")
        assert "8. Certification" in text and "Signature" in text
        assert "attests this internal policy" in text and "not law" in text
