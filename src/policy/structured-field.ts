/**
 * @module RFC 8941 Dictionary parsing, strict: the targeted cache-control fields (CDN-Cache-Control,
 * Surrogate-Control; RFC 9213 §2.1) are Dictionary Structured Fields, and a field that fails to
 * parse is ignored as a whole — never half-read. Only what a cache directive can be is kept: inner
 * lists and byte sequences parse (so the field is valid) but carry no directive value.
 */

export type BareItem =
  | { type: 'integer'; value: number }
  | { type: 'decimal'; value: number }
  | { type: 'string'; value: string }
  | { type: 'token'; value: string }
  | { type: 'boolean'; value: boolean }
  | { type: 'bytes' }
  | { type: 'inner-list' };

class ParseError extends Error {}

const KEY_START = /[a-z*]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;
const TOKEN_START = /[A-Za-z*]/;
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const BASE64 = /[A-Za-z0-9+/=]/;

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  dictionary(): Map<string, BareItem> {
    const out = new Map<string, BareItem>();
    this.skip(' ');
    if (this.done()) return out;
    for (;;) {
      const key = this.key();
      let value: BareItem = { type: 'boolean', value: true };
      if (this.peek() === '=') {
        this.i++;
        value = this.peek() === '(' ? this.innerList() : this.bareItem();
      }
      this.parameters();
      out.set(key, value); // RFC 8941 §4.2.2: a repeated key overwrites the earlier one
      this.skipOws();
      if (this.done()) return out;
      if (this.s[this.i++] !== ',') throw new ParseError('expected ","');
      this.skipOws();
      if (this.done()) throw new ParseError('trailing ","');
    }
  }

  private key(): string {
    if (!KEY_START.test(this.peek())) throw new ParseError('bad key');
    const from = this.i;
    while (!this.done() && KEY_CHAR.test(this.peek())) this.i++;
    return this.s.slice(from, this.i);
  }

  private parameters(): void {
    while (this.peek() === ';') {
      this.i++;
      this.skip(' ');
      this.key();
      if (this.peek() === '=') {
        this.i++;
        this.bareItem();
      }
    }
  }

  private innerList(): BareItem {
    this.i++; // "("
    for (;;) {
      this.skip(' ');
      if (this.peek() === ')') {
        this.i++;
        this.parameters();
        return { type: 'inner-list' };
      }
      this.bareItem();
      this.parameters();
      const next = this.peek();
      if (next !== ' ' && next !== ')') throw new ParseError('bad inner list');
    }
  }

  bareItem(): BareItem {
    const c = this.peek();
    if (c === '-' || (c >= '0' && c <= '9' && c !== '')) return this.number();
    if (c === '"') return this.string();
    if (c === ':') return this.bytes();
    if (c === '?') return this.boolean();
    if (TOKEN_START.test(c)) return this.token();
    throw new ParseError('bad item');
  }

  private number(): BareItem {
    const match = /^-?(\d{1,15})(\.(\d{1,3}))?/.exec(this.s.slice(this.i));
    if (!match) throw new ParseError('bad number');
    const [text, whole, , fraction] = match as unknown as [string, string, string?, string?];
    if (match[2] !== undefined && (whole.length > 12 || fraction === undefined)) throw new ParseError('bad decimal');
    this.i += text.length;
    if (/^\d$/.test(this.peek()) || (this.peek() === '.' && match[2] === undefined)) throw new ParseError('bad number');
    return { type: match[2] === undefined ? 'integer' : 'decimal', value: Number(text) };
  }

  private string(): BareItem {
    this.i++;
    let value = '';
    for (;;) {
      if (this.done()) throw new ParseError('unterminated string');
      const c = this.s[this.i++] as string;
      if (c === '"') return { type: 'string', value };
      if (c === '\\') {
        const next = this.s[this.i++];
        if (next !== '"' && next !== '\\') throw new ParseError('bad escape');
        value += next;
      } else if (c < ' ' || c > '~') {
        throw new ParseError('bad string character');
      } else {
        value += c;
      }
    }
  }

  private token(): BareItem {
    const from = this.i;
    this.i++;
    while (!this.done() && TOKEN_CHAR.test(this.peek())) this.i++;
    return { type: 'token', value: this.s.slice(from, this.i) };
  }

  private bytes(): BareItem {
    this.i++;
    while (!this.done() && BASE64.test(this.peek())) this.i++;
    if (this.s[this.i++] !== ':') throw new ParseError('unterminated byte sequence');
    return { type: 'bytes' };
  }

  private boolean(): BareItem {
    const c = this.s[this.i + 1];
    if (c !== '0' && c !== '1') throw new ParseError('bad boolean');
    this.i += 2;
    return { type: 'boolean', value: c === '1' };
  }

  private peek(): string {
    return this.s[this.i] ?? '';
  }

  private done(): boolean {
    return this.i >= this.s.length;
  }

  private skip(ch: string): void {
    while (this.s[this.i] === ch) this.i++;
  }

  private skipOws(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
  }

  end(): void {
    this.skip(' ');
    if (!this.done()) throw new ParseError('trailing characters');
  }
}

/**
 * Parses a Dictionary from one or more field lines (combined with ", ", RFC 8941 §4.2). Undefined
 * when the value is not a valid Dictionary.
 */
export function parseDictionary(lines: string | readonly string[]): Map<string, BareItem> | undefined {
  const text = typeof lines === 'string' ? lines : lines.join(', ');
  try {
    const parser = new Parser(text);
    const dictionary = parser.dictionary();
    parser.end();
    return dictionary;
  } catch (error) {
    if (error instanceof ParseError) return undefined;
    throw error;
  }
}
