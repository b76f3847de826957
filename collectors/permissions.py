"""The permission documents computewatch ships, generated from the declarations.

Providers and collectors declare the cloud actions they call (`Permissions`, collectors.base);
everything here is derived from those declarations, never written by hand:
- the AWS IAM policy (config/aws-iam-policy.json): statement `CallerDiscoveryAndBilling` for the
  identity computewatch runs as, `MemberAccountReadOnly` for what it reads in member accounts;
- the CloudFormation template of the member-account audit role (config/aws-member-role.cfn.yaml),
  granting the member actions;
- the Azure custom role (config/azure-custom-role.json);
- the Azure role reading a cost export from Blob Storage (config/azure-export-role.json).
`computewatch permissions <document>` prints them; a test keeps the committed copies identical,
and the emulators grant exactly these actions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from computewatch.collectors.base import Permissions
from computewatch.collectors.registry import Registry, builtin

Where = Literal["caller", "member"]
AWS_STATEMENTS: dict[Where, str] = {
    "caller": "CallerDiscoveryAndBilling",
    "member": "MemberAccountReadOnly",
}


def declared(provider: str, registry: Registry | None = None) -> list[tuple[str, Permissions]]:
    """(name, permissions) of the provider and each of its collectors."""
    known = registry or builtin()
    out = [(provider, known.provider(provider).permissions)]
    out += [(name, known.collector(name).permissions) for name in known.collectors_for(provider)]
    return out


def aws_actions(where: Where, registry: Registry | None = None) -> tuple[str, ...]:
    """The IAM actions granted to the caller or in each member account, sorted."""
    return tuple(sorted({a for _, p in declared("aws", registry) for a in getattr(p, where)}))


def azure_actions(registry: Registry | None = None) -> tuple[str, ...]:
    """The RBAC actions of the Azure custom role, sorted."""
    return tuple(sorted({a for _, p in declared("azure", registry) for a in p.actions}))


def aws_policy(registry: Registry | None = None) -> dict[str, Any]:
    statements = [
        {
            "Sid": sid,
            "Effect": "Allow",
            "Action": list(aws_actions(where, registry)),
            "Resource": "*",
        }
        for where, sid in AWS_STATEMENTS.items()
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def aws_policy_json(registry: Registry | None = None) -> str:
    return json.dumps(aws_policy(registry), indent=2) + "\n"


_MEMBER_ROLE = """\
# The read-only role computewatch assumes in each member account. Deploy it to every account with
# a CloudFormation StackSet (service-managed, targeting the organization root or chosen OUs).
# Generated from the collectors' declarations by `computewatch permissions aws-member-role`; its
# permissions are the MemberAccountReadOnly statement of config/aws-iam-policy.json.
AWSTemplateFormatVersion: "2010-09-09"
Description: computewatch read-only audit role (GPU/accelerator instances, Bedrock, SageMaker usage)
Parameters:
  AuditAccountId:
    Type: String
    AllowedPattern: "^\\\\d{12}$"
    Description: Account where computewatch runs (usually the management or a delegated account)
  ExternalId:
    Type: String
    NoEcho: true
    MinLength: 8
    Description: Shared secret the caller passes to sts:AssumeRole (set COMPUTEWATCH_EXTERNAL_ID to it)
  RoleName:
    Type: String
    Default: ComputewatchReadOnly
Resources:
  ComputewatchReadOnlyRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Ref RoleName
      MaxSessionDuration: 3600
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              AWS: !Sub "arn:${AWS::Partition}:iam::${AuditAccountId}:root"
            Action: sts:AssumeRole
            Condition:
              StringEquals:
                sts:ExternalId: !Ref ExternalId
      Policies:
        - PolicyName: computewatch-read
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action:
@ACTIONS@
                Resource: "*"
Outputs:
  RoleArn:
    Value: !GetAtt ComputewatchReadOnlyRole.Arn
