"""The registry's entry points: REST routes, the SQS ingest handler, and the scheduled sweep of the drop
folder, publisher of change events and advancer of canary rollouts.

Each handler decodes its input, calls one function in chalicelib, and shapes the answer.
Routes are declared through `api.route` (chalicelib/api/http.py), which decodes path, query and
body into the schemas, maps every error to its status, and records the route for /openapi.json.
"""
from functools import lru_cache
from urllib.parse import quote

import boto3
from botocore.config import Config
from chalice import IAMAuthorizer, Rate, Response

from chalicelib.aliases.alias_metrics import AliasMetricsReport
from chalicelib.aliases.alias_store import AliasStore, AliasTarget
from chalicelib.aliases.aliases import Aliases
from chalicelib.aliases.catalog import Catalog
from chalicelib.aliases.comparisons import ComparisonStore
from chalicelib.aliases.policy import Policies, PolicyStore
from chalicelib.aliases.rewarm import Rewarmer
from chalicelib.aliases.routes import Routes
from chalicelib.aliases.shadow import Shadow
from chalicelib.api import openapi
from chalicelib.api import promotion as p
from chalicelib.api import schemas as s
from chalicelib.api.http import Api, RegistryChalice
from chalicelib.frameworks import Endpoints
from chalicelib.metrics.reader import MetricsReader
from chalicelib.outbox.items import Outbox
from chalicelib.outbox.publisher import OutboxPublisher
from chalicelib.records import utcnow
from chalicelib.rollouts.rollouts import Rollouts
from chalicelib.rollouts.state import RolloutStore
from chalicelib.settings import get_settings
from chalicelib.versions.approval import Approvals
from chalicelib.versions.artifacts import Artifacts
from chalicelib.versions.claims import ClaimStore
from chalicelib.versions.deadletters import FailureLog
from chalicelib.versions.deferred import DeferredRegistrations
from chalicelib.versions.deliveries import Deliveries, receive_count
from chalicelib.versions.ingest import Ingestor
from chalicelib.versions.ingest_queue import IngestQueue
from chalicelib.versions.members import VersionMembers
from chalicelib.versions.metadata import VersionMetadata
from chalicelib.versions.reference_samples import SampleStore
from chalicelib.versions.registration import Registrar, source_pattern
from chalicelib.versions.search import Criteria, Search, parse_tag
from chalicelib.versions.store import RegistryStore
from chalicelib.versions.sweep import Sweeper
from chalicelib.versions.uploads import UploadLinks

app = RegistryChalice(app_name="mme-registry")
settings = get_settings()
api = Api(app, authorizer=IAMAuthorizer() if settings.auth == "iam" else None, asserted_actors=settings.auth == "none")
OWNED_PREFIXES = (settings.incoming_prefix, settings.models_prefix, settings.rejected_prefix)


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
        claims=get_claims(),
        artifacts=get_artifacts(),
        settings=settings,
        aliases=get_aliases(),
        runtime=session.client("sagemaker-runtime") if settings.warmup else None,
    )


@lru_cache(maxsize=1)
def get_claims() -> ClaimStore:
    return ClaimStore(get_session().client("dynamodb"), settings.events_table, settings.claim_timeout_seconds)


@lru_cache(maxsize=1)
def get_artifacts() -> Artifacts:
    return Artifacts(get_session().client("s3"), settings.bucket)


@lru_cache(maxsize=1)
def get_ingest_queue() -> IngestQueue:
    return IngestQueue(get_session().client("sqs"), settings.queue)


@lru_cache(maxsize=1)
def get_deliveries() -> Deliveries:
    failures = FailureLog(get_store(), get_claims())
    return Deliveries(get_ingestor(), get_artifacts(), failures, settings.incoming_prefix, settings.max_receives)


@lru_cache(maxsize=1)
def get_sweeper() -> Sweeper:
    return Sweeper(get_session().client("s3"), get_artifacts(), get_claims(), get_ingest_queue(), settings)


