"""A local emulated AWS (moto server) and a declarative way to seed an organization into it.

Used by `computewatch demo` and by the end-to-end tests. Everything goes through real SDK calls
against the moto server, except backdating instance launch and stop times: EC2 has no API for
that, so the seeder sets them on the emulator's in-process model. Seeding builds its clients the
way the collectors do (`collectors.aws.clients.new_client`: a service's class is built once), one
per account, region and service, so seeding a 1,000-account organization takes minutes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import requests

from computewatch.collectors.aws.clients import new_client, static_credentials
from computewatch.collectors.permissions import aws_actions

# What computewatch's audit role may do in a member account, and its caller in the management
# account, are what the provider and collectors declare (collectors.permissions, which also
# generates config/aws-iam-policy.json): the emulator grants exactly those unless told otherwise.
MANAGEMENT_ACCOUNT = "123456789012"  # moto's default account id
SEED_KEYS = {"aws_access_key_id": "seed", "aws_secret_access_key": "seed"}


@dataclass(frozen=True)
class InstanceSpec:
    instance_type: str
    region: str
    launched: datetime
    stopped: datetime | None = None
    count: int = 1


@dataclass(frozen=True)
class MemberSpec:
    name: str
    instances: tuple[InstanceSpec, ...] = ()
    # What its audit role grants; None: the declared member-account actions.
    allowed_actions: tuple[str, ...] | None = None
    ou: str = ""  # name of an organizational unit directly under the root ("" = the root)
    tags: tuple[tuple[str, str], ...] = ()


@dataclass
class SeededOrg:
    endpoint: str
    auditor_key_id: str
    auditor_secret: str
    role_name: str
    members: dict[str, str] = field(default_factory=dict)  # name -> account id
    ous: dict[str, str] = field(default_factory=dict)  # OU name -> OU id
    instances: dict[str, list[str]] = field(default_factory=dict)  # member name -> instance ids


IMAGE_ID = "ami-0c0ffee0c0ffee000"  # moto does not validate image ids unless asked to


class EmulatedAws:
    """A moto server on 127.0.0.1 at a free port, in this process."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer  # demo/test extra

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        # moto otherwise loads its catalogue of public AMIs into every account-region it creates
        # (seconds each); the emulator launches instances from one image id of its own.
        os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint = ""
        # The management account's seeding clients, per (service, region): a few, kept.
        self._management: dict[tuple[str, str], Any] = {}

    def start(self) -> EmulatedAws:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        # Generous: resetting every region's backends takes seconds on a busy machine.
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=120).raise_for_status()
        self.enforce_iam(False)

    def enforce_iam(self, on: bool = True) -> None:
        """From now on every request is authenticated and authorized against the emulator's IAM."""
        if on:
            align_emulator_iam()
        value = "0" if on else "inf"
        requests.post(
            f"{self.endpoint}/moto-api/reset-auth", data=value, timeout=10
        ).raise_for_status()

    def client(self, service: str, region: str = "us-east-1", **creds: str) -> Any:
        """A boto3 client (with boto3's additions, e.g. S3 uploads), for tests and seeders."""
        return boto3.client(
            service, region_name=region, endpoint_url=self.endpoint, **(creds or SEED_KEYS)
        )

    def seed_client(self, service: str, region: str = "us-east-1", **creds: str) -> Any:
        """A plain botocore client for seeding, built cheaply (see the module's docstring); the
        management account's (no `creds`) are kept, a member's belong to the caller (close it)."""
        if not creds and (service, region) in self._management:
            return self._management[service, region]
        built = new_client(
            service, region, static_credentials(**(creds or SEED_KEYS)), endpoint_url=self.endpoint
        )
        if not creds:
            self._management[service, region] = built
        return built

    def seed_organization(
        self,
        members: list[MemberSpec],
        role_name: str = "ComputewatchReadOnly",
        caller_actions: tuple[str, ...] | None = None,
    ) -> SeededOrg:
        """Create an organization, its member accounts, a read-only role in each, and their
        instances; the auditor user holds `caller_actions` (None: the declared caller actions)."""
        member_actions = aws_actions("member")
        if caller_actions is None:
            caller_actions = aws_actions("caller")
        org = self.seed_client("organizations")
        org.create_organization(FeatureSet="ALL")
        seeded = SeededOrg(self.endpoint, "", "", role_name)
        # The management account is listed by Organizations too; it gets the audit role like any member.
        self._add_role(self.seed_client("iam"), role_name, member_actions)
        root = org.list_roots()["Roots"][0]["Id"]
        for spec in members:
            status = org.create_account(
                Email=f"{spec.name}@example.invalid",
                AccountName=spec.name,
                Tags=[{"Key": k, "Value": v} for k, v in spec.tags],
            )
            account_id = status["CreateAccountStatus"]["AccountId"]
            seeded.members[spec.name] = account_id
            if spec.ou:
                if spec.ou not in seeded.ous:
                    ou = org.create_organizational_unit(ParentId=root, Name=spec.ou)
                    seeded.ous[spec.ou] = ou["OrganizationalUnit"]["Id"]
                org.move_account(
                    AccountId=account_id,
                    SourceParentId=root,
                    DestinationParentId=seeded.ous[spec.ou],
                )
            creds = self._enter(account_id)
            granted = member_actions if spec.allowed_actions is None else spec.allowed_actions
            clients = {"iam": self.seed_client("iam", **creds)}
            self._add_role(clients["iam"], role_name, granted)
            for inst in spec.instances:
                if inst.region not in clients:
                    clients[inst.region] = self.seed_client("ec2", inst.region, **creds)
                seeded.instances.setdefault(spec.name, []).extend(
                    self._launch(account_id, clients[inst.region], inst)
                )
            for client in clients.values():
                client.close()
        iam = self.seed_client("iam")
        iam.create_user(UserName="computewatch-auditor")
        iam.put_user_policy(
            UserName="computewatch-auditor",
            PolicyName="computewatch-discovery",
            PolicyDocument=json.dumps(_policy([*caller_actions, *member_actions])),
        )
        key = iam.create_access_key(UserName="computewatch-auditor")["AccessKey"]
        seeded.auditor_key_id, seeded.auditor_secret = key["AccessKeyId"], key["SecretAccessKey"]
        return seeded

    def inject_cost_and_usage(self, pages: list[dict[str, Any]]) -> None:
        """Queue GetCostAndUsage answers (moto ignores the request; each distinct request,
        including each NextPageToken, takes the next page)."""
        requests.post(
            f"{self.endpoint}/moto-api/static/ce/cost-and-usage-results",
            json={"account_id": MANAGEMENT_ACCOUNT, "results": pages},
            timeout=10,
        ).raise_for_status()

    @staticmethod
    def _add_role(iam: Any, role_name: str, actions: Sequence[str]) -> None:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(
            RoleName=role_name,
            PolicyName="computewatch-read",
            PolicyDocument=json.dumps(_policy(list(actions))),
        )

    def credentials_for(self, account_id: str) -> dict[str, str]:
        """Seeding credentials inside a member account (for seeders outside this module)."""
        return self._enter(account_id)

    def _enter(self, account_id: str) -> dict[str, str]:
        sts = self.seed_client("sts")
        c = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
            RoleSessionName="seed",
        )["Credentials"]
        return {
            "aws_access_key_id": c["AccessKeyId"],
            "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"],
        }

    def _launch(self, account_id: str, ec2: Any, spec: InstanceSpec) -> list[str]:
        out = ec2.run_instances(
            ImageId=IMAGE_ID,
            InstanceType=spec.instance_type,
            MinCount=spec.count,
            MaxCount=spec.count,
        )
        ids = [i["InstanceId"] for i in out["Instances"]]
        if spec.stopped is not None:
            ec2.stop_instances(InstanceIds=ids)
        for iid in ids:
            self.set_instance_times(account_id, spec.region, iid, spec.launched, spec.stopped)
        return ids

    @staticmethod
    def set_instance_times(
        account_id: str,
        region: str,
        instance_id: str,
        launched: datetime,
        stopped: datetime | None = None,
        state: str | None = None,
    ) -> None:
        """Move an instance's last launch (and stop time) into the past, or restart it:
        EC2 has no API for that, so this edits the emulator's in-process model."""
        from moto.ec2.models import ec2_backends

        model = ec2_backends[account_id][region].get_instance(instance_id)
        model.launch_time = launched.astimezone(UTC).replace(tzinfo=None)
        if stopped is not None:
            model._reason = f"User initiated ({stopped.astimezone(UTC):%Y-%m-%d %H:%M:%S} GMT)"
        if state is not None:
            model._state.name = state
            model._state.code = {"running": 16, "stopped": 80, "terminated": 48}[state]


