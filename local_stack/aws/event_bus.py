"""The registry's change-event plumbing on an emulator (or any account): the bus, the publisher's
dead-letter queue, and a queue behind a rule that takes every registry event (what
`python -m client events tail` reads). deploy/resources.yaml declares the same in production.

Idempotent: creating an existing queue, bus rule or target again changes nothing.
"""
import json

from chalicelib.outbox.changes import SOURCE
from chalicelib.settings import Settings

TAIL_RULE = "registry-events-to-tail-queue"


def tail_queue_name(settings: Settings) -> str:
    return f"{settings.event_bus}-events-tail"


def provision_event_bus(session, settings: Settings) -> dict[str, str]:
    sqs, events = session.client("sqs"), session.client("events")
    if settings.event_bus != "default":
        buses = {bus["Name"] for bus in events.list_event_buses()["EventBuses"]}
        if settings.event_bus not in buses:
            events.create_event_bus(Name=settings.event_bus)
    bus_arn = events.describe_event_bus(Name=settings.event_bus)["Arn"]
    dead_letters = sqs.create_queue(QueueName=settings.events_dead_letter_queue)["QueueUrl"]
    tail_url = sqs.create_queue(QueueName=tail_queue_name(settings))["QueueUrl"]
    tail_arn = sqs.get_queue_attributes(QueueUrl=tail_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule_arn = events.put_rule(Name=TAIL_RULE, EventBusName=settings.event_bus,
                               EventPattern=json.dumps({"source": [SOURCE]}))["RuleArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": tail_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]}
    sqs.set_queue_attributes(QueueUrl=tail_url, Attributes={"Policy": json.dumps(policy)})
    events.put_targets(Rule=TAIL_RULE, EventBusName=settings.event_bus,
                       Targets=[{"Id": "tail-queue", "Arn": tail_arn}])
    return {"event_bus_arn": bus_arn, "events_dlq_url": dead_letters, "events_tail_url": tail_url}