@lru_cache(maxsize=1)
def get_alias_store() -> AliasStore:
    return AliasStore(get_session().client("dynamodb"), settings.table)


@lru_cache(maxsize=1)
def get_aliases() -> Aliases:
    return Aliases(get_store(), get_alias_store(), endpoints=get_endpoints(), policies=get_policy_store(),
                   shadow=get_shadow())


@lru_cache(maxsize=1)
def get_runtime():
    """The sagemaker-runtime client the shadow comparison invokes through."""
    return get_session().client("sagemaker-runtime")


@lru_cache(maxsize=1)
def get_sample_store() -> SampleStore:
    return SampleStore(get_artifacts(), get_session().client("dynamodb"), settings.table, settings.samples_prefix)


@lru_cache(maxsize=1)
def get_comparisons() -> ComparisonStore:
    return ComparisonStore(get_session().client("dynamodb"), settings.table)


@lru_cache(maxsize=1)
def get_shadow() -> Shadow:
    return Shadow(get_store(), get_sample_store(), get_comparisons(), get_runtime(), get_endpoints(),
                  settings.shadow_reuse_seconds, settings.shadow_invoke_budget_seconds)


@lru_cache(maxsize=1)
def get_policy_store() -> PolicyStore:
    return PolicyStore(get_session().client("dynamodb"), settings.table)


@lru_cache(maxsize=1)
def get_policies() -> Policies:
    return Policies(get_policy_store(), utcnow)


@lru_cache(maxsize=1)
def get_metadata() -> VersionMetadata:
    return VersionMetadata(get_session().client("dynamodb"), settings.table, get_store())


@lru_cache(maxsize=1)
def get_approvals() -> Approvals:
    return Approvals(get_metadata(), utcnow)


@lru_cache(maxsize=1)
def get_search() -> Search:
    return Search(get_session().client("dynamodb"), settings.table, get_store())


@lru_cache(maxsize=1)
def get_endpoints() -> Endpoints:
    return Endpoints.from_settings(settings)


@lru_cache(maxsize=1)
def get_routes() -> Routes:
    return Routes(get_store(), get_endpoints())


def alias_view(record) -> s.AliasView:
    policy = get_policy_store().get(record.alias)
    view = s.AliasView.of(record, get_routes().of(record.targets))
    return view.model_copy(update={"policy": policy.policy if policy else None})


@lru_cache(maxsize=1)
def get_catalog() -> Catalog:
    return Catalog(get_store(), get_alias_store(), get_claims())


@lru_cache(maxsize=1)
def get_registrar() -> Registrar:
    deferred = DeferredRegistrations(get_artifacts(), get_claims(), get_store(), get_ingest_queue(),
                                     settings.deferred_registration_bytes)
    return Registrar(get_ingestor(), settings.bucket, OWNED_PREFIXES, deferred)


@lru_cache(maxsize=1)
def get_rewarmer() -> Rewarmer:
    return Rewarmer(get_store(), get_aliases(), get_session().client("sagemaker-runtime"), settings)


@lru_cache(maxsize=1)
def get_upload_links() -> UploadLinks:
    # SigV4: the alias and uploader metadata become signed headers the uploader must send.
    s3 = get_session().client("s3", config=Config(signature_version="s3v4"))
    return UploadLinks(s3, settings.bucket, settings.incoming_prefix)


@lru_cache(maxsize=1)
def get_members() -> VersionMembers:
    return VersionMembers(get_session().client("s3"), settings.bucket, settings.deferred_registration_bytes)


@lru_cache(maxsize=1)
def get_event_publisher() -> OutboxPublisher:
    session = get_session()
    sqs = session.client("sqs")
    dead_letters = sqs.get_queue_url(QueueName=settings.events_dead_letter_queue)["QueueUrl"]
    return OutboxPublisher(Outbox(session.client("dynamodb"), settings.table), session.client("events"),
                           settings.event_bus, sqs, dead_letters, settings.publish_budget)


