import type { Message, Run, RunStep, RunUsage } from '@threadwork/domain'

/** A step of `run` (status `completed` unless overridden by the caller). */
export function stepOf(run: Run, id: string, now: number, details: RunStep['step_details'], usage: RunUsage | null): RunStep {
  return {
    id,
    object: 'thread.run.step',
    created_at: now,
    assistant_id: run.assistant_id,
    thread_id: run.thread_id,
    run_id: run.id,
    type: details.type,
    status: 'completed',
    step_details: details,
    last_error: null,
    expired_at: null,
    expires_at: run.expires_at,
    cancelled_at: null,
    failed_at: null,
    completed_at: now,
    metadata: {},
    usage,
  }
}

/** The run's assistant message with no content yet (status `completed` unless overridden). */
export function emptyAssistantMessage(run: Run, id: string, now: number): Message {
  return {
    id,
    object: 'thread.message',
    created_at: now,
    thread_id: run.thread_id,
    status: 'completed',
    incomplete_details: null,
    completed_at: now,
    incomplete_at: null,
    role: 'assistant',
    content: [],
    assistant_id: run.assistant_id,
    run_id: run.id,
    attachments: [],
    metadata: {},
  }
}
