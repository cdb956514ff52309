#!/usr/bin/env python3
"""The scikit-learn side of `shoal train`'s comparison: all-MiniLM-L6-v2 embeddings by sentence-transformers and
LogisticRegression (multinomial, L2, C=1, lbfgs) on the same train/test JSON Lines, timed from raw text to a
fitted model. Test rows whose label is not in the training rows are left out, as `shoal train --test` does.
Usage: scripts/sklearn_baseline.py --train data/train.jsonl --test data/test.jsonl [--limit N]
Needs numpy, scikit-learn, sentence-transformers and torch; not run by CI.
"""
import argparse
import json
import subprocess
import time


def read(path, limit):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    return rows[:limit] if limit else rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--limit", type=int, default=0, help="use the first N rows of each file")
    parser.add_argument("--max-iter", type=int, default=1000)
    args = parser.parse_args()
    started = time.time()
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    model_path = subprocess.run(["scripts/model-path.sh"], check=True, capture_output=True, text=True).stdout.strip()
    train, test = read(args.train, args.limit), read(args.test, args.limit)
    labels = {row["label"] for row in train}
    test = [row for row in test if row["label"] in labels]
    model = SentenceTransformer(model_path, device="cpu")
    encode_started = time.time()
    x_train = model.encode([row["text"] for row in train], batch_size=64)
    x_test = model.encode([row["text"] for row in test], batch_size=64)
    encoded = time.time()
    classifier = LogisticRegression(C=1.0, max_iter=args.max_iter)
    classifier.fit(x_train, [row["label"] for row in train])
    fitted = time.time()
    predicted = classifier.predict(x_test)
    truth = [row["label"] for row in test]
    print(json.dumps({
        "train_rows": len(train), "test_rows": len(test), "labels": len(labels),
        "test_accuracy": round(accuracy_score(truth, predicted), 4),
        "test_macro_f1": round(f1_score(truth, predicted, average="macro"), 4),
        "encode_seconds": round(encoded - encode_started, 1), "fit_seconds": round(fitted - encoded, 1),
        "iterations": int(max(classifier.n_iter_)), "wall_seconds": round(fitted - started, 1),
    }))


if __name__ == "__main__":
    main()