@lru_cache(maxsize=1)
def get_rollouts() -> Rollouts:
    session = get_session()
    store = RolloutStore(session.client("dynamodb"), settings.table)
    return Rollouts(store, get_aliases(), MetricsReader(session.client("cloudwatch")))


# At most 10 uploads are ingested at once (SQS maximum concurrency): a bulk drop must not take
# the account's Lambda concurrency from the API, nor pile up on one model's version counter.
@app.on_sqs_message(queue=settings.queue, batch_size=1, maximum_concurrency=10)
def ingest_uploads(event):
    """Drop-folder uploads: bad tarballs end in rejected/; only transient faults raise (SQS retries, then the DLQ,
    with a `failed` upload record written on the last delivery)."""
    for record in event:
        get_deliveries().handle(record.body, receive_count(record.to_dict()))


@app.schedule(Rate(settings.sweep_every_minutes, unit=Rate.MINUTES))
def sweep_incoming(event):
    """Missed S3 events: re-announces uploads that sat in incoming/ with no claim (chalicelib/versions/sweep.py)."""
    get_sweeper().run()


@app.schedule(Rate(settings.publish_every_minutes, unit=Rate.MINUTES))
def publish_events(event):
    """Registry change events: drains the outbox onto EventBridge (chalicelib/outbox/publisher.py)."""
    get_event_publisher().run()


@app.schedule(Rate(settings.rollout_every_minutes, unit=Rate.MINUTES))
def advance_rollouts(event):
    """Canary rollouts: judges every running rollout whose bake is over, then steps, promotes or rolls it back
    (chalicelib/rollouts/rollouts.py)."""
    done = get_rollouts().advance_all()
    for alias, outcome in done.items():
        app.log.info("rollout of %s: %s", alias, outcome)
    return done


# health and description -------------------------------------------------------
@api.route("/health", "GET", summary="Liveness of the API", answer=s.Health)
def health():
    return s.Health(endpoint=settings.endpoint, endpoints=get_endpoints().as_dict())


@api.route("/endpoints", "GET", summary="Which endpoint serves which framework", answer=s.EndpointList)
def list_endpoints():
    items = [s.EndpointView(framework=f, name=n) for f, n in get_endpoints().as_dict().items() if n]
    return s.EndpointList(items=items)


@api.route("/openapi.json", "GET", summary="This API as an OpenAPI 3.1 document", answer=None)
def openapi_document():
    return openapi.build(api.operations, title="mme-registry", version="1")


# models and versions ----------------------------------------------------------
@api.route("/models", "GET", summary="Models, by name; narrowed by tag (key:value, repeatable), framework, q",
           answer=s.ModelList, query=s.SearchModels, errors=(400, 422))
def list_models(query: s.SearchModels):
    criteria = Criteria(tags=tuple(map(parse_tag, query.tag)), framework=query.framework, q=query.q)
    models, token = get_search().models(criteria, query.limit, query.next_token)
    return s.ModelList(items=[s.ModelSummary.of(m) for m in models], next_token=token)


@api.route("/models/{name}", "GET", summary="A model: latest version, counts, aliases pointing at it",
           answer=s.ModelDetail, errors=(404, 422))
def get_model(name: str):
    found = get_catalog().model(name)
    return s.ModelDetail(**s.ModelSummary.of(found.model).model_dump(),
                         latest=s.VersionView.of(found.latest) if found.latest else None,
                         aliases=[s.AliasPointer.of(a) for a in found.aliases],
                         aliases_next_token=found.aliases_next_token)


@api.route("/models/{name}/aliases", "GET", summary="Aliases pointing at versions of a model, by name",
           answer=s.AliasPointerList, query=s.PageQuery, errors=(400, 404, 422))
def list_model_aliases(name: str, query: s.PageQuery):
    aliases, token = get_catalog().aliases_of(name, query.limit, query.next_token)
    return s.AliasPointerList(items=[s.AliasPointer.of(a) for a in aliases], next_token=token)


