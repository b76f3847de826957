"""The `exports:` section: billing exports read as a source (CUR 2.0, FOCUS 1.0-1.2)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from computewatch.config.base import _Strict


class AthenaSettings(_Strict):
    """Run the same query text in Amazon Athena, in the payer account (the data stays there)."""

    database: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    table: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    workgroup: str = Field(default="primary", pattern=r"^[A-Za-z0-9._-]+$")
    output_location: str = Field(pattern=r"^s3://.+", description="s3:// folder for results")
    region: str = "us-east-1"
    max_bytes_scanned: int | None = Field(
        default=None, gt=0, description="refuse a query that scanned more (cost guard)"
    )


class ExportSource(_Strict):
    """One export: where its files are and what it is.

    `location` is a local folder or `s3://bucket/prefix` holding the export (CUR 2.0 and FOCUS
    deliveries keep one folder per billing period, `BILLING_PERIOD=YYYY-MM`, and a manifest).
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    format: Literal["cur2", "focus"]
    cloud: Literal["aws", "azure"] = "aws"
    location: str = ""
    billing_account: str = Field(
        default="", description="payer account / billing account id: the unit a failed read names"
    )
    engine: Literal["duckdb", "athena"] = "duckdb"
    athena: AthenaSettings | None = None
    cache_dir: str | None = Field(
        default=None, description="local cache of downloaded objects (default: a user cache dir)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ExportSource:
        if self.format == "cur2" and self.cloud != "aws":
            raise ValueError("a CUR 2.0 export is an AWS export (cloud: aws)")
        if self.engine == "athena" and self.athena is None:
            raise ValueError("engine athena needs an athena: section")
        if self.engine == "duckdb" and not self.location:
            raise ValueError("engine duckdb needs a location (folder or s3://bucket/prefix)")
        return self


class ExportSettings(_Strict):
    sources: list[ExportSource] = Field(min_length=1)
    # Where relative local locations are resolved (set by the loader to the config's folder).
    base_dir: str = ""

    @model_validator(mode="after")
    def _unique(self) -> ExportSettings:
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError("two exports share a name")
        return self
