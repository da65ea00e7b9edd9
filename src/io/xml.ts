/**
 * A small non-validating XML reader for the project's XML inputs that need elements and attributes only
 * (URDF): the document's root element as a tree of { name, attrs, children }, text dropped. It checks what
 * makes a document well-formed (one root element, every tag closed in order, no attribute twice, known entity
 * and character references, no '<' in attribute values, comments and CDATA closed, nothing but whitespace,
 * comments and processing instructions outside the root) and throws XmlError with the line and column of the
 * first problem. The DOCTYPE is skipped (internal subsets included); entities it declares are not expanded.
 * What the DOM parser used before (@xmldom/xmldom) accepted with a warning is accepted the same way: a bare
 * '&' stays as written, an unquoted attribute value runs to whitespace or '>', an attribute without a value has
 * its own name as value. A byte-order mark at the start is skipped.
 *
 * Written for start-up: loading @xmldom/xmldom (its HTML entity tables) took 35-70 ms of every command that
 * reads a URDF, and parsing a humanoid's URDF with it 20-40 ms more; this reads one in about a millisecond.
 */

export interface XmlElement {
  name: string;
  /** Attribute values, entity references replaced. */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** 1-based line of the element's start tag. */
  line: number;
}

export class XmlError extends Error {}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
// XML names (a practical subset of the spec's NameStartChar / NameChar: letters of any script, _, :, then also
// digits, '-', '.').
const NAME = /[A-Za-z_:\u00C0-\uFFFF][\w:.\u00B7\u00C0-\uFFFF-]*/y;
const SPACE = /[ \t\r\n]*/y;

