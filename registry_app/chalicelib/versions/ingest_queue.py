"""SQS adapter for the ingest queue: what the registry itself puts on it.

S3 fills the queue with notifications; the sweep (missed events) and deferred REST
registrations (sources too large to validate within the API's time limit) add their own
messages, so every upload is finished by the one ingest handler, with its retries, its
dead-letter queue and its failure records.
"""


class IngestQueue:
    def __init__(self, client, queue_name: str):
        self._sqs = client
        self._name = queue_name
        self._url: str | None = None

    @property
    def url(self) -> str:
        """Looked up once, on first use: a Lambda that never sends pays nothing."""
        if self._url is None:
            self._url = self._sqs.get_queue_url(QueueName=self._name)["QueueUrl"]
        return self._url

    def send(self, body: str) -> None:
        self._sqs.send_message(QueueUrl=self.url, MessageBody=body)
