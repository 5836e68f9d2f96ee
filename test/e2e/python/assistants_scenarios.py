"""The official openai-python SDK against Threadwork, written as OpenAI's own Assistants docs do.

Usage: python assistants_scenarios.py <scenario>   (TW_BASE_URL, TW_API_KEY, TW_ASSISTANT_ID set)
Prints one JSON object with what the SDK saw; test/e2e/python-sdk.e2e.test.ts checks it.
"""

import json
import os
import sys

from openai import AssistantEventHandler, OpenAI
from typing_extensions import override

client = OpenAI(base_url=os.environ["TW_BASE_URL"], api_key=os.environ["TW_API_KEY"], max_retries=0)
assistant_id = os.environ["TW_ASSISTANT_ID"]


class Recorder(AssistantEventHandler):
    """Records every event name, the text deltas and the tool-call argument deltas."""

    def __init__(self, log):
        super().__init__()
        self.log = log

    @override
    def on_event(self, event):
        self.log["events"].append(event.event)
        if event.event == "thread.run.requires_action":
            self.submit_outputs(event.data)

    @override
    def on_text_delta(self, delta, snapshot):
        self.log["text"] += delta.value

    @override
    def on_tool_call_delta(self, delta, snapshot):
        if delta.type == "function" and delta.function and delta.function.arguments:
            self.log["tool_arguments"] += delta.function.arguments

    # OpenAI's function-calling docs: answer requires_action from inside the handler with a
    # submit_tool_outputs_stream whose events go to a fresh handler.
    def submit_outputs(self, run):
        calls = run.required_action.submit_tool_outputs.tool_calls
        self.log["tool_calls"] = [{"id": c.id, "name": c.function.name, "arguments": c.function.arguments} for c in calls]
        after = new_log()
        with client.beta.threads.runs.submit_tool_outputs_stream(
            thread_id=run.thread_id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": c.id, "output": "22 degrees and sunny"} for c in calls],
            event_handler=Recorder(after),
        ) as stream:
            stream.until_done()
            after["final_run_status"] = stream.get_final_run().status
        self.log["after_tool_outputs"] = after


def new_log():
    return {"events": [], "text": "", "tool_arguments": ""}


def stream_run(content):
    thread = client.beta.threads.create(messages=[{"role": "user", "content": content}])
    log = new_log()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant_id, event_handler=Recorder(log)) as stream:
        stream.until_done()
        log["final_run_status"] = stream.get_final_run().status
        if "thread.message.completed" in log["events"]:  # the SDK raises when the run wrote none
            log["final_messages"] = [m.content[0].text.value for m in stream.get_final_messages()]
    log["thread_id"] = thread.id
    return log


def poll(content):
    # The tutorial's flow: assistant, thread, message, run, poll, read messages.data[0].
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content=content)
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    messages = client.beta.threads.messages.list(thread_id=thread.id)
    every = [m.id for m in client.beta.threads.messages.list(thread_id=thread.id, order="asc", limit=1)]
    return {
        "status": run.status,
        "usage_total": run.usage.total_tokens if run.usage else None,
        "reply": messages.data[0].content[0].text.value,
        "roles": [m.role for m in messages.data],
        "auto_paged_ids": len(every),
    }


def errors():
    try:
        client.beta.threads.retrieve("thread_doesnotexist")
    except Exception as err:  # the SDK's typed errors
        return {"class": type(err).__name__, "status": err.status_code, "message": err.message, "body": err.body}
    return {"class": None}


def file_search_tool():
    # The seed tutorial: an assistant with tools=[{"type": "file_search"}], printed and read back.
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "file_search"}])
    tool = client.beta.assistants.retrieve(assistant.id).tools[0]
    return {
        "created": repr(assistant.tools[0]),
        "retrieved": repr(tool),
        "ranking_options": tool.file_search.ranking_options.model_dump(),
        "max_num_results": tool.file_search.max_num_results,
    }


def tool_resources():
    # The seed tutorial's printed objects: its "Good writer" (no tools), "Data Engineer"
    # (code_interpreter), a file_search assistant, and a thread printed when created and when
    # retrieved after a run.
    model = "gpt-4o-mini"
    writer = client.beta.assistants.create(model=model, name="Good writer", instructions="You are an expert at writing excellent literature")
    engineer = client.beta.assistants.create(
        model=model,
        name="Data Engineer",
        instructions="You're a weather data analyst. When asked for data information, write and run code to answer the question",
        tools=[{"type": "code_interpreter"}],
    )
    researcher = client.beta.assistants.create(model=model, tools=[{"type": "file_search"}])
    thread = client.beta.threads.create()
    created = {"repr": repr(thread), "dict": thread.to_dict()["tool_resources"]}
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="Write a story about a girl who meets a monster in the forest.")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=writer.id)
    my_thread = client.beta.threads.retrieve(thread_id=thread.id)
    printed = lambda a: {"repr": repr(a.tool_resources), "dict": a.to_dict()["tool_resources"]}
    return {
        "writer": printed(writer),
        "engineer": printed(client.beta.assistants.retrieve(engineer.id)),
        "researcher": printed(researcher),
        "listed_engineer": printed(next(a for a in client.beta.assistants.list(limit=100) if a.id == engineer.id)),
        "thread_created": created,
        "run_status": run.status,
        "thread_after_run": {"repr": repr(my_thread), "dict": my_thread.to_dict()["tool_resources"]},
    }


scenario = sys.argv[1]
result = {
    "text_stream": lambda: stream_run("hello from python"),
    "tool_stream": lambda: stream_run("weather in Paris?"),
    "poll": lambda: poll("hi there"),
    "errors": errors,
    "file_search_tool": file_search_tool,
    "tool_resources": tool_resources,
}[scenario]()
print(json.dumps(result))
