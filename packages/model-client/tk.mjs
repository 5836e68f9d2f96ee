import { Tiktoken } from 'js-tiktoken/lite'
import r from 'js-tiktoken/ranks/o200k_base'
import { randomBytes } from 'node:crypto'
const e = new Tiktoken(r)
for (const n of [10000, 50000, 100000]) {
  let t = performance.now(); const a = e.encode('a'.repeat(n), [], []).length; const ta = performance.now() - t
  const b64 = randomBytes(n).toString('base64').replace(/[^a-z]/g, 'q')
  t = performance.now(); const b = e.encode(b64, [], []).length; const tb = performance.now() - t
  console.log(n, a, ta.toFixed(0) + 'ms', b, tb.toFixed(0) + 'ms')
}