export function parseXml(text: string): XmlElement {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  const fail = (msg: string, at = i): never => {
    let line = 1, col = 1;
    for (let k = 0; k < at && k < n; k++) {
      if (text.charCodeAt(k) === 10) { line++; col = 1; } else col++;
    }
    throw new XmlError(`${msg} (line ${line}, column ${col})`);
  };
  // Line of a position, counted on from the last position asked for (start tags come in document order).
  let linePos = 0, lineNo = 1;
  const lineAt = (at: number): number => {
    for (let k = text.indexOf('\n', linePos); k >= 0 && k < at; k = text.indexOf('\n', k + 1)) { lineNo++; linePos = k + 1; }
    return lineNo;
  };
  const skipSpace = (): void => { SPACE.lastIndex = i; SPACE.exec(text); i = SPACE.lastIndex; };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(text);
    if (!m) fail('expected a name');
    i = NAME.lastIndex;
    return m![0];
  };
  const decode = (s: string, at: number): string => {
    if (!s.includes('&')) return s;
    return s.replace(/&([^;&\s<]*);?/g, (whole, ref: string, off: number) => {
      if (!whole.endsWith(';')) return whole; // a bare '&': kept as written, as the DOM parser used before did
      if (ref in PREDEFINED) return PREDEFINED[ref];
      const m = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(ref);
      if (!m) fail(`unknown entity &${ref};`, at + off);
      const code = m![1] !== undefined ? parseInt(m![1], 16) : parseInt(m![2], 10);
      if (!(code >= 1 && code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) fail(`character reference &${ref}; is not a character`, at + off);
      return String.fromCodePoint(code);
    });
  };
  /** Comment, processing instruction, CDATA or DOCTYPE at i (text[i] === '<'); false if none. */
  const misc = (inside: boolean): boolean => {
    if (text.startsWith('<!--', i)) {
      const e = text.indexOf('-->', i + 4);
      if (e < 0) fail('comment not closed');
      i = e + 3;
      return true;
    }
    if (text.startsWith('<?', i)) {
      const e = text.indexOf('?>', i + 2);
      if (e < 0) fail('processing instruction not closed');
      i = e + 2;
      return true;
    }
    if (inside && text.startsWith('<![CDATA[', i)) {
      const e = text.indexOf(']]>', i + 9);
      if (e < 0) fail('CDATA section not closed');
      i = e + 3;
      return true;
    }
    if (!inside && text.startsWith('<!DOCTYPE', i)) {
      // Up to the '>' that closes it, past a bracketed internal subset (which may hold '>' in its declarations).
      let depth = 0;
      for (i += 9; i < n; i++) {
        const c = text[i];
        if (c === '[') depth++;
        else if (c === ']') depth--;
        else if (c === '>' && depth <= 0) { i++; return true; }
        else if (c === '"' || c === "'") { const e = text.indexOf(c, i + 1); if (e < 0) break; i = e; }
      }
      fail('DOCTYPE not closed');
    }
    return false;
  };

  let root: XmlElement | null = null;
  const stack: XmlElement[] = [];
  while (i < n) {
    if (!stack.length) {
      skipSpace();
      if (i >= n) break;
      if (text[i] !== '<') fail(root ? 'text after the root element' : 'text before the root element');
      if (misc(false)) continue;
      if (root) fail('a second root element');
    } else {
      const lt = text.indexOf('<', i);
      if (lt < 0) { i = n; break; }
      const t = text.slice(i, lt);
      if (t.includes('&')) decode(t, i); // references in text must be well-formed too
      i = lt;
      if (misc(true)) continue;
    }
    // At '<': an end tag or a start tag.
    if (text[i + 1] === '/') {
      const at = i;
      i += 2;
      const nm = name();
      skipSpace();
      if (text[i] !== '>') fail(`expected '>' to end </${nm}`);
      i++;
      const open = stack.pop();
      if (!open) fail(`end tag </${nm}> without a start tag`, at);
      if (open!.name !== nm) fail(`end tag </${nm}> does not match <${open!.name}> (line ${open!.line})`, at);
      continue;
    }
    const start = i;
    i++;
    const el: XmlElement = { name: name(), attrs: Object.create(null) as Record<string, string>, children: [], line: lineAt(start) };
    for (;;) {
      const before = i;
      skipSpace();
      const c = text[i];
      if (c === '>' || (c === '/' && text[i + 1] === '>')) break;
      if (i >= n) fail(`<${el.name}> not closed`, start);
      if (i === before) fail(`expected whitespace, '>' or '/>' in <${el.name}>`);
      const an = name();
      if (an in el.attrs) fail(`attribute ${an} given twice in <${el.name}>`);
      const afterName = i;
      skipSpace();
      if (text[i] !== '=') {
        // Not XML, but accepted as the DOM parser used before accepted it: <x flag> means flag="flag".
        i = afterName;
        el.attrs[an] = an;
        continue;
      }
      i++;
      skipSpace();
      const q = text[i];
      let raw: string, from: number;
      if (q === '"' || q === "'") {
        const e = text.indexOf(q, i + 1);
        if (e < 0) fail(`attribute ${an} of <${el.name}>: value not closed`);
        raw = text.slice(i + 1, e);
        from = i + 1;
        i = e + 1;
      } else {
        // Unquoted (not XML; accepted as before): up to whitespace, '>' or '/>'.
        const m = /[^\s>]*?(?=\s|>|\/>|$)/y;
        m.lastIndex = i;
        raw = m.exec(text)![0];
        if (!raw) fail(`attribute ${an} of <${el.name}> has no value`);
        from = i;
        i += raw.length;
      }
      if (raw.includes('<')) fail(`attribute ${an} of <${el.name}>: '<' in its value`, from + raw.indexOf('<'));
      // Line ends and tabs in the value read as spaces (XML's attribute-value normalisation); &#10; stays a newline.
      el.attrs[an] = decode(raw.replace(/\r\n?|[\t\n]/g, ' '), from);
    }
    const selfClosing = text[i] === '/';
    i += selfClosing ? 2 : 1;
    if (stack.length) stack[stack.length - 1].children.push(el);
    else root = el;
    if (!selfClosing) stack.push(el);
  }
  if (stack.length) fail(`<${stack[stack.length - 1].name}> (line ${stack[stack.length - 1].line}) not closed at the end of the document`);
  if (!root) fail('no root element');
  return root!;
}
