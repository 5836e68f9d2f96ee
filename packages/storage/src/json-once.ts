/**
 * JSON text of a commit's objects, each encoded once (issue 14). A turn's terminal commit names the
 * same objects several times: its message as a hash (one JSON value per field) and inside two
 * events (`thread.message.completed`, and `thread.turn.completed`'s `messages`), its run inside two
 * events. Encoding each once and splicing the text saves the worker a whole `JSON.stringify` of
 * each repeat; the output is byte for byte what `JSON.stringify` gives.
 */
export class JsonOnce {
  private readonly known = new Map<object, string>()

  /**
   * A flat object's hash fields (`[field, JSON value, …]`, as codec `encodeFields`) — and, kept
   * for `stringify`, the object's own JSON, spliced from them.
   */
  fields(obj: Record<string, unknown>): string[] {
    const out: string[] = []
    let json = '{'
    for (const key in obj) {
      const v = obj[key]
      if (v === undefined) continue
      const value = JSON.stringify(v)
      out.push(key, value)
      json += `${json.length > 1 ? ',' : ''}${JSON.stringify(key)}:${value}`
    }
    this.known.set(obj, `${json}}`)
    return out
  }

  /**
   * `JSON.stringify(value)` for plain data (no `toJSON`, no functions): objects seen before (by
   * identity) are spliced in as text; arrays and objects down to `depth` levels are walked to find
   * them, deeper ones encoded whole. Objects are remembered either way.
   */
  stringify(value: unknown, depth = 2): string {
    if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
    const seen = this.known.get(value)
    if (seen !== undefined) return seen
    if (depth <= 0 || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      const json = JSON.stringify(value)
      this.known.set(value, json)
      return json
    }
    if (Array.isArray(value)) {
      let json = '['
      for (let i = 0; i < value.length; i++) {
        const v = value[i]
        json += `${i > 0 ? ',' : ''}${v === undefined || typeof v === 'function' || typeof v === 'symbol' ? 'null' : this.stringify(v, depth - 1)}`
      }
      return `${json}]`
    }
    let json = '{'
    for (const key in value) {
      const v = (value as Record<string, unknown>)[key]
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue
      json += `${json.length > 1 ? ',' : ''}${JSON.stringify(key)}:${this.stringify(v, depth - 1)}`
    }
    json += '}'
    this.known.set(value, json)
    return json
  }
}
