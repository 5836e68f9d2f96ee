import { describe, expect, it } from 'vitest'
import { OutputBudget, stripAnsi, toOutputs } from './outputs.js'

describe('Jupyter IOPub → code_interpreter outputs', () => {
  it('maps stream, execute_result, display_data and error as the messaging spec defines them', () => {
    expect(toOutputs({ msg_type: 'stream', content: { name: 'stdout', text: 'hi\n' } })).toEqual([{ type: 'logs', logs: 'hi\n' }])
    expect(toOutputs({ msg_type: 'execute_result', content: { data: { 'text/plain': '42' }, execution_count: 1 } })).toEqual([{ type: 'logs', logs: '42\n' }])
    expect(toOutputs({ msg_type: 'display_data', content: { data: { 'text/plain': '<Figure>', 'image/png': 'iVBO\nRw0=' } } })).toEqual([{ type: 'image', png: 'iVBORw0=' }])
    expect(toOutputs({ msg_type: 'display_data', content: { data: { 'text/html': '<b>x</b>', 'text/plain': 'x' } } })).toEqual([{ type: 'logs', logs: 'x\n' }])
    expect(toOutputs({ msg_type: 'error', content: { ename: 'ValueError', evalue: 'bad', traceback: ['\u001b[31mValueError\u001b[39m: bad'] } })).toEqual([
      { type: 'logs', logs: 'ValueError: bad\n' },
    ])
    expect(toOutputs({ msg_type: 'error', content: { ename: 'E', evalue: 'v' } })).toEqual([{ type: 'logs', logs: 'E: v\n' }])
    expect(toOutputs({ msg_type: 'clear_output', content: {} })).toEqual([])
  })

  it('strips ANSI colour and cursor sequences', () => {
    expect(stripAnsi('\u001b[38;5;28;01mdef\u001b[39;00m f\u001b[0m')).toBe('def f')
  })

  it('caps logs by characters and images by count, and says what it cut', () => {
    const b = new OutputBudget(5, 1)
    expect(b.admit({ type: 'logs', logs: 'abc' })).toEqual({ type: 'logs', logs: 'abc' })
    expect(b.admit({ type: 'logs', logs: 'defg' })).toEqual({ type: 'logs', logs: 'de' })
    expect(b.admit({ type: 'logs', logs: 'xyz' })).toBeNull()
    expect(b.admit({ type: 'image', png: 'a' })).not.toBeNull()
    expect(b.admit({ type: 'image', png: 'b' })).toBeNull()
    expect(b.note()).toBe('\n[output truncated: 5 more characters of output and 1 more images not shown]\n')
    expect(new OutputBudget(5, 1).note()).toBeNull()
  })
})
