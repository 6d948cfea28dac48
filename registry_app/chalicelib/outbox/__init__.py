"""Registry change events, written to an outbox in the same DynamoDB transaction as the change they announce.

`changes` builds the events (one function per type, with a stable event_id); `items` turns
one into the transaction item that parks it in the outbox; `sizes` holds each event to what
an outbox item and a PutEvents entry may weigh; `publisher` drains the outbox onto EventBridge. An outbox rather than DynamoDB Streams: the intent to publish is an
explicit item next to the state change, committed or cancelled with it, and testable in moto.
"""
