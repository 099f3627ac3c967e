import { describe, expect, it } from 'vitest';
import { bodyHashKey, isValidJsonPath, keyFieldProblem, readJsonPath } from '../../src/ingress/event-key.js';
import { bodyTextIsExact } from '../../src/ingress/parse-body.js';

describe('readJsonPath', () => {
  const payload = { id: 'evt_1', n: 7, data: { object: { id: 'obj_9' } }, items: [{ id: 'first' }], empty: '', nested: { a: null } };

  it('reads strings and numbers at simple paths', () => {
    expect(readJsonPath(payload, '$.id')).toBe('evt_1');
    expect(readJsonPath(payload, '$.n')).toBe(7);
    expect(readJsonPath(payload, '$.data.object.id')).toBe('obj_9');
    expect(readJsonPath(payload, '$.items[0].id')).toBe('first');
  });

  it('treats missing, empty, null and non-scalar values as absent', () => {
    expect(readJsonPath(payload, '$.missing')).toBeUndefined();
    expect(readJsonPath(payload, '$.empty')).toBeUndefined();
    expect(readJsonPath(payload, '$.nested.a')).toBeUndefined();
    expect(readJsonPath(payload, '$.data')).toBeUndefined();
    expect(readJsonPath(payload, '$.items[3].id')).toBeUndefined();
  });

  it('accepts only the simple path grammar', () => {
    expect(isValidJsonPath('$.id')).toBe(true);
    expect(isValidJsonPath('$.a[0].b')).toBe(true);
    expect(isValidJsonPath('id')).toBe(false);
    expect(isValidJsonPath('$')).toBe(false);
    expect(isValidJsonPath('$..id')).toBe(false);
    expect(isValidJsonPath('$.a b')).toBe(false);
  });
});

describe('bodyHashKey', () => {
  it('is the same for identical bytes and differs for any change', () => {
    expect(bodyHashKey(Buffer.from('{"a":1}'))).toBe(bodyHashKey(Buffer.from('{"a":1}')));
    expect(bodyHashKey(Buffer.from('{"a":1}'))).not.toBe(bodyHashKey(Buffer.from('{"a": 1}')));
  });
});

describe('keyFieldProblem', () => {
  const eventKey = () => true;
  const otherField = null;

  it('takes a number as an event key only when JSON.parse kept it exactly', () => {
    expect(keyFieldProblem(9_007_199_254_740_991, eventKey)).toBeNull();
    expect(keyFieldProblem(-42, eventKey)).toBeNull();
    // 12345678901234567891 and …892 both parse to 12345678901234567000: two events, one key.
    expect(JSON.parse('12345678901234567891')).toBe(JSON.parse('12345678901234567892'));
    expect(keyFieldProblem(JSON.parse('12345678901234567891') as number, eventKey)).toMatch(/send it as a string/);
    expect(keyFieldProblem(1.5, eventKey)).toMatch(/a fraction/);
    // A rounded type or ordering key names no event: it is stored as read.
    expect(keyFieldProblem(1.5, otherField)).toBeNull();
  });

  it('refuses text over 256 characters, a NUL or an unpaired surrogate in any field', () => {
    expect(keyFieldProblem('t'.repeat(256), otherField)).toBeNull();
    expect(keyFieldProblem('t'.repeat(257), otherField)).toBe('is longer than 256 characters');
    expect(keyFieldProblem('a\u0000b', otherField)).toMatch(/NUL/);
    expect(keyFieldProblem('a\ud800b', eventKey)).toMatch(/unpaired surrogate/);
    expect(keyFieldProblem('😀', eventKey)).toBeNull();
    // Counted in characters: 256 emoji are 512 UTF-16 code units (and at most 1 KiB in UTF-8).
    expect(keyFieldProblem('😀'.repeat(256), eventKey)).toBeNull();
    expect(keyFieldProblem('😀'.repeat(257), eventKey)).toBe('is longer than 256 characters');
  });

  it('refuses an event key with U+FFFD only when the body was not exactly its text', () => {
    let asked = 0;
    const exact = (answer: boolean) => () => (asked++, answer);
    expect(keyFieldProblem('evt-plain', exact(false))).toBeNull();
    expect(asked).toBe(0);
    expect(keyFieldProblem('evt-\uFFFD', exact(true))).toBeNull();
    expect(keyFieldProblem('evt-\uFFFD', exact(false))).toBe('holds bytes that are not valid UTF-8');
    expect(keyFieldProblem('type-\uFFFD', null)).toBeNull();
  });
});

describe('bodyTextIsExact', () => {
  it('reads JSON bodies as bytes and form bodies through their percent escapes', () => {
    expect(bodyTextIsExact(Buffer.from('{"id":"évt-\uFFFD"}'), 'json')).toBe(true);
    expect(bodyTextIsExact(Buffer.concat([Buffer.from('{"id":"x'), Buffer.from([0xff]), Buffer.from('"}')]), 'json')).toBe(false);
    expect(bodyTextIsExact(Buffer.from('MessageSid=SM%C3%A9+x&To=%2B1'), 'form')).toBe(true);
    expect(bodyTextIsExact(Buffer.from('MessageSid=SM%FF'), 'form')).toBe(false);
    expect(bodyTextIsExact(Buffer.from('MessageSid=SM%EF%BF%BD'), 'form')).toBe(true);
    // A raw byte that begins a sequence the escapes after it complete: each half alone is not UTF-8.
    expect(bodyTextIsExact(Buffer.concat([Buffer.from('MessageSid=SM'), Buffer.from([0xe2]), Buffer.from('%82%AC')]), 'form')).toBe(false);
    // A broken escape stays literal text, as URLSearchParams keeps it.
    expect(bodyTextIsExact(Buffer.from('a=%F&b=%'), 'form')).toBe(true);
  });
});
