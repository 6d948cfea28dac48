"""SigV4-signed requests to the registry API, for the prod stage's IAM authorizer (`auth: iam`).

botocore's own signer (`SigV4Auth`, service `execute-api`) with the caller's credentials from the
standard chain (profile, environment, SSO, instance role): the same identity boto3 would use,
so the registry records the caller as the actor, and nothing here stores a secret.
"""
from __future__ import annotations

import requests


class SigV4(requests.auth.AuthBase):
    """A `requests` auth that signs each request just before it is sent (credentials refresh on their own)."""

    def __init__(self, region: str | None = None, session=None, service: str = "execute-api"):
        import boto3

        self._session = session or boto3.Session()
        self.region = region or self._session.region_name or "us-east-1"
        self.service = service
        if self._session.get_credentials() is None:
            raise ValueError("no AWS credentials found: configure a profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                             "or an SSO login (aws sso login) to sign requests to the registry")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        body = request.body or b""
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("connection", "user-agent")}
        signed = AWSRequest(method=request.method, url=request.url, data=body, headers=headers)
        credentials = self._session.get_credentials().get_frozen_credentials()
        SigV4Auth(credentials, self.service, self.region).add_auth(signed)
        request.headers.update(dict(signed.headers.items()))
        return request