@api.route("/models/{name}/versions", "GET", summary="Versions of a model, newest first; narrowed by tag, approval",
           answer=s.VersionList, query=s.SearchVersions, errors=(400, 404, 422))
def list_versions(name: str, query: s.SearchVersions):
    criteria = Criteria(tags=tuple(map(parse_tag, query.tag)), approval=query.approval)
    versions, token = get_search().versions(name, criteria, query.limit, query.next_token)
    return s.VersionList(items=[s.VersionView.of(v) for v in versions], next_token=token)


@api.route("/models/{name}/versions", "POST", summary="Register s3://bucket/key as the next version (202: queued)",
           answer=s.Registration, status=201, errors=(404, 409, 503), answers={202: s.UploadView},
           body=s.RegisterVersion.sourced_from(source_pattern(settings.bucket, OWNED_PREFIXES)))
def register_version(name: str, body: s.RegisterVersion, actor: str):
    done = get_registrar().register(name, body.source, body.aliases, {**body.metadata, **body.said()}, actor)
    if done.queued:
        location = f"/models/{quote(name, safe='')}/uploads/{done.upload.event_id}"
        return Response(body=s.UploadView.of(done.upload).model_dump(mode="json"), status_code=202,
                        headers={"Content-Type": "application/json", "Location": location})
    answer = s.Registration(outcome=done.upload.outcome, message=done.upload.message, event_id=done.upload.event_id,
                            version=s.VersionView.of(done.version), aliases=done.upload.aliases)
    return answer if done.created else Response(body=answer.model_dump(mode="json"), status_code=200)


@api.route("/models/{name}/versions/{n}", "GET", summary="One version, with its SageMaker TargetModel",
           answer=s.VersionView, errors=(404, 422))
def get_version(name: str, n: int):
    return s.VersionView.of(get_catalog().version(name, n))


@api.route("/models/{name}/versions/{n}", "PATCH",
           summary="Change description, tags (a patch) or card (compare-and-set on expected_revision)",
           answer=s.VersionView, body=s.PatchVersion, errors=(404, 409, 503))
def edit_version(name: str, n: int, body: s.PatchVersion, actor: str):
    card = body.card.model_dump() if body.card is not None else None
    return s.VersionView.of(get_metadata().edit(name, n, body.expected_revision, actor, body.description,
                                                body.tags, card))


@api.route("/models/{name}/versions/{n}/history", "GET", summary="Every metadata and approval change, newest first",
           answer=s.HistoryList, query=s.PageQuery, errors=(400, 404, 422))
def version_history(name: str, n: int, query: s.PageQuery):
    entries, token = get_metadata().history(name, n, query.limit, query.next_token)
    return s.HistoryList(entries=[s.HistoryEntry(**e) for e in entries], next_token=token)


@api.route("/models/{name}/versions/{n}/approval", "PUT", summary="Approve or reject a version (the caller is "
           "recorded)", answer=s.VersionView, body=s.PutApproval, errors=(404, 503))
def approve_version(name: str, n: int, body: s.PutApproval, actor: str):
    return s.VersionView.of(get_approvals().set(name, n, body.status, body.reason, actor))


@api.route("/models/{name}/versions/{n}/members", "GET",
           summary="A version's tarball member by member: name, size, SHA-256 (to compare versions)",
           answer=s.MemberList, errors=(404, 413, 422))
def list_members(name: str, n: int):
    version = get_catalog().version(name, n)
    items = [s.MemberView(**vars(m)) for m in get_members().list(version)]
    return s.MemberList(name=version.name, version=version.version, items=items)


@api.route("/models/{name}/versions/{n}/warmup", "POST",
           summary="Warm a version up again, then move the aliases its upload requested",
           answer=s.WarmupRun, errors=(404, 409, 422, 503))
def warm_version(name: str, n: int, actor: str):
    done = get_rewarmer().run(name, n, actor)
    return s.WarmupRun(name=done.version.name, version=done.version.version, ok=done.ok, warmup=done.warmup,
                       aliases=done.aliases)


