"""The same query texts in Amazon Athena, over the payer account's CUR 2.0 / FOCUS table: the
data never leaves the account; only the aggregated rows come back.

boto3 `start_query_execution` (database, workgroup, output location from the config), polled with
`get_query_execution`, then `get_query_results` pages. The bytes each query scanned are recorded
with the delivery; `max_bytes_scanned` refuses a result past the limit (a cost guard: Athena bills
per byte scanned).
"""

from __future__ import annotations

import hashlib
import time
from datetime import date, datetime
from typing import Any

from computewatch.collectors.aws.common import client_config, new_session, translate_errors
from computewatch.collectors.exports.cur2 import PeriodRead
from computewatch.collectors.exports.delivery import Delivery
from computewatch.collectors.exports.measures import read_format
from computewatch.collectors.exports.queries import Query
from computewatch.collectors.exports.records import RecordSink
from computewatch.config.exports import AthenaSettings, ExportSource
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import SourceError

DONE = ("SUCCEEDED", "FAILED", "CANCELLED")


def _value(raw: dict[str, str], kind: str) -> Any:
    text = raw.get("VarCharValue")
    if text is None:
        return None
    kind = kind.lower()
    if kind in ("double", "float", "real", "decimal"):
        return float(text)
    if kind in ("bigint", "integer", "int", "smallint", "tinyint"):
        return int(text)
    if kind == "boolean":
        return text.lower() == "true"
    if kind == "date":
        return date.fromisoformat(text[:10])
    if kind.startswith("timestamp"):
        return datetime.fromisoformat(text.replace(" ", "T")[:19])
    return text


class AthenaRunner:
    def __init__(self, settings: AthenaSettings, counter: Any, session: Any = None) -> None:
        self.settings = settings
        session = session or new_session()
        if counter is not None:

            def count(model: Any, **_: Any) -> None:
                counter.add("athena", str(model.name))

            session.events.register("before-call.athena.*", count)
        self.client = session.client("athena", region_name=settings.region, config=client_config())
        self.executions: list[tuple[str, str, int]] = []  # (query, execution id, bytes scanned)

    @property
    def table(self) -> str:
        return f'"{self.settings.database}"."{self.settings.table}"'

    def run(self, q: Query) -> list[tuple[Any, ...]]:
        s = self.settings
        with translate_errors("athena"):
            qid = self.client.start_query_execution(
                QueryString=q.text,
                QueryExecutionContext={"Database": s.database},
                WorkGroup=s.workgroup,
                ResultConfiguration={"OutputLocation": s.output_location},
            )["QueryExecutionId"]
            delay = 0.2
            while True:
                execution = self.client.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
                state = execution["Status"]["State"]
                if state in DONE:
                    break
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
            if state != "SUCCEEDED":
                reason = execution["Status"].get("StateChangeReason", state)
                raise SourceError("athena", f"Query{state.title()}", f"{q.name}: {reason}")
            scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
            self.executions.append((q.name, qid, scanned))
            if s.max_bytes_scanned is not None and scanned > s.max_bytes_scanned:
                raise SourceError(
                    "athena",
                    "ScanLimitExceeded",
                    f"{q.name} scanned {scanned} bytes, over max_bytes_scanned "
                    f"{s.max_bytes_scanned}",
                )
            rows: list[tuple[Any, ...]] = []
            kwargs: dict[str, str] = {}
            first = True
            while True:
                page = self.client.get_query_results(QueryExecutionId=qid, **kwargs)
                result = page["ResultSet"]
                kinds = [c["Type"] for c in result["ResultSetMetadata"]["ColumnInfo"]]
                data = result["Rows"][1:] if first else result["Rows"]  # the first row: header
                first = False
                rows += [
                    tuple(_value(cell, kind) for cell, kind in zip(r["Data"], kinds, strict=False))
                    for r in data
                ]
                if not page.get("NextToken"):
                    return rows
                kwargs = {"NextToken": page["NextToken"]}


def read_period_athena(
    source: ExportSource,
    period: date,
    catalog: Catalog,
    sink: RecordSink,
    counter: Any,
    session: Any = None,
) -> tuple[PeriodRead, str, Delivery]:
    assert source.athena is not None  # the config requires it for engine athena
    runner = AthenaRunner(source.athena, counter, session)
    read = read_format(runner.run, runner.table, source, period, catalog, sink, one_delivery=False)
    ids = "".join(qid for _, qid, _ in runner.executions)
    delivery = Delivery(
        export=source.name,
        billing_period=f"{period:%Y-%m}",
        delivery_id="athena-" + hashlib.sha256(ids.encode()).hexdigest()[:16],
        files=(),
        manifest=f"athena {runner.table}",
    )
    read.queries.update(
        {
            f"{name} (athena {qid}, {scanned} bytes scanned)": read.queries.get(name, "")
            for name, qid, scanned in runner.executions
        }
    )
    return read, "athena", delivery
