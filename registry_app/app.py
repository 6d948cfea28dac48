"""The registry's entry points: REST routes and the SQS ingest handler.

Each handler decodes its input, calls one function in chalicelib, and shapes the answer.
"""
from functools import lru_cache

import boto3
from chalice import Chalice

from chalicelib.claims import ClaimStore
from chalicelib.artifacts import Artifacts
from chalicelib.events import decode_sqs_records
from chalicelib.ingest import Ingestor
from chalicelib.settings import get_settings
from chalicelib.store import RegistryStore

app = Chalice(app_name="mme-registry")
settings = get_settings()


@lru_cache(maxsize=1)
def get_session() -> boto3.Session:
    return boto3.Session(region_name=settings.region)


@lru_cache(maxsize=1)
def get_store() -> RegistryStore:
    return RegistryStore(get_session().client("dynamodb"), settings.table)


@lru_cache(maxsize=1)
def get_ingestor() -> Ingestor:
    session = get_session()
    return Ingestor(
        store=get_store(),
        claims=ClaimStore(session.client("dynamodb"), settings.events_table, settings.claim_timeout_seconds),
        artifacts=Artifacts(session.client("s3"), settings.bucket),
        settings=settings,
    )


@app.on_sqs_message(queue=settings.queue, batch_size=1)
def ingest_uploads(event):
    """Drop-folder uploads: bad tarballs end in rejected/; only transient faults raise (SQS retries, then the DLQ)."""
    for record in event:
        for upload in decode_sqs_records(record.body):
            get_ingestor().ingest(upload)