@api.route("/models/{name}/versions/{n}/shadow", "GET",
           summary="The shadow comparisons recorded for a version (one per alias and incumbent, the latest)",
           answer=p.ComparisonList, query=s.PageQuery, errors=(400, 404, 422))
def version_comparisons(name: str, n: int, query: s.PageQuery):
    version = get_catalog().version(name, n)
    items, token = get_comparisons().of_version(version.name, version.version, query.limit, query.next_token)
    return p.ComparisonList(items=items, next_token=token)


@api.route("/models/{name}/samples", "POST", summary="Set a model's reference samples (for versions without their "
           "own)", answer=p.SamplesView, body=p.PutSamples, status=201, errors=(404, 413))
def put_samples(name: str, body: p.PutSamples, actor: str):
    key, count = get_sample_store().put_model(name, body.bodies(), utcnow())
    return p.SamplesView(model=name, samples=count, samples_key=key)


@api.route("/models/{name}/uploads", "GET", summary="What became of each drop-folder upload, newest first",
           answer=s.UploadList, query=s.PageQuery, errors=(400, 422))
def list_uploads(name: str, query: s.PageQuery):
    uploads, token = get_catalog().uploads(name, query.limit, query.next_token)
    return s.UploadList(items=[s.UploadView.of(u) for u in uploads], next_token=token)


@api.route("/models/{name}/uploads/{event_id}", "GET", summary="What became of one upload (a 202's Location)",
           answer=s.UploadView, errors=(404, 422))
def get_upload(name: str, event_id: str):
    return s.UploadView.of(get_catalog().upload(name, event_id))


@api.route("/models/{name}/uploads", "POST", summary="A presigned PUT into the drop folder", answer=s.UploadLink,
           status=201, body=s.RequestUpload, body_optional=True)
def request_upload(name: str, body: s.RequestUpload, actor: str):
    link = get_upload_links().presign(name, body.aliases, actor, body.expires_in, body.said())
    return s.UploadLink(**vars(link))


# aliases -----------------------------------------------------------------------
@api.route("/aliases", "GET", summary="Aliases, by name", answer=s.AliasList, query=s.PageQuery, errors=(400,))
def list_aliases(query: s.PageQuery):
    aliases, token = get_aliases().list_aliases(query.limit, query.next_token)
    return s.AliasList(items=[s.AliasView.of(a, get_routes().of(a.targets, strict=False)) for a in aliases],
                       next_token=token)


@api.route("/aliases/{alias}", "GET", summary="Resolve an alias to its endpoint(s) and TargetModel(s)",
           answer=s.AliasView, errors=(404, 409, 422))
def get_alias(alias: str):
    return alias_view(get_aliases().get(alias))


@api.route("/aliases/{alias}", "PUT", summary="Point an alias (compare-and-set on expected_revision)",
           answer=s.AliasView, body=s.PutAlias, errors=(403, 404, 409, 503))
def put_alias(alias: str, body: s.PutAlias, actor: str):
    record = get_aliases().point(alias, body.alias_targets(), body.follow_latest, body.expected_revision, actor)
    return alias_view(record)


@api.route("/aliases/{alias}", "DELETE", summary="Delete an alias (its history stays)", answer=s.ChangeView,
           query=s.DeleteAliasQuery, errors=(403, 404, 409, 503))
def delete_alias(alias: str, query: s.DeleteAliasQuery, actor: str):
    return s.ChangeView.of(get_aliases().delete(alias, query.expected_revision, actor))


@api.route("/aliases/{alias}/history", "GET", summary="Every change of an alias, newest first",
           answer=s.ChangeList, query=s.PageQuery, errors=(400, 404, 422))
def alias_history(alias: str, query: s.PageQuery):
    changes, token = get_aliases().history(alias, query.limit, query.next_token)
    return s.ChangeList(alias=alias, items=[s.ChangeView.of(c) for c in changes], next_token=token)


@api.route("/aliases/{alias}/policy", "PUT", summary="Set who may move an alias and what its targets must have",
           answer=s.PolicyView, body=s.PutPolicy, errors=(403, 409, 503))
