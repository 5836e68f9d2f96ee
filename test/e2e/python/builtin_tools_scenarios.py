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


scenario = sys.argv[1]
print(json.dumps({"math_tutor_stream": math_tutor_stream, "data_analyst_files": data_analyst_files}[scenario]()))
