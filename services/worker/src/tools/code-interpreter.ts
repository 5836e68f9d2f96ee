import type { CodeInterpreterOutput } from '@threadwork/domain'
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions'
import { type BuiltinCall, type BuiltinContext, type BuiltinResult, type BuiltinTool, ToolUnavailableError } from './builtin-tool.js'

/** One output as the sandbox reports it (packages/sandbox-client). */
export type SandboxOutput = { type: 'logs'; logs: string } | { type: 'image'; png: Buffer }

/** The sandbox side code_interpreter needs: packages/sandbox-client's `execute`, structurally. */
export interface CodeSandbox {
  execute(opts: {
    sessionKey: string
    code: string
    files?: { name: string; bytes: Buffer }[]
    timeoutMs?: number
    signal?: AbortSignal
    onOutput?: (output: SandboxOutput) => void
  }): Promise<{ outputs: SandboxOutput[]; files: { name: string; bytes: Buffer }[]; sessionRestarted: boolean; notice?: string; status: string }>
}

/** The Files side: input files' bytes, and outputs stored as Files (`purpose: "assistants_output"`). */
export interface CodeFiles {
  /** Throws when the file is gone (it is then left out, and the model told so). */
  read(project: string, fileId: string): Promise<{ filename: string; bytes: Buffer }>
  /** Returns the new File's id. */
  create(project: string, filename: string, bytes: Buffer): Promise<string>
}

/** The function the model calls: one string of Python. */
export const CODE_FUNCTION = 'python'
/** What the model reads of one execution's logs at most; the step keeps what the sandbox returned. */
const MAX_MODEL_OUTPUT_CHARS = 20_000

const definition: ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: CODE_FUNCTION,
    description:
      'Run Python code in a stateful Jupyter kernel (variables, imports and files persist between calls in this conversation); the result is what it prints or displays. ' +
      'Files the user provided are in /mnt/data. It has no internet access. numpy, pandas, matplotlib, scipy, sympy, seaborn, openpyxl, pypdf, python-docx and tabulate are installed. ' +
      'Charts shown with plt.show() are displayed to the user. Save files for the user under /mnt/data and link them as sandbox:/mnt/data/<name>. ' +
      'If the code raises, read the traceback and call again with corrected code.',
    parameters: {
      type: 'object',
      properties: { code: { type: 'string', description: 'The Python code to run.' } },
      required: ['code'],
    },
  },
}

/**
 * code_interpreter in runs (issue 11 items 3–4): one stateful session per thread (the session key
 * is project + thread), the run's files in /mnt/data before the code runs, outputs streamed as step
 * deltas as the kernel produces them; displayed images and files written to /mnt/data become Files.
 * An error in the code is an output (the traceback, for the model to correct); a sandbox that
 * cannot run it fails the run ({@link ToolUnavailableError}); cancel and expiry interrupt it.
 */
export function createCodeInterpreterTool(deps: { sandbox: CodeSandbox; files: CodeFiles; timeoutMs?: number }): BuiltinTool {
  return {
    type: 'code_interpreter',
    name: CODE_FUNCTION,
    offer: () => definition,
    async execute(call: BuiltinCall, ctx: BuiltinContext): Promise<BuiltinResult> {
      const code = codeOf(call.arguments)
      const notes: string[] = []
      const inputs = await Promise.all(
        ctx.resources.codeInterpreterFileIds.map((id) =>
          deps.files.read(ctx.project, id).then(
            (f) => ({ name: f.filename, bytes: f.bytes }),
            () => {
              notes.push(`The file ${id} is no longer available, so it is not in /mnt/data.`)
              return null
            },
          ),
        ),
      )

      // Outputs stream as they come: logs extend the current logs output (the SDKs concatenate a
      // delta's string into the same index); an image takes the next index once it is a File.
      const outputs: CodeInterpreterOutput[] = []
      const images: Promise<void>[] = []
      let imageCount = 0
      const onOutput = (o: SandboxOutput) => {
        const last = outputs.at(-1)
        if (o.type === 'logs') {
          if (last?.type === 'logs') last.logs += o.logs
          else outputs.push({ type: 'logs', logs: o.logs })
          ctx.emit({ outputs: [{ index: outputs.length - 1, type: 'logs', logs: o.logs }] })
          return
        }
        const slot: CodeInterpreterOutput = { type: 'image', image: { file_id: '' } }
        outputs.push(slot)
        const index = outputs.length - 1
        const name = `${call.id}-${++imageCount}.png`
        images.push(
          deps.files.create(ctx.project, name, o.png).then((fileId) => {
            if (slot.type === 'image') slot.image.file_id = fileId
            ctx.emit({ outputs: [{ index, type: 'image', image: { file_id: fileId } }] })
          }),
        )
      }

      let result: Awaited<ReturnType<CodeSandbox['execute']>>
      try {
        result = await deps.sandbox.execute({
          sessionKey: `${ctx.project}:${ctx.run.thread_id}`,
          code,
          files: inputs.filter((f) => f !== null),
          timeoutMs: deps.timeoutMs,
          signal: ctx.signal,
          onOutput,
        })
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? err
        throw new ToolUnavailableError(`The code_interpreter sandbox is unavailable: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
      }
      if (ctx.signal.aborted) throw ctx.signal.reason
      await Promise.all(images)
      // The streamed outputs are what the client saw; the result's (logs merged the same way) is the record.
      if (outputs.length === 0) for (const o of result.outputs) onOutput(o)
      await Promise.all(images)

      const files: Record<string, string> = {}
      // An empty file cannot be a File (the Files API refuses empty content, and would fail the
      // whole run here): it is left out and the model told so, as it is of a file it cannot link.
      const empty: string[] = []
      for (const f of result.files) {
        if (f.bytes.length === 0) empty.push(`/mnt/data/${f.name}`)
        else files[`/mnt/data/${f.name}`] = await deps.files.create(ctx.project, f.name.split('/').at(-1) || f.name, f.bytes)
      }

      const logs = outputs.flatMap((o) => (o.type === 'logs' ? [o.logs] : ['[An image was displayed to the user.]\n'])).join('')
      const lines: string[] = []
      if (logs.trim()) lines.push(logs.length > MAX_MODEL_OUTPUT_CHARS ? `${logs.slice(0, MAX_MODEL_OUTPUT_CHARS)}\n[… output cut: ${logs.length} characters in all]` : logs)
      const paths = Object.keys(files)
      if (paths.length > 0) lines.push(`Files written (give the user links as sandbox:<path>): ${paths.join(', ')}`)
      if (empty.length > 0) lines.push(`Files left out because they are empty (nothing to link): ${empty.join(', ')}`)
      if (result.status === 'timeout') lines.push('The execution was stopped: it ran past its time limit.')
      if (result.status === 'died') lines.push('The Python kernel died; the next call starts a fresh session (variables and files are lost).')
      if (result.notice) lines.push(result.notice)
      lines.push(...notes)
      return {
        call: { id: call.id, type: 'code_interpreter', code_interpreter: { input: code, outputs } },
        output: lines.join('\n').trim() || '(no output)',
        refs: { files, images: outputs.flatMap((o) => (o.type === 'image' ? [o.image.file_id] : [])) },
      }
    },
  }
}

/** The code of a call: `{"code": "…"}`, or the raw arguments when a model sends the code bare. */
export function codeOf(args: string): string {
  try {
    const parsed: unknown = JSON.parse(args)
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { code?: unknown }).code === 'string') return (parsed as { code: string }).code
    if (typeof parsed === 'string') return parsed
  } catch {
    // Not JSON: the bare code.
  }
  return args
}
