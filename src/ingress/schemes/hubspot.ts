import { hmacPreset } from './hmac-preset.js';
import { encodedHeaderWithTimestamp, millisecondsToSeconds } from './signature-readers.js';

// HubSpot decodes exactly these escapes in the URI before signing it.
const DECODED: Record<string, string> = {
  '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$', '%27': "'",
  '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';',
};

function hubspotUri(url: string): string {
  return url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (escape) => DECODED[escape.toUpperCase()]!);
}

/**
 * HubSpot ("Validating requests from HubSpot", v3): `x-hubspot-signature-v3` is the base64
 * HMAC-SHA256, keyed with the app's client secret, of method + URI + raw body + the
 * `x-hubspot-request-timestamp` (milliseconds), which must be under five minutes old. The URI is
 * the integration's public URL. Webhook bodies are JSON arrays of events.
 */
export const hubspotScheme = hmacPreset({
  name: 'HUBSPOT',
  signsUrl: true,
  acceptsArrays: true,
  defaultEventTypePath: '$[0].subscriptionType',
  read: encodedHeaderWithTimestamp('x-hubspot-signature-v3', 'x-hubspot-request-timestamp', 'base64'),
  seconds: millisecondsToSeconds,
  signed: (input, timestamp) => (input.url ? [input.method ?? 'POST', hubspotUri(input.url), input.rawBody, timestamp ?? ''] : null),
  sampleTimestamp: (now) => String(now.getTime()),
  write: (signature, timestamp) => ({ 'x-hubspot-signature-v3': signature.toString('base64'), 'x-hubspot-request-timestamp': timestamp ?? '' }),
});
