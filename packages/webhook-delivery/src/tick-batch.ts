/**
 * Calls made in the same turn of the event loop, grouped by key and sent as one (flushed by
 * `setImmediate`, after the I/O callbacks of the turn): first attempts that a batch admits
 * together, or that finish together, cost one Redis script call instead of one each (issue 14).
 *
 * `run(key, items)` must resolve to one output per item, in order; its rejection rejects every
 * call of the group. Returns the function to call per item.
 */
export function tickBatch<K, I, O>(run: (key: K, items: I[]) => Promise<O[]>): (key: K, item: I) => Promise<O> {
  type Call = { item: I; resolve: (o: O) => void; reject: (err: unknown) => void }
  const pending = new Map<K, Call[]>()
  let scheduled = false

  function flush(): void {
    scheduled = false
    const groups = [...pending]
    pending.clear()
    for (const [key, calls] of groups) {
      run(
        key,
        calls.map((c) => c.item),
      ).then(
        (outs) => calls.forEach((c, i) => c.resolve(outs[i] as O)),
        (err: unknown) => calls.forEach((c) => c.reject(err)),
      )
    }
  }

  return (key, item) =>
    new Promise<O>((resolve, reject) => {
      const calls = pending.get(key)
      if (calls) calls.push({ item, resolve, reject })
      else pending.set(key, [{ item, resolve, reject }])
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    })
}
