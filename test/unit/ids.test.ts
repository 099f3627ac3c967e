import { describe, expect, it } from 'vitest';
import { eventIdFor, requestIdFrom, uuidV5 } from '../../src/ids.js';

describe('uuidV5', () => {
  it('matches the RFC example for the DNS namespace', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('gives the same webhook the same event id, and a different key a different one', () => {
    const integration = 'c23e51a4-0550-435c-a194-a91bd457fae6';
    expect(eventIdFor(integration, 'evt_1')).toBe(eventIdFor(integration, 'evt_1'));
    expect(eventIdFor(integration, 'evt_1')).not.toBe(eventIdFor(integration, 'evt_2'));
    expect(eventIdFor(integration, 'evt_1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('requestIdFrom', () => {
  it('keeps a sane caller id and replaces anything else', () => {
    expect(requestIdFrom('req-123')).toBe('req-123');
    expect(requestIdFrom('bad id with spaces')).not.toBe('bad id with spaces');
    expect(requestIdFrom(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