"""


def aws_member_role(registry: Registry | None = None) -> str:
    """The CloudFormation template (YAML) of the member-account audit role."""
    lines = "\n".join(f"                  - {a}" for a in aws_actions("member", registry))
    return _MEMBER_ROLE.replace("@ACTIONS@", lines)


AZURE_ROLE_DESCRIPTION = (
    "Read-only access computewatch needs to measure GPU VM and Azure OpenAI usage: subscription"
    " listing, VM and scale set inventory with power state, VM size GPU capabilities, the Activity"
    " Log, and Cognitive Services accounts, deployments and their metrics. Grants no data-plane"
    " access."
)


def azure_role(registry: Registry | None = None) -> dict[str, Any]:
    """The Azure custom role definition (`az role definition create --role-definition`)."""
    return {
        "Name": "computewatch reader",
        "IsCustom": True,
        "Description": AZURE_ROLE_DESCRIPTION,
        "Actions": list(azure_actions(registry)),
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000000"],
    }


def azure_role_json(registry: Registry | None = None) -> str:
    return json.dumps(azure_role(registry), indent=2) + "\n"


def aws_export_policy_json(registry: Registry | None = None) -> str:
    """The policy of the identity that reads billing exports in the payer account: the export
    bucket (s3:ListBucket, s3:GetObject) and, for the Athena engine, the query calls. Scope its
    Resource to the export bucket, the Athena workgroup and the CUR table when deploying. A second,
    optional statement lets Athena write query results to the output location (engine athena
    only)."""
    known = registry or builtin()
    actions = sorted({a for _, p in declared("exports", known) for a in p.actions})
    statement = {"Sid": "BillingExportRead", "Effect": "Allow", "Action": actions, "Resource": "*"}
    athena_output = {
        "Sid": ATHENA_OUTPUT_SID,
        "Effect": "Allow",
        "Action": list(ATHENA_OUTPUT_ACTIONS),
        "Resource": list(ATHENA_OUTPUT_RESOURCES),
    }
    doc = {"Version": "2012-10-17", "Statement": [statement, athena_output]}
    return json.dumps(doc, indent=2) + "\n"


# Optional, only for `engine: athena`: Athena writes query results to the workgroup's output
# location as the caller, so the caller needs these on that bucket and prefix (the S3 actions
# AWS's managed AmazonAthenaFullAccess policy grants on its default results buckets; reading the
# results back is the read statement's s3:GetObject). Not a collector's call (nothing computewatch
# itself sends), hence not declared; its own statement, scoped to a placeholder to replace, so it
# can be left out where the DuckDB engine reads the export.
ATHENA_OUTPUT_SID = "OptionalAthenaQueryResultsWrite"
ATHENA_OUTPUT_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:GetBucketLocation",
    "s3:ListBucketMultipartUploads",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
)
ATHENA_OUTPUT_RESOURCES = (
    "arn:aws:s3:::REPLACE-WITH-ATHENA-OUTPUT-BUCKET",
    "arn:aws:s3:::REPLACE-WITH-ATHENA-OUTPUT-BUCKET/REPLACE-WITH-OUTPUT-PREFIX/*",
)


AZURE_EXPORT_ROLE_DESCRIPTION = (
    "Read-only access computewatch needs to read an Azure cost export (FocusCost) from a storage"
    " account: list and read blobs, nothing else (the built-in Storage Blob Data Reader role grants"
    " the same data action). Assign it on the export's container."
)


def azure_export_role(registry: Registry | None = None) -> dict[str, Any]:
    """The minimal custom role for reading an export from Azure Blob / ADLS Gen2 with an Entra ID
    credential: the data action the fetcher's calls need, no management-plane action."""
    from computewatch.collectors.exports.azblob import BLOB_CALLS

    return {
        "Name": "computewatch export reader",
        "IsCustom": True,
        "Description": AZURE_EXPORT_ROLE_DESCRIPTION,
        "Actions": [],
        "NotActions": [],
        "DataActions": sorted(set(BLOB_CALLS.values())),
        "NotDataActions": [],
        "AssignableScopes": [
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/REPLACE-WITH-RG"
            "/providers/Microsoft.Storage/storageAccounts/REPLACE-WITH-ACCOUNT"
        ],
    }


def azure_export_role_json(registry: Registry | None = None) -> str:
    return json.dumps(azure_export_role(registry), indent=2) + "\n"


# Document name -> (file it is shipped as in config/, generator).
DOCUMENTS: dict[str, tuple[str, Callable[[Registry | None], str]]] = {
    "aws-policy": ("aws-iam-policy.json", aws_policy_json),
    "aws-member-role": ("aws-member-role.cfn.yaml", aws_member_role),
    "azure-role": ("azure-custom-role.json", azure_role_json),
    "aws-export-policy": ("aws-export-policy.json", aws_export_policy_json),
    "azure-export-role": ("azure-export-role.json", azure_export_role_json),
}


def render(document: str, registry: Registry | None = None) -> str:
    """One of DOCUMENTS, as its file's text."""
    return DOCUMENTS[document][1](registry)
