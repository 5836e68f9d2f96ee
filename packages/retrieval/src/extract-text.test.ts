import { describe, expect, it } from 'vitest'
import { InvalidFileError, UnsupportedFileError } from './errors.js'
import { extractText } from './extract-text.js'
import { isSupportedFile, supportedFileType } from './file-types.js'
import { makeDocx, makePdf, makePptx } from './test-support/fixtures.js'

const utf8 = (s: string) => Buffer.from(s, 'utf8')

describe('extractText', () => {
  it('reads text, markdown and code as written, with \\n line endings', async () => {
    expect(await extractText({ bytes: utf8('Hello\r\nworld\r'), filename: 'notes.txt' })).toEqual({ text: 'Hello\nworld\n' })
    expect((await extractText({ bytes: utf8('# Title\n\n- item'), filename: 'README.md' })).text).toBe('# Title\n\n- item')
    expect((await extractText({ bytes: utf8('def f():\n    return 42\n'), filename: 'src/main.py' })).text).toContain('return 42')
    expect((await extractText({ bytes: utf8('const x = 1'), filename: 'a.TS' })).text).toBe('const x = 1')
  })

  it('decodes UTF-16 with a byte-order mark and drops a UTF-8 one', async () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Grüße aus Köln', 'utf16le')])
    expect((await extractText({ bytes: le, filename: 'de.txt' })).text).toBe('Grüße aus Köln')
    const bom8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8('plain')])
    expect((await extractText({ bytes: bom8, filename: 'a.txt' })).text).toBe('plain')
  })

  it('uses the content type when the name has no extension', async () => {
    expect((await extractText({ bytes: utf8('just text'), filename: 'LICENSE', contentType: 'text/plain; charset=utf-8' })).text).toBe('just text')
    await expect(extractText({ bytes: utf8('x'), filename: 'LICENSE' })).rejects.toBeInstanceOf(UnsupportedFileError)
  })

  it('validates JSON and re-indents a one-line document', async () => {
    const { text } = await extractText({ bytes: utf8('{"product":"Widget","price":12.5,"tags":["a","b"]}'), filename: 'p.json' })
    expect(text).toBe(JSON.stringify({ product: 'Widget', price: 12.5, tags: ['a', 'b'] }, null, 2))
    const pretty = '{\n  "a": 1\n}\n'
    expect((await extractText({ bytes: utf8(pretty), filename: 'p.json' })).text).toBe(pretty)
    await expect(extractText({ bytes: utf8('{"a":'), filename: 'p.json' })).rejects.toMatchObject({ code: 'invalid_file' })
  })

  it('turns HTML into its visible text', async () => {
    const html =
      '<html><head><title>T</title><style>.x{color:red}</style><script>var secret=1</script></head>' +
      '<body><h1>Returns policy</h1><p>Items may be returned within <b>30 days</b>. See <a href="https://example.com/r">the form</a>.</p><img src="x.png" alt="logo"></body></html>'
    const { text } = await extractText({ bytes: utf8(html), filename: 'policy.html' })
    expect(text.startsWith('Returns policy\n')).toBe(true)
    expect(text).toContain('Items may be returned within 30 days. See the form.')
    expect(text).not.toMatch(/secret|color:red|example\.com|x\.png/)
  })

  it('reads every page of a PDF generated here', async () => {
    const pdf = await makePdf([['Quarterly report', 'Revenue grew by 12 percent.'], ['Page two mentions the zebra mascot.']])
    const { text } = await extractText({ bytes: pdf, filename: 'report.pdf' })
    expect(text).toContain('Quarterly report')
    expect(text).toContain('Revenue grew by 12 percent.')
    expect(text).toContain('zebra mascot')
    expect(text.indexOf('Quarterly')).toBeLessThan(text.indexOf('zebra'))
  })

  it('reads a DOCX generated here', async () => {
    const docx = await makeDocx('Employee handbook', ['Vacation requests go to your manager.', 'The office opens at 8 am.'])
    const { text } = await extractText({ bytes: docx, filename: 'handbook.docx' })
    expect(text).toContain('Employee handbook')
    expect(text).toContain('Vacation requests go to your manager.')
    expect(text).toContain('The office opens at 8 am.')
  })

  it('reads PPTX slides in number order', async () => {
    const deck = await makePptx([['Intro', 'Welcome & hello'], ...Array.from({ length: 9 }, (_, i) => [`Slide ${i + 2}`]), ['Last slide: <summary>']])
    const { text } = await extractText({ bytes: deck, filename: 'deck.pptx' })
    expect(text.split('\n\n')).toHaveLength(11)
    expect(text.startsWith('Intro\nWelcome & hello')).toBe(true)
    expect(text.indexOf('Slide 9')).toBeLessThan(text.indexOf('Slide 10'))
    expect(text.endsWith('Last slide: <summary>')).toBe(true)
  })

  it('refuses unsupported types with unsupported_file', async () => {
    for (const filename of ['photo.png', 'app.exe', 'sheet.xlsx', 'old.doc']) {
      const err = await extractText({ bytes: utf8('x'), filename }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(UnsupportedFileError)
      expect(err).toMatchObject({ code: 'unsupported_file' })
    }
    // A text content type does not rescue a known binary extension.
    expect(isSupportedFile({ filename: 'photo.png', contentType: 'text/plain' })).toBe(false)
    expect(supportedFileType({ filename: 'x.PDF' })?.kind).toBe('pdf')
  })

  it('refuses unreadable files with invalid_file', async () => {
    const cases: [string, Buffer][] = [
      ['broken.pdf', utf8('%PDF-1.7 this is not really a pdf')],
      ['broken.docx', utf8('not a zip')],
      ['broken.pptx', utf8('not a zip either')],
      ['latin1.txt', Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65])], // "Grüße" in Latin-1: invalid UTF-8
      ['binary.txt', Buffer.from([0x41, 0x00, 0x42, 0x00])],
      ['empty.md', utf8('  \n\n ')],
    ]
    for (const [filename, bytes] of cases) {
      const err = await extractText({ bytes, filename }).catch((e: unknown) => e)
      expect(err, filename).toBeInstanceOf(InvalidFileError)
      expect(err, filename).toMatchObject({ code: 'invalid_file' })
    }
  })

  it('refuses a PDF without text with invalid_file', async () => {
    const blank = await makePdf([[]])
    await expect(extractText({ bytes: blank, filename: 'scan.pdf' })).rejects.toMatchObject({ code: 'invalid_file' })
  })
})
