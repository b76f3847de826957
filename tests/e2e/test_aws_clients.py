"""SDK clients at organization scale: one botocore session for the process, one client per
(account, region, service), and nothing of an account kept once its units are done."""

import gc
import threading
from concurrent.futures import ThreadPoolExecutor

import botocore.client
import botocore.session

from computewatch.collectors.aws.clients import (
    AccountClients,
    RegionClients,
    built_clients,
    client_classes_built,
    live_clients,
    shared_session,
    static_credentials,
)
from computewatch.collectors.aws.ec2 import Ec2AcceleratorCollector
from computewatch.collectors.aws.provider import AwsProvider
from computewatch.collectors.base import ApiCallCounter, CollectContext, Target
from computewatch.collectors.runner import run_collection
from computewatch.config.aws import AwsSettings
from computewatch.demo.emulated_aws import (
    MANAGEMENT_ACCOUNT,
    EmulatedAws,
    InstanceSpec,
    MemberSpec,
    aws_environment,
)
from computewatch.domain import CoverageEntry, CoverageStatus, Window, utc
from computewatch.domain.catalog import Catalog
from tests.helpers.aws import seed

OCT = Window.month("2026-10")
NOW = utc(2026, 11, 28)
REGIONS = ["us-east-1", "us-west-2"]


def sessions() -> int:
    return sum(isinstance(o, botocore.session.Session) for o in gc.get_objects())


def test_an_accounts_clients_are_released_when_its_units_finish(
    aws: EmulatedAws, catalog: Catalog
) -> None:
    members = [
        MemberSpec(f"team-{i}", (InstanceSpec("p5.48xlarge", REGIONS[i % 2], OCT.start),))
        for i in range(3)
    ]
    org = seed(aws, members)
    settings = AwsSettings.model_validate(
        {
            "regions": REGIONS,
            "organization": {
                "role_name": "ComputewatchReadOnly",
                "exclude_accounts": [MANAGEMENT_ACCOUNT],
            },
            "max_workers": 4,
        }
    )
    provider = AwsProvider(settings, ApiCallCounter())
    open_after_last: dict[str, int] = {}

    def progress(_n: int, _total: int, target: Target, _c: str, entry: CoverageEntry) -> None:
        assert entry.status is CoverageStatus.OK, entry
        clients = target.clients
        assert isinstance(clients, RegionClients)
        # The last call for an account comes after its last unit.
        open_after_last[target.account.account_id] = clients.account.open()

    shared_session()
    gc.collect()
    sessions_before, built_before = sessions(), built_clients()
    with aws_environment(aws.endpoint, org.auditor_key_id, org.auditor_secret):
        result = run_collection([provider], CollectContext(OCT, NOW, catalog), progress=progress)
    # Every unit read; each account's clients were closed by the time its last unit reported.
    assert len(result.accounts) == 3
    assert set(open_after_last) == {*org.members.values(), "organization"}
    assert all(n == 0 for n in open_after_last.values()), open_after_last
    gc.collect()
    assert live_clients() == 0
    # No session was created: accounts are credentials on the process's one session.
    assert sessions() <= sessions_before
    # One client per (account, region, service): 3 members x 2 regions x (ec2, cloudwatch,
    # bedrock, sagemaker), and the caller's organizations, sts and ce in the home region.
    assert built_clients() - built_before == 3 * 2 * 4 + 3


def test_regions_resolve_their_instance_types_side_by_side(
    aws: EmulatedAws, catalog: Catalog
) -> None:
    """Each region's first DescribeInstanceTypes holds only that region's lock: two regions'
    first calls are in flight together (under one lock for all, the second would wait for the
    first, which waits at the barrier for the second: the barrier breaks)."""
    org = aws.seed_organization([MemberSpec("team")])
    barrier = threading.Barrier(2, timeout=30)

    def meet(**_: object) -> None:
        barrier.wait()

    collector = Ec2AcceleratorCollector()
    with aws_environment(aws.endpoint, "unused", "unused"):
        creds = static_credentials(**aws.credentials_for(org.members["team"]))
        clients = AccountClients(creds, hooks={"before-call.ec2.DescribeInstanceTypes": meet})

        def resolve(region: str) -> int:
            return len(collector._types.get(clients.client("ec2", region), region, catalog))

        with ThreadPoolExecutor(max_workers=2) as pool:
            found = dict(zip(REGIONS, pool.map(resolve, REGIONS), strict=True))
    assert all(found.values()), found


def test_clients_of_one_service_share_one_class_and_model(aws: EmulatedAws) -> None:
    """A client for one more account reuses its service's class and model (building them is most
    of a client's cost): the second account builds no class, and each client still signs with its
    own account's credentials. Other botocore sessions keep botocore's own behaviour."""
    org = aws.seed_organization(
        [
            MemberSpec(f"team-{i}", (InstanceSpec("p5.48xlarge", REGIONS[0], OCT.start),))
            for i in range(2)
        ]
    )
    with aws_environment(aws.endpoint, "unused", "unused"):
        first, second = (
            AccountClients(static_credentials(**aws.credentials_for(org.members[f"team-{i}"])))
            for i in range(2)
        )
        for service in ("ec2", "cloudwatch", "sagemaker"):
            first.client(service, REGIONS[0])
        classes_before = client_classes_built()
        seen = {}
        for service in ("ec2", "cloudwatch", "sagemaker"):
            for region in REGIONS:
                client = second.client(service, region)
                model = first.client(service, REGIONS[0])
                assert type(client) is type(model)
                assert client.meta.service_model is model.meta.service_model
                assert client.meta.region_name == region
            seen[service] = client
        assert client_classes_built() == classes_before
        # Each account reads its own instance: the clients share a class, not credentials.
        for n, clients in enumerate((first, second)):
            out = clients.client("ec2", REGIONS[0]).describe_instances()
            ids = [i["InstanceId"] for r in out["Reservations"] for i in r["Instances"]]
            assert ids == org.instances[f"team-{n}"]
        other = botocore.session.get_session().create_client(
            "ec2", region_name=REGIONS[0], aws_access_key_id="x", aws_secret_access_key="x"
        )
        assert type(other) is not type(seen["ec2"])
        assert other.meta.service_model is not seen["ec2"].meta.service_model
        assert botocore.client.ClientCreator.__module__ == "botocore.client"
        first.release()
        second.release()
