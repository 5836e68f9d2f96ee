"""Vector stores through the official openai-python SDK, as its docs use them.

Usage: python vector_store_scenarios.py <scenario>   (TW_BASE_URL, TW_API_KEY set; TW_DATA_DIR holds the files)
Prints one JSON object with what the SDK saw; test/e2e/vector-stores-durability.e2e.test.ts checks it.
"""

import json
import os
import sys

from openai import OpenAI

client = OpenAI(base_url=os.environ["TW_BASE_URL"], api_key=os.environ["TW_API_KEY"], max_retries=0)


def batch_upload_and_poll():
    # The file_search guide: create a store, upload files and poll the batch until it is done.
    vector_store = client.vector_stores.create(name="Financial Statements")
    data_dir = os.environ["TW_DATA_DIR"]
    paths = sorted(os.path.join(data_dir, name) for name in os.listdir(data_dir))
    file_streams = [open(path, "rb") for path in paths]
    try:
        file_batch = client.vector_stores.file_batches.upload_and_poll(vector_store_id=vector_store.id, files=file_streams)
    finally:
        for f in file_streams:
            f.close()
    files = client.vector_stores.files.list(vector_store_id=vector_store.id)
    results = client.vector_stores.search(vector_store_id=vector_store.id, query="quarterly revenue")
    return {
        "batch_status": file_batch.status,
        "batch_object": file_batch.object,
        "file_counts": file_batch.file_counts.to_dict(),
        "file_statuses": sorted(f.status for f in files.data),
        "store_status": client.vector_stores.retrieve(vector_store.id).status,
        "top_filename": results.data[0].filename if results.data else None,
    }


SCENARIOS = {"batch_upload_and_poll": batch_upload_and_poll}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]]()))