# Signing name -> IAM action prefix, where the two differ.
_IAM_PREFIX = {"monitoring": "cloudwatch"}


def align_emulator_iam() -> None:
    """Make the emulator's IAM enforcement judge CloudWatch and Bedrock calls as AWS does.

    moto 5.2, in this process (ThreadedMotoServer), once IAM is enforced:
    - names an action after the request's signing name, so CloudWatch calls need `monitoring:*`
      where AWS (and config/aws-iam-policy.json) say `cloudwatch:*`;
    - re-signs a GET without a body over its parsed query string, so every REST-style GET (Bedrock
      ListModelCustomizationJobs) fails with SignatureDoesNotMatch.
    Idempotent; affects only the in-process emulator.
    """
    from moto.iam.access_control import IAMRequestBase  # demo/test extra

    if getattr(IAMRequestBase, "_computewatch_aligned", False):
        return
    init, create = IAMRequestBase.__init__, IAMRequestBase._create_aws_request

    def aligned_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        prefix, _, operation = self._action.partition(":")
        self._action = f"{_IAM_PREFIX.get(prefix, prefix)}:{operation}"

    def aligned_request(self: Any) -> Any:
        if self._method in ("GET", "HEAD", "DELETE") and not self._body:
            saved, self._data = self._data, b""  # sign the empty payload, as the client did
            try:
                return create(self)
            finally:
                self._data = saved  # S3's AccessDenied reads the parsed data afterwards
        return create(self)

    setattr(IAMRequestBase, "__init__", aligned_init)  # noqa: B010
    setattr(IAMRequestBase, "_create_aws_request", aligned_request)  # noqa: B010
    setattr(IAMRequestBase, "_computewatch_aligned", True)  # noqa: B010


def _policy(actions: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    }


@contextmanager
def aws_environment(
    endpoint: str, key_id: str, secret: str, region: str = "us-east-1"
) -> Iterator[None]:
    """Point unchanged boto3 code at the emulator (AWS_ENDPOINT_URL), restoring the environment after."""
    names = [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ]
    saved = {n: os.environ.get(n) for n in names}
    try:
        for n in names:
            os.environ.pop(n, None)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": key_id,
                "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_DEFAULT_REGION": region,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            }
        )
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v
