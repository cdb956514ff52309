"""Schemathesis hooks of scripts/fuzz-api.sh.

A KServe inference request must give its input a `shape` whose product is the number of strings in `data`, a
rule JSON Schema cannot state, so nearly every generated request is refused with 400 before any model runs. For
half of the generated bodies whose input holds flat strings, the shape is set to their count, so that generated
texts also reach the models and their answers are checked against the document.
"""

import copy

import schemathesis
from hypothesis import strategies


@schemathesis.hook("flatmap_body").apply_to(path_regex=r"/infer$")
def flatmap_body(context, body):
    tensors = body.get("inputs") if isinstance(body, dict) else None
    tensor = tensors[0] if isinstance(tensors, list) and tensors else None
    data = tensor.get("data") if isinstance(tensor, dict) else None
    if not isinstance(data, list) or not all(isinstance(text, str) for text in data):
        return strategies.just(body)
    shaped = copy.deepcopy(body)
    shaped["inputs"][0]["shape"] = [len(data)]
    return strategies.sampled_from([shaped, body])
