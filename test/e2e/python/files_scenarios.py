"""Files and uploads through openai-python, as a user would write them (test/e2e/python-files.e2e.test.ts).

Usage: files_scenarios.py <scenario>; env TW_BASE_URL, TW_API_KEY, TW_DIR (a scratch directory).
Prints one JSON object with what the scenario observed.
"""
import json
import os
import sys

from openai import NotFoundError, OpenAI

client = OpenAI(base_url=os.environ["TW_BASE_URL"], api_key=os.environ["TW_API_KEY"], max_retries=0)
scratch = os.environ["TW_DIR"]


def upload():
    path = os.path.join(scratch, "guide.md")
    with open(path, "w") as f:
        f.write("# Guide\n\nTurn it off and on again.\n")
    created = client.files.create(file=open(path, "rb"), purpose="assistants")
    retrieved = client.files.retrieve(created.id)
    content = client.files.content(created.id)
    listed = [f.id for f in client.files.list(purpose="assistants")]
    deleted = client.files.delete(created.id)
    try:
        client.files.retrieve(created.id)
        after = "still there"
    except NotFoundError as err:
        after = err.status_code
    return {
        "created": created.model_dump(),
        "same": retrieved.model_dump() == created.model_dump(),
        "content": content.text,
        "content_type": content.response.headers.get("content-type"),
        "listed": listed,
        "deleted": deleted.model_dump(),
        "after_delete": after,
    }


def chunked():
    path = os.path.join(scratch, "big.txt")
    body = b"".join(bytes([65 + i % 26]) * 1000 for i in range(300))  # 300,000 bytes
    with open(path, "wb") as f:
        f.write(body)
    # The SDK's chunked helper: create, parts of 64 KiB, complete with the part ids in order and an md5.
    upload = client.uploads.upload_file_chunked(file=path, mime_type="text/plain", purpose="assistants", part_size=64 * 1024)
    data = client.files.content(upload.file.id).read()
    client.files.delete(upload.file.id)
    return {"status": upload.status, "file_bytes": upload.file.bytes, "filename": upload.file.filename, "same_bytes": data == body}


if __name__ == "__main__":
    print(json.dumps({"upload": upload, "chunked": chunked}[sys.argv[1]]()))
