import type { WireOutput } from '@threadwork/sandbox-client'

/** ANSI escape sequences (colours in IPython tracebacks): logs are plain text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ESC is the point
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g
export const stripAnsi = (text: string): string => text.replace(ANSI, '')

/** A Jupyter IOPub message as the kernel host forwards it (content as the messaging spec defines it). */
export interface JupyterMessage {
  msg_type: string
  content: Record<string, unknown>
}

/**
 * Jupyter IOPub content → code_interpreter outputs (Jupyter messaging spec, "IOPub"):
 * `stream` → its text; `execute_result` → `text/plain` (and its `image/png` if any);
 * `display_data` / `update_display_data` → `image/png` when present, else `text/plain`;
 * `error` → the traceback, ANSI colours stripped (as `ename: evalue` when there is none).
 */
export function toOutputs(msg: JupyterMessage): WireOutput[] {
  const c = msg.content
  const data = (typeof c.data === 'object' && c.data !== null ? c.data : {}) as Record<string, unknown>
  const png = typeof data['image/png'] === 'string' ? data['image/png'].replace(/\s+/g, '') : null
  const plain = typeof data['text/plain'] === 'string' ? data['text/plain'] : null
  switch (msg.msg_type) {
    case 'stream':
      return typeof c.text === 'string' ? [{ type: 'logs', logs: c.text }] : []
    case 'execute_result':
      return [...(plain !== null ? [{ type: 'logs' as const, logs: `${plain}\n` }] : []), ...(png ? [{ type: 'image' as const, png }] : [])]
    case 'display_data':
    case 'update_display_data':
      if (png) return [{ type: 'image', png }]
      return plain !== null ? [{ type: 'logs', logs: `${plain}\n` }] : []
    case 'error': {
      const tb = Array.isArray(c.traceback) ? c.traceback.filter((l): l is string => typeof l === 'string') : []
      const text = tb.length > 0 ? tb.join('\n') : `${String(c.ename ?? 'Error')}: ${String(c.evalue ?? '')}`
      return [{ type: 'logs', logs: `${stripAnsi(text)}\n` }]
    }
    default:
      return []
  }
}

/**
 * Caps one execution's outputs: logs up to `maxChars` characters in all (the rest counted and
 * reported by {@link OutputBudget.note}), at most `maxImages` images.
 */
export class OutputBudget {
  private chars = 0
  private images = 0
  private cutChars = 0
  private cutImages = 0
  constructor(
    private readonly maxChars: number,
    private readonly maxImages: number,
  ) {}

  /** The part of `output` that still fits, or null. */
  admit(output: WireOutput): WireOutput | null {
    if (output.type === 'image') {
      if (this.images >= this.maxImages) {
        this.cutImages++
        return null
      }
      this.images++
      return output
    }
    const room = this.maxChars - this.chars
    if (room <= 0) {
      this.cutChars += output.logs.length
      return null
    }
    const logs = output.logs.length > room ? output.logs.slice(0, room) : output.logs
    this.cutChars += output.logs.length - logs.length
    this.chars += logs.length
    return { type: 'logs', logs }
  }

  /** Counts what the kernel host dropped before sending (bytes of JSON, reported as such). */
  dropped(bytes: number): void {
    if (bytes > 0) this.cutChars += bytes
  }

  /** The truncation note, or null when nothing was cut. */
  note(): string | null {
    const parts = []
    if (this.cutChars > 0) parts.push(`${this.cutChars} more characters of output`)
    if (this.cutImages > 0) parts.push(`${this.cutImages} more images`)
    return parts.length > 0 ? `\n[output truncated: ${parts.join(' and ')} not shown]\n` : null
  }
}
