"""PDF rendering in worker processes, in bounded pieces.

WeasyPrint holds a whole document's layout in memory (the 1,000 threshold notices as one document
peaked at 3 GiB), and a process keeps the memory of the largest document it ever rendered. So the
report's PDFs are rendered in a few worker processes ('spawn': Pango and fontconfig are not safe
to fork), each replaced after a few documents, and a long series (the notices) is rendered as
batches of bounded size and joined afterwards. Peak memory then follows the batch size and the
number of workers, not the number of notices; on several cores the batches also run in parallel.

Only picklable data crosses to a worker: the HTML text, the stylesheet and the file to write.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from computewatch.reports.render import ReportError

MAX_WORKERS = 4  # each holds one batch's layout (a few hundred MiB): more cores, not more memory
TASKS_PER_WORKER = 4  # a worker is replaced after this many documents (its peak memory goes too)


Job = tuple[str, str, Path]  # HTML text, stylesheet, PDF file to write


def render_files(jobs: list[tuple[str, str, str]]) -> list[int]:
    """Render each (HTML, stylesheet, path) to its file (written whole or not at all); returns
    the pages of each. Runs in a worker process (module level, so 'spawn' can import it)."""
    from weasyprint import CSS, HTML

    from computewatch.reports.pdf import no_fetch

    pages = []
    for html_text, css, path in jobs:
        document = HTML(string=html_text, base_url=None, url_fetcher=no_fetch).render(
            stylesheets=[CSS(string=css)]
        )
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        document.write_pdf(tmp)
        tmp.replace(target)
        pages.append(len(document.pages))
        del document
        _release_memory()  # the next document (or task) starts from a small process
    return pages


def _release_memory() -> None:
    """Hand the freed layout back to the system: a worker that printed the audit (about 600
    MiB at 1,000 breaching accounts) drops to about 200 MiB instead of keeping its peak while
    it prints notices next to another worker."""
    gc.collect()
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: the memory is reused by the next document all the same
        return
    libc.malloc_trim(0)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


class PdfWorkers:
    """A pool of PDF-rendering processes, started on first use and shut down on `close`."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=TASKS_PER_WORKER,
            )
        return self._pool

    def submit(self, jobs: list[Job]) -> Future[list[int]]:
        """One task: the documents of `jobs`, rendered one after the other by one worker."""
        return self._executor().submit(render_files, [(h, c, str(p)) for h, c, p in jobs])

    def render(self, html_text: str, css: str, path: Path) -> int:
        """Render one document in a worker and wait for it; returns its pages."""
        (pages,) = self.submit([(html_text, css, path)]).result()
        return pages

    def render_all(self, tasks: Iterable[list[Job]]) -> list[int]:
        """Render every task (a list of documents), at most two tasks per worker queued at once
        (so the HTML of all of them is never held together); returns each document's pages, in
        order. The first failure is raised once the tasks already started have ended."""
        pending: deque[Future[list[int]]] = deque()
        pages: list[int] = []
        for task in tasks:
            if len(pending) >= 2 * self.workers:
                pages.extend(pending.popleft().result())
            pending.append(self.submit(task))
        for future in pending:
            pages.extend(future.result())
        return pages

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> PdfWorkers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def workers_for(workers: PdfWorkers | None) -> Iterator[PdfWorkers]:
    """The caller's pool if it passed one (shared across a report's PDFs), else one for this call."""
    if workers is not None:
        yield workers
        return
    with PdfWorkers() as own:
        yield own


def join_pdfs(parts: list[Path], path: Path, title: str) -> Path:
    """Concatenate `parts` into `path` (written whole or not at all), keeping each part's
    bookmarks, with `title` as the document title."""
    from pypdf import PdfWriter

    if not parts:
        raise ReportError("no PDF to join")
    writer = PdfWriter()
    for part in parts:
        writer.append(str(part))
    writer.add_metadata({"/Title": title})
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        writer.write(f)
    writer.close()
    tmp.replace(path)
    return path
