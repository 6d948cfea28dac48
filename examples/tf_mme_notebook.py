"""Two TensorFlow image classifiers on one multi-model endpoint with AWS's TensorFlow Serving
image, as the "multi-model endpoint with TensorFlow Serving" notebooks do it: SavedModels
packed as `1/saved_model.pb` + `1/variables/…`, one `Containers=[{"Image": <tensorflow-inference>,
"ModelDataUrl": "s3://bucket/prefix/", "Mode": "MultiModel"}]` model, then
`invoke_endpoint(TargetModel="cifar.tar.gz", Body=json.dumps({"instances": batch}))`.

Plain boto3, so it runs against AWS or against the local stack alike: only the standard
AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME settings differ (`source .local/env` after
`make up`). Departures from the notebook, because nothing can be downloaded here: the CIFAR-10
CNN (32×32×3) and the sign-language digits model (64×64×3 instead of VGG16 on 224×224×3) are
small Keras CNNs trained in seconds on synthetic pictures (local_stack/demo/tf_sample_models.py, under
the TF venv), and the batches are their held-out pictures. `--record FILE` writes each
invocation's TargetModel, endpoint and predictions as JSON lines.

    .venv/bin/python examples/tf_mme_notebook.py [--role-arn ARN]
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from time import gmtime, strftime

import boto3
import numpy as np
from botocore.client import ClientError

# A tag AWS documents for its SageMaker TF inference image, patched (the publisher's default: publisher/settings.py).
TF_IMAGE_TAG = "2.20-cpu-py312-amzn2023-sagemaker-v1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role-arn", help="the role SageMaker assumes (default: a demo role in your account)")
    parser.add_argument("--data", type=Path, default=Path("data-tf"), help="where the models are trained and packed")
    parser.add_argument("--batch", type=int, default=8, help="pictures per invocation")
    parser.add_argument("--record", type=Path, help="write each invocation's TargetModel and predictions here")
    args = parser.parse_args()

    # --- Set up the environment ---------------------------------------------------------
    sm_client = boto3.client(service_name="sagemaker")
    runtime_sm_client = boto3.client(service_name="sagemaker-runtime")
    account_id = boto3.client("sts").get_caller_identity()["Account"]
    region = boto3.Session().region_name
    bucket = "sagemaker-{}-{}".format(region, account_id)
    prefix = "tf-multimodel-endpoint"
    role = args.role_arn or "arn:aws:iam::{}:role/demo-sagemaker-multimodel".format(account_id)

    # --- Train the two models and pack them as TF Serving SavedModels ---------------------
    from local_stack.demo.tf_sample_models import train_cnns

    print("Training the CIFAR-10 and sign-language CNNs...")
    models = train_cnns(args.data)

    # --- Upload model artifacts to S3 ---------------------------------------------------
    s3 = boto3.resource("s3")
    try:
        s3.meta.client.head_bucket(Bucket=bucket)
    except ClientError:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    for model in models.values():
        key = os.path.join(prefix, model.tarball.name)
        s3.Bucket(bucket).upload_file(str(model.tarball), key)
        print("Uploaded s3://{}/{}".format(bucket, key))

    # --- Create a multi-model endpoint with the TensorFlow Serving image -----------------
    image = "763104351884.dkr.ecr.{}.amazonaws.com/tensorflow-inference:{}".format(region, TF_IMAGE_TAG)
    model_name = "TF-MultiModelModel-" + strftime("%Y-%m-%d-%H-%M-%S", gmtime())
    model_url = "s3://{}/{}/".format(bucket, prefix)
    print("Container image: " + image)
    sm_client.create_model(ModelName=model_name, ExecutionRoleArn=role,
                           Containers=[{"Image": image, "ModelDataUrl": model_url, "Mode": "MultiModel"}])

    endpoint_config_name = "TF-MultiModelEndpointConfig-" + strftime("%Y-%m-%d-%H-%M-%S", gmtime())
    sm_client.create_endpoint_config(
        EndpointConfigName=endpoint_config_name,
        ProductionVariants=[{"InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1, "InitialVariantWeight": 1,
                             "ModelName": model_name, "VariantName": "AllTraffic"}])

    endpoint_name = "TF-MultiModelEndpoint-" + strftime("%Y-%m-%d-%H-%M-%S", gmtime())
    print("Endpoint name: " + endpoint_name)
    sm_client.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=endpoint_config_name)
    print("Waiting for {} endpoint to be in service...".format(endpoint_name))
    sm_client.get_waiter("endpoint_in_service").wait(EndpointName=endpoint_name)
    print("Endpoint Status: " + sm_client.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"])

    # --- Invoke each model with a batch of pictures --------------------------------------
    record = open(args.record, "w") if args.record else None
    for model in models.values():
        batch = np.load(model.inputs)[:args.batch]
        response = runtime_sm_client.invoke_endpoint(
            EndpointName=endpoint_name, ContentType="application/json", TargetModel=model.tarball.name,
            Body=json.dumps({"instances": batch.tolist()}))
        predictions = json.loads(response["Body"].read().decode())["predictions"]
        print("{}: predicted classes {}".format(model.tarball.name, [int(np.argmax(p)) for p in predictions]))
        if record:
            record.write(json.dumps({"endpoint": endpoint_name, "target_model": model.tarball.name,
                                     "model": model.name, "predictions": predictions}) + "\n")
    if record:
        record.close()


if __name__ == "__main__":
    main()
