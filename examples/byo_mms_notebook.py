"""AWS's "multi-model endpoint with your own container" notebook (amazon-sagemaker-examples,
advanced_functionality/multi_model_bring_your_own), cell by cell, as one script.

Plain boto3, so it runs against AWS or against the local stack alike: only the standard
AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME settings differ (`source .local/env`
after `make up`). Two departures from the notebook, both because nothing can be downloaded
here: the ResNet-18, ResNet-152 and SqueezeNet 1.0 tarballs are built in code with random
weights (local_stack/demo/sample_models.py, the same files the notebook packs), and the cat
picture is drawn. `get_execution_role()` (SageMaker SDK, notebook instances only) becomes
`--role-arn`. `--record FILE` also writes each invocation's TargetModel and answer as JSON lines.

    .venv/bin/python examples/byo_mms_notebook.py [--invocations 100]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import time
from collections import defaultdict
from pathlib import Path
from time import gmtime, strftime

import boto3
from botocore.client import ClientError


def cat_jpeg() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), (200, 170, 120))
    draw = ImageDraw.Draw(image)
    draw.ellipse((90, 40, 230, 200), fill=(120, 90, 60))
    draw.polygon([(100, 70), (120, 10), (150, 55)], fill=(120, 90, 60))
    draw.polygon([(170, 55), (200, 10), (220, 70)], fill=(120, 90, 60))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invocations", type=int, default=100, help="random invocations (the notebook: 100)")
    parser.add_argument("--role-arn", help="the role SageMaker assumes (default: a demo role in your account)")
    parser.add_argument("--data", type=Path, default=Path("data"), help="where the tarballs are packed")
    parser.add_argument("--record", type=Path, help="write each invocation's TargetModel and answer here")
    args = parser.parse_args()

    # --- Set up the environment ---------------------------------------------------------
    sm_client = boto3.client(service_name="sagemaker")
    runtime_sm_client = boto3.client(service_name="sagemaker-runtime")

    account_id = boto3.client("sts").get_caller_identity()["Account"]
    region = boto3.Session().region_name

    bucket = "sagemaker-{}-{}".format(region, account_id)
    prefix = "demo-multimodel-endpoint"

    role = args.role_arn or "arn:aws:iam::{}:role/demo-sagemaker-multimodel".format(account_id)

    # --- Upload model artifacts to S3 ---------------------------------------------------
    from local_stack.demo.sample_models import cached_tarball

    args.data.mkdir(parents=True, exist_ok=True)
    for name in ("resnet_18", "resnet_152", "squeezenet_v1.0"):
        shutil.copyfile(cached_tarball(name), args.data / "{}.tar.gz".format(name))

    s3 = boto3.resource("s3")
    try:
        s3.meta.client.head_bucket(Bucket=bucket)
    except ClientError:
        if region == "us-east-1":  # the one region S3 refuses as a LocationConstraint
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})

    models = {"resnet_18.tar.gz", "resnet_152.tar.gz"}

    for model in models:
        key = os.path.join(prefix, model)
        with open(args.data / model, "rb") as file_obj:
            s3.Bucket(bucket).Object(key).upload_fileobj(file_obj)

    # --- Create a multi-model endpoint --------------------------------------------------
    model_name = "DEMO-MultiModelModel" + strftime("%Y-%m-%d-%H-%M-%S", gmtime())
    model_url = "s3://{}/{}/".format(bucket, prefix)
    container = "{}.dkr.ecr.{}.amazonaws.com/{}:latest".format(account_id, region, "demo-sagemaker-multimodel")

    print("Model name: " + model_name)
    print("Model data Url: " + model_url)
    print("Container image: " + container)

    container = {"Image": container, "ModelDataUrl": model_url, "Mode": "MultiModel"}

    create_model_response = sm_client.create_model(ModelName=model_name, ExecutionRoleArn=role, Containers=[container])
    print("Model Arn: " + create_model_response["ModelArn"])

    endpoint_config_name = "DEMO-MultiModelEndpointConfig-" + strftime("%Y-%m-%d-%H-%M-%S", gmtime())
    print("Endpoint config name: " + endpoint_config_name)

    create_endpoint_config_response = sm_client.create_endpoint_config(
        EndpointConfigName=endpoint_config_name,
        ProductionVariants=[{"InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1, "InitialVariantWeight": 1,
                             "ModelName": model_name, "VariantName": "AllTraffic"}])
    print("Endpoint config Arn: " + create_endpoint_config_response["EndpointConfigArn"])

    endpoint_name = "DEMO-MultiModelEndpoint-" + strftime("%Y-%m-%d-%H-%M-%S", gmtime())
    print("Endpoint name: " + endpoint_name)

    create_endpoint_response = sm_client.create_endpoint(EndpointName=endpoint_name,
                                                         EndpointConfigName=endpoint_config_name)
    print("Endpoint Arn: " + create_endpoint_response["EndpointArn"])

    resp = sm_client.describe_endpoint(EndpointName=endpoint_name)
    print("Endpoint Status: " + resp["EndpointStatus"])
    print("Waiting for {} endpoint to be in service...".format(endpoint_name))
    waiter = sm_client.get_waiter("endpoint_in_service")
    waiter.wait(EndpointName=endpoint_name)

    # --- Invoke models ------------------------------------------------------------------
    payload = cat_jpeg()
    record = open(args.record, "w") if args.record else None

    def invoke(target_model: str) -> bytes:
        started = time.monotonic()
        response = runtime_sm_client.invoke_endpoint(
            EndpointName=endpoint_name, ContentType="application/x-image", TargetModel=target_model, Body=payload)
        body = response["Body"].read()
        if record:
            record.write(json.dumps({"target_model": target_model, "answer": json.loads(body),
                                     "seconds": round(time.monotonic() - started, 3)}) + "\n")
        return body

    for target_model in ("resnet_18.tar.gz", "resnet_18.tar.gz", "resnet_152.tar.gz"):
        print(target_model + ":", *json.loads(invoke(target_model)), sep="\n")

    # --- Add models to the endpoint -----------------------------------------------------
    file = args.data / "squeezenet_v1.0.tar.gz"

    for x in range(0, 10):
        s3_file_name = "demo-subfolder/squeezenet_v1.0_{}.tar.gz".format(x)
        key = os.path.join(prefix, s3_file_name)
        with open(file, "rb") as file_obj:
            s3.Bucket(bucket).Object(key).upload_fileobj(file_obj)
        models.add(s3_file_name)

    print("Number of models: {}".format(len(models)))
    print("Models: {}".format(models))

    results = defaultdict(int)

    for x in range(0, args.invocations):
        target_model = random.choice(tuple(models))
        results[json.loads(invoke(target_model))[0]] += 1

    print(*results.items(), sep="\n")
    if record:
        record.close()


if __name__ == "__main__":
    main()
