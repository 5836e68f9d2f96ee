/**
 * Every Redis key Threadwork uses, built in one place (style §11).
 *
 * A thread's keys share the hash tag `{thread_…}`, and a project's assistants share `{p:<project>}`,
 * so each atomic script touches a single Redis Cluster slot. Scripts that build further keys from a
 * prefix (listing a page, deleting a thread) only ever build keys under the same tag.
 */
export function keys(prefix: string) {
  const project = (p: string) => `${prefix}:{p:${p}}`
  const thread = (t: string) => `${prefix}:{${t}}`
  return {
    prefix,
    projectMeta: (p: string) => `${project(p)}:meta`,
    assistants: (p: string) => `${project(p)}:assistants`,
    assistantPrefix: (p: string) => `${project(p)}:asst:`,
    assistant: (p: string, id: string) => `${project(p)}:asst:${id}`,

    /** Everything under one thread starts with this; used by scripts that build keys. */
    threadPrefix: (t: string) => `${thread(t)}:`,
    thread: (t: string) => `${thread(t)}:thread`,
    messages: (t: string) => `${thread(t)}:messages`,
    messagePrefix: (t: string) => `${thread(t)}:msg:`,
    message: (t: string, id: string) => `${thread(t)}:msg:${id}`,
    runMessages: (t: string, runId: string) => `${thread(t)}:run:${runId}:messages`,
    runs: (t: string) => `${thread(t)}:runs`,
    runPrefix: (t: string) => `${thread(t)}:run:`,
    run: (t: string, id: string) => `${thread(t)}:run:${id}`,
    steps: (t: string, runId: string) => `${thread(t)}:run:${runId}:steps`,
    stepPrefix: (t: string) => `${thread(t)}:step:`,
    step: (t: string, id: string) => `${thread(t)}:step:${id}`,
  }
}
export type Keys = ReturnType<typeof keys>
