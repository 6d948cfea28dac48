"""Loads extracted TensorFlow tarballs as TF Serving would and answers each one's sample request.

Runs under the TensorFlow venv: `python serve_check.py CASES.json`, where CASES.json is a list
of {"folder": <extracted tarball>, "request": <a TF Serving REST predict body>}. For each, the
highest numeric version folder is loaded (tf.saved_model.load), its `serving_default`
signature is fed the request as TF Serving reads it (row-format "instances", one dict per
instance for several inputs; or columnar "inputs"), and the answer's output shapes are
printed as JSON, or the error.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402


def feed(signature, request):
    specs = signature.structured_input_signature[1]
    if "inputs" in request:
        columns = request["inputs"] if isinstance(request["inputs"], dict) else {next(iter(specs)): request["inputs"]}
    elif len(specs) == 1:
        columns = {next(iter(specs)): request["instances"]}
    else:
        columns = {name: [instance[name] for instance in request["instances"]] for name in specs}
    return {name: tf.constant(columns[name], dtype=spec.dtype) for name, spec in specs.items()}


def check(folder, request):
    version = max((entry for entry in os.listdir(folder) if entry.isdigit()), key=int)
    signature = tf.saved_model.load(os.path.join(folder, version)).signatures["serving_default"]
    outputs = signature(**feed(signature, request))
    return {"version": version, "outputs": {name: value.shape.as_list() for name, value in outputs.items()}}


def main(cases_file):
    results = []
    for case in json.load(open(cases_file)):
        try:
            results.append({"ok": True, **check(case["folder"], case["request"])})
        except Exception as error:  # noqa: BLE001 - reported per case, so one bad model does not hide the rest
            results.append({"ok": False, "error": f"{type(error).__name__}: {error}"[:2000]})
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