def put_policy(alias: str, body: s.PutPolicy, actor: str):
    return s.PolicyView.of(get_policies().put(alias, body.policy(), body.expected_revision, actor))


@api.route("/aliases/{alias}/policy", "GET", summary="An alias's policy", answer=s.PolicyView, errors=(404, 422))
def get_policy(alias: str):
    return s.PolicyView.of(get_policies().get(alias))


@api.route("/aliases/{alias}/policy", "DELETE", summary="Remove an alias's policy (its history stays)", answer=None,
           status=204, query=s.PolicyQuery, errors=(403, 404, 409, 503))
def delete_policy(alias: str, query: s.PolicyQuery, actor: str):
    get_policies().delete(alias, query.expected_revision, actor)


@api.route("/aliases/{alias}/shadow", "POST", summary="Compare a candidate with the alias's target(s) on the "
           "reference samples, without moving it", answer=p.ShadowRun, body=p.RunShadow, errors=(404, 409, 503))
def run_shadow(alias: str, body: p.RunShadow, actor: str):
    record, policy = get_aliases().get(alias), get_policy_store().get(alias)
    thresholds = policy.policy.shadow if policy else None
    candidate = get_catalog().version(body.model, body.version)
    comparisons = get_shadow().preview(alias, record.targets, thresholds, candidate, actor, body.fresh)
    return p.ShadowRun(alias=alias, model=body.model, version=body.version, thresholds=thresholds,
                       comparisons=comparisons)


@api.route("/aliases/{alias}/rollback", "POST", summary="Back to the previous target (a recorded change)",
           answer=s.AliasView, body=s.Rollback, body_optional=True, errors=(403, 404, 409, 503))
def rollback_alias(alias: str, body: s.Rollback, actor: str):
    return alias_view(get_aliases().rollback(alias, body.expected_revision, actor))


@lru_cache(maxsize=1)
def get_alias_metrics() -> AliasMetricsReport:
    return AliasMetricsReport(get_aliases(), MetricsReader(get_session().client("cloudwatch")))


@api.route("/aliases/{alias}/metrics", "GET", summary="Requests, errors and latency of each version the alias served",
           answer=p.AliasMetricsView, query=p.MetricsQuery, errors=(404,))
def alias_metrics(alias: str, query: p.MetricsQuery):
    return p.AliasMetricsView.of(get_alias_metrics().report(alias, query.minutes))
# rollouts ----------------------------------------------------------------------
@api.route("/aliases/{alias}/rollouts", "POST", summary="Start a canary rollout: the alias's traffic moves to a "
           "candidate step by step, and back by itself on a breach", answer=p.RolloutView, status=201,
           body=p.StartRollout, errors=(403, 404, 409, 503))
def start_rollout(alias: str, body: p.StartRollout, actor: str):
    candidate = AliasTarget(model=body.model, version=body.version)
    return p.RolloutView.of(get_rollouts().start(alias, candidate, body.plan(), actor))


@api.route("/aliases/{alias}/rollouts", "GET", summary="The alias's running rollout and every rollout, newest first",
           answer=p.RolloutList, query=s.PageQuery, errors=(400, 404, 422))
def list_rollouts(alias: str, query: s.PageQuery):
    rollouts = get_rollouts()
    current = rollouts.current(alias)
    items, token = rollouts.history(alias, query.limit, query.next_token)
    return p.RolloutList(alias=alias, current=p.RolloutView.of(current) if current else None,
                         items=[p.RolloutView.of(r) for r in items], next_token=token)


@api.route("/aliases/{alias}/rollouts/current", "DELETE", summary="Cancel the running rollout: the incumbent "
           "gets all the traffic back (a recorded change)", answer=p.RolloutView, errors=(403, 404, 409, 503))
def cancel_rollout(alias: str, actor: str):
    return p.RolloutView.of(get_rollouts().cancel(alias, actor))


api.install_fallbacks()
