"""Creates the registry's AWS resources on an emulator (or any account): bucket, tables,
ingest queue with its dead-letter queue, the S3 → SQS notification for incoming/, and
the change-event bus with its queues (event_bus.py).

Idempotent: existing resources are left as they are. Production uses the same shapes
from deploy/resources.yaml.
"""
import json

from chalicelib.settings import Settings

from .event_bus import provision_event_bus


def _create_table(dynamodb, name: str, keys: list[str]) -> None:
    existing = dynamodb.list_tables()["TableNames"]
    if name in existing:
        return
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}] + (
        [{"AttributeName": "sk", "KeyType": "RANGE"}] if "sk" in keys else []
    )
    dynamodb.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name)


def provision(session, settings: Settings) -> dict[str, str]:
    """Creates what is missing and returns the queue URLs and ARNs."""
    s3 = session.client("s3")
    sqs = session.client("sqs")
    dynamodb = session.client("dynamodb")

    buckets = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if settings.bucket not in buckets:
        s3.create_bucket(Bucket=settings.bucket)
    # Versioning keeps every byte recoverable and lets tests prove no models/ key is written twice.
    s3.put_bucket_versioning(Bucket=settings.bucket, VersioningConfiguration={"Status": "Enabled"})

    _create_table(dynamodb, settings.table, ["pk", "sk"])
    _create_table(dynamodb, settings.events_table, ["pk"])
    dynamodb.update_time_to_live(
        TableName=settings.events_table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )

    dlq_url = sqs.create_queue(QueueName=f"{settings.queue}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName=settings.queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{settings.bucket}"}},
        }],
    }
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "Policy": json.dumps(policy),
            "VisibilityTimeout": "960",  # longer than the ingest Lambda's timeout
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(settings.max_receives)}),
        },
    )
    s3.put_bucket_notification_configuration(
        Bucket=settings.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{
                "Id": "registry-ingest",
                "QueueArn": queue_arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [
                    {"Name": "prefix", "Value": settings.incoming_prefix},
                    {"Name": "suffix", "Value": ".tar.gz"},
                ]}},
            }]
        },
    )
    return {"queue_url": queue_url, "queue_arn": queue_arn, "dlq_url": dlq_url, "dlq_arn": dlq_arn,
            **provision_event_bus(session, settings)}
