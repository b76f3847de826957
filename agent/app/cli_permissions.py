"""`computewatch permissions`: the IAM policy, CloudFormation role or Azure role, generated."""

from __future__ import annotations

import click

from computewatch.collectors.permissions import DOCUMENTS, render


@click.command()
@click.argument("document", type=click.Choice(list(DOCUMENTS)))
def permissions(document: str) -> None:
    """Print the least-privilege AWS IAM policy (aws-policy), the CloudFormation template of the
    member-account audit role (aws-member-role) or the Azure custom role (azure-role).

    Generated from the actions each collector declares; config/ ships the same documents."""
    click.echo(render(document), nl=False)
