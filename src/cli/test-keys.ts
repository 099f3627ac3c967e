/**
 * Published TEST key pairs for the public-key presets, so `hookgate send discord|sendgrid` can sign
 * a sample without the provider's private key (which nobody but the provider has). Configure an
 * integration with the public half to try it; never use these for a real integration: the private
 * halves are in this public file.
 */
export const TEST_KEY_PAIRS = {
  ed25519: {
    /** Raw 32-byte Ed25519 public key in hex, as Discord's developer portal shows one. */
    publicKey: '78fc8642f52d779a333b533d213fe7c92eb3f5a77a3fa4eb4b61acfb97eb9e9a',
    privateKey: '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBgM4p16X5Z6Pm6MOrFm7mUYeKmih0Pb33TxQPrpNc0A\n-----END PRIVATE KEY-----\n',
  },
  'ecdsa-p256': {
    /** Base64 DER (SPKI) P-256 public key, as SendGrid's Event Webhook settings show one. */
    publicKey:
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7mR6wzjBM/LTwCWJxzkBl0JPzhNL1sTRo9EdcbIUHHf98Z7tMsV28djInPV3KdECX6s5ybY90oNNfn61xI90VQ==',
    privateKey:
      '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTW26fH/mM6Ln2WZ+\nQ7cvHTBdBhcAf4lnt728NYri07ihRANCAATuZHrDOMEz8tPAJYnHOQGXQk/OE0vW\nxNGj0R1xshQcd/3xnu0yxXbx2Mic9Xcp0QJfqznJtj3Sg01+frXEj3RV\n-----END PRIVATE KEY-----\n',
  },
} as const;
