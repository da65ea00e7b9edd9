import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOMParser, type Element as DomElement } from '@xmldom/xmldom';
import { parseXml, XmlError, type XmlElement } from '../../src/io/xml.ts';
import { PROJECT_ROOT, SHARED_DATA } from '../helpers/shared.ts';

/** The same tree read through @xmldom/xmldom (the DOM parser the URDF reader used before): elements and attributes. */
function viaDom(text: string): XmlElement {
  const walk = (e: DomElement): XmlElement => {
    const attrs: Record<string, string> = Object.create(null);
    for (let i = 0; i < e.attributes.length; i++) attrs[e.attributes[i].name] = e.attributes[i].value;
    const children: XmlElement[] = [];
    for (let n = e.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) children.push(walk(n as DomElement));
    return { name: e.nodeName, attrs, children, line: (e as unknown as { lineNumber: number }).lineNumber };
  };
  return walk(new DOMParser().parseFromString(text, 'text/xml').documentElement as unknown as DomElement);
}

function urdfFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.urdf')).map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

describe('parseXml', () => {
  it('reads elements, attributes (references replaced) and lines; skips declaration, comments, PIs, CDATA, DOCTYPE and text', () => {
    const t = parseXml('\uFEFF<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY e "x>">]>\n<!-- c -->\n<r a="1 &amp; 2" b=\'&lt;&#65;&#x42;&gt;\'>\n  text <![CDATA[ <not/> ]]>\n  <c x="a\tb"/><?pi x?>\n  <d><e/></d>\n</r>\n');
    expect(t.name).toBe('r');
    expect(t.attrs).toEqual({ a: '1 & 2', b: '<AB>' });
    expect(t.children.map((c) => c.name)).toEqual(['c', 'd']);
    expect(t.children[0].attrs.x).toBe('a b');
    expect(parseXml('<r a="x\r\ny&#10;z"/>').attrs.a).toBe('x y\nz');
    expect(t.children[1].children[0].name).toBe('e');
    expect([t.line, t.children[0].line, t.children[1].line, t.children[1].children[0].line]).toEqual([4, 6, 7, 7]);
  });

  it('accepts what the DOM parser accepted with a warning, the same way', () => {
    const t = parseXml('<r a=1 b c="x & y" d=z/>');
    expect(t.attrs).toEqual({ a: '1', b: 'b', c: 'x & y', d: 'z' });
    for (const text of ['<r a=1 b c="x & y" d=z/>', '<r>a & b<s t=u/></r>']) expect(parseXml(text)).toEqual({ ...viaDom(text), line: 1 });
  });

  it('refuses documents that are not well-formed, with the line and column of the problem', () => {
    const bad: [string, RegExp][] = [
      ['<r><a></b></r>', /end tag <\/b> does not match <a> \(line 1\) \(line 1, column 7\)/],
      ['<r>\n<a>\n', /<a> \(line 2\) not closed at the end of the document/],
      ['hello', /text before the root element \(line 1, column 1\)/],
      ['<r/>x', /text after the root element/],
      ['<r/><s/>', /a second root element/],
      ['<r a="1" a="2"/>', /attribute a given twice/],
      ['<r a="&nope;"/>', /unknown entity &nope;/],
      ['<r a="&#xD800;"/>', /not a character/],
      ['<r a="x<y"/>', /'<' in its value/],
      ['<r a="x/>', /value not closed/],
      ['<r><!-- x </r>', /comment not closed/],
      ['<r><![CDATA[ x </r>', /CDATA section not closed/],
      ['</r>', /end tag <\/r> without a start tag/],
      ['<r>< a/></r>', /expected a name/],
      ['<r"x"/>', /expected whitespace, '>' or '\/>'/],
      ['', /no root element/],
      ['<r', /not closed/],
    ];
    for (const [text, msg] of bad) {
      expect(() => parseXml(text), text).toThrow(XmlError);
      expect(() => parseXml(text), text).toThrow(msg);
    }
  });

  it('gives the DOM parser\'s element tree for every URDF of the project and of ../shared/data', (ctx) => {
    const files = [...urdfFiles(path.join(PROJECT_ROOT, 'robots')), ...urdfFiles(SHARED_DATA)];
    if (files.length < 3) ctx.skip();
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      expect(parseXml(text), f).toEqual(viaDom(text));
    }
  });
});
