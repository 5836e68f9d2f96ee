"""The seed tutorial's built-in-tool assistants through the official openai-python SDK, as its code reads.

Usage: python builtin_tools_scenarios.py <scenario>   (TW_BASE_URL, TW_API_KEY set; TW_DATA_DIR for file scenarios)
Prints one JSON object with what the SDK saw; test/e2e/builtin-tools-python.e2e.test.ts checks it.
"""

import json
import os
import sys

from openai import AssistantEventHandler, OpenAI
from typing_extensions import override

client = OpenAI(base_url=os.environ["TW_BASE_URL"], api_key=os.environ["TW_API_KEY"], max_retries=0)


class CodeRecorder(AssistantEventHandler):
    """Records the code as it streams in, its logs, and the reply text (OpenAI's streaming docs' handler)."""

    def __init__(self, log):
        super().__init__()
        self.log = log

    @override
    def on_tool_call_created(self, tool_call):
        self.log["tool_types"].append(tool_call.type)

    @override
    def on_tool_call_delta(self, delta, snapshot):
        if delta.type == "code_interpreter" and delta.code_interpreter:
            if delta.code_interpreter.input:
                self.log["input_deltas"].append(delta.code_interpreter.input)
            for output in delta.code_interpreter.outputs or []:
                if output.type == "logs" and output.logs:
                    self.log["logs"] += output.logs

    @override
    def on_text_done(self, text):
        self.log["text"] = text.value
        self.log["annotations"] = [a.to_dict() for a in text.annotations]


def math_tutor_stream():
    # The seed's math tutor, as created in the tutorial.
    assistant = client.beta.assistants.create(
        instructions="You are a personal math tutor. When asked a math question, write and run code to answer the question.",
        model="gpt-4o-mini",
        tools=[{"type": "code_interpreter"}],
    )
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="I need to solve the equation `3x + 11 = 14`. Can you help me?")
    log = {"tool_types": [], "input_deltas": [], "logs": "", "text": "", "annotations": []}
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=CodeRecorder(log)) as stream:
        stream.until_done()
        run = stream.get_final_run()
    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    log["status"] = run.status
    log["steps"] = [s.step_details.to_dict() for s in steps.data]
    return log


def data_analyst_files():
    # The seed's weather data analyst, with a CSV as the tutorial passes files (tool_resources).
    path = os.path.join(os.environ["TW_DATA_DIR"], "weather.csv")
    with open(path, "w") as f:
        f.write("day,temp_c\n1,18\n2,21\n3,19\n")
    file = client.files.create(file=open(path, "rb"), purpose="assistants")
    assistant = client.beta.assistants.create(
        name="Data Engineer",
        instructions="You're a weather data analyst. When asked for data information, write and run code to answer the question",
        model="gpt-4o-mini",
        tools=[{"type": "code_interpreter"}],
        tool_resources={"code_interpreter": {"file_ids": [file.id]}},
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Chart the temperatures and save a summary CSV."}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=100)
    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    calls = [c for s in steps.data if s.step_details.type == "tool_calls" for c in s.step_details.tool_calls]
    outputs = [o for c in calls if c.type == "code_interpreter" for o in c.code_interpreter.outputs]
    image_ids = [o.image.file_id for o in outputs if o.type == "image"]
    reply = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    text = next(p.text for p in reply.content if p.type == "text")
    paths = [a for a in text.annotations if a.type == "file_path"]
    return {
        "status": run.status,
        "logs": "".join(o.logs for o in outputs if o.type == "logs"),
        "image_png": [client.files.content(i).read()[:8].hex() for i in image_ids],
        "image_parts": [p.image_file.file_id for p in reply.content if p.type == "image_file"] == image_ids,
        "text": text.value,
        "file_paths": [{"text": a.text, "sliced": text.value[a.start_index : a.end_index], "content": client.files.content(a.file_path.file_id).read().decode()} for a in paths],
    }


def llm_technical_assistant():
    # The seed's file_search assistant, fed as OpenAI's file_search docs do (upload_and_poll a batch).
    texts = {
        "transformer.md": "The Transformer architecture relies on multi-head self-attention. The base model uses 8 attention heads and a model dimension of 512.",
        "pump-manual.md": "The hydraulic pump operates at 40 bar nominal pressure. Replace the pump seals every 2000 operating hours.",
    }
    paths = []
    for name, text in texts.items():
        path = os.path.join(os.environ["TW_DATA_DIR"], name)
        with open(path, "w") as f:
            f.write(text)
        paths.append(path)
    vector_store = client.vector_stores.create(name="LLM knowledge")
    file_streams = [open(path, "rb") for path in paths]
    batch = client.vector_stores.file_batches.upload_and_poll(vector_store_id=vector_store.id, files=file_streams)
    assistant = client.beta.assistants.create(
        name="Large language model technical assistant",
        instructions="You are a professional large model technician and apply your basic knowledge to answer large model related questions",
        model="gpt-4o-mini",
        tools=[{"type": "file_search", "file_search": {"ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0}}}],
        tool_resources={"file_search": {"vector_store_ids": [vector_store.id]}},
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "How many attention heads does the Transformer base model use?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=100)
    messages = list(client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id))
    # OpenAI's docs: replace each citation's text with a footnote naming the cited file.
    message_content = messages[0].content[0].text
    original = message_content.value
    citations = []
    for index, annotation in enumerate(message_content.annotations):
        message_content.value = message_content.value.replace(annotation.text, f"[{index}]")
        if file_citation := getattr(annotation, "file_citation", None):
            cited_file = client.files.retrieve(file_citation.file_id)
            citations.append(f"[{index}] {cited_file.filename}")
    steps = client.beta.threads.runs.steps.list(
        thread_id=thread.id, run_id=run.id, include=["step_details.tool_calls[*].file_search.results[*].content"]
    )
    results = [r for s in steps.data if s.step_details.type == "tool_calls" for c in s.step_details.tool_calls if c.type == "file_search" for r in c.file_search.results]
    return {
        "batch": batch.file_counts.to_dict(),
        "status": run.status,
        "original": original,
        "value": message_content.value,
        "citations": citations,
        "results": [{"file_name": r.file_name, "has_content": bool(r.content)} for r in results],
    }


scenario = sys.argv[1]
scenarios = {"math_tutor_stream": math_tutor_stream, "data_analyst_files": data_analyst_files, "llm_technical_assistant": llm_technical_assistant}
print(json.dumps(scenarios[scenario]()))
