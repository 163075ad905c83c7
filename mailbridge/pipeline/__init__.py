"""One message through the stages: archive → ledger row → parse → submissions, each step durable.

Every source (IMAP, .eml, Maildir, mbox) hands raw bytes to `Pipeline.ingest` (one message) or
`Pipeline.ingest_many` (a stream, parsed in a worker process on the second core). The raw bytes
are on disk before the ledger row exists, and the row exists, its attempt counted, before anything
is parsed; the parse result (disposition and all submissions) is committed in one transaction. A
crash anywhere leaves either no row (the message is fetched again) or a row in state `archived`
(processed on the next run), never half a result.

- `run.py`: the orchestration (attempts, the parse worker, committing each result);
- `dispose.py`: the disposition policy (what a parsed mail is: an article, a reply, a bounce…);
- `writes.py`: the ledger writes (message rows, attachments, submissions, receipt numbers).

Imports: the pipeline uses the stages below it (parse, attribute, ledger, notify, review,
collect) and the sources' interface (`sources.sink`); nothing below imports the pipeline.
"""
from mailbridge.pipeline.run import Pipeline
from mailbridge.sources.sink import Fingerprint, Origin, Outcome

__all__ = ["Fingerprint", "Origin", "Outcome", "Pipeline"]
