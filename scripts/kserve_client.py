"""Runs texts through a model of a KServe v2 server with the real Triton HTTP client (`tritonclient[http]`) at its
default settings: the texts go as binary tensor data, and the outputs come back as binary tensor data.

    python3 scripts/kserve_client.py HOST:PORT MODEL TEXTS

TEXTS is a JSON array of strings. Prints a JSON object with the server's metadata extensions and,
for each way of asking for outputs ("all": none named, so the client asks for every output as binary data with
the request's binary_data_output; "named": each output named with InferRequestedOutput's defaults), each output's
shape, datatype, whether it came back as binary data, and its values (floats, or strings for BYTES).
"""

import json
import sys

import numpy as np
import tritonclient.http as httpclient


def outputs(result, names):
    response = result.get_response()
    binary = {
        output["name"]: "binary_data_size" in output.get("parameters", {}) and "data" not in output
        for output in response["outputs"]
    }
    answer = {}
    for name in names:
        values = result.as_numpy(name)
        shape = list(values.shape)
        if values.dtype == np.object_:
            data = [value.decode("utf-8") for value in values.reshape(-1)]
        else:
            data = [float(value) for value in values.reshape(-1)]
        answer[name] = {"shape": shape, "datatype": values.dtype.name, "binary": binary[name], "data": data}
    return answer


def main():
    url, model, texts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    client = httpclient.InferenceServerClient(url=url)
    metadata = client.get_model_metadata(model)
    names = [output["name"] for output in metadata["outputs"]]

    tensor = httpclient.InferInput("text", [len(texts)], "BYTES")
    tensor.set_data_from_numpy(np.array([text.encode("utf-8") for text in texts], dtype=np.object_))
    everything = client.infer(model, inputs=[tensor])
    named = client.infer(model, inputs=[tensor], outputs=[httpclient.InferRequestedOutput(name) for name in names])
    json.dump({
        "extensions": client.get_server_metadata()["extensions"],
        "all": outputs(everything, names),
        "named": outputs(named, names),
    }, sys.stdout)


if __name__ == "__main__":
    main()
