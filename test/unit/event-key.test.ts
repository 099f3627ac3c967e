import { describe, expect, it } from 'vitest';
import { bodyHashKey, isValidJsonPath, readJsonPath } from '../../src/ingress/event-key.js';

describe('readJsonPath', () => {
  const payload = { id: 'evt_1', n: 7, data: { object: { id: 'obj_9' } }, items: [{ id: 'first' }], empty: '', nested: { a: null } };

  it('reads strings and numbers at simple paths', () => {
    expect(readJsonPath(payload, '$.id')).toBe('evt_1');
    expect(readJsonPath(payload, '$.n')).toBe('7');
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
