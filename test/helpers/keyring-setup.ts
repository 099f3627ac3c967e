import { randomBytes } from 'node:crypto';
import { createKeyring, installKeyring } from '../../src/secrets/secret-box.js';

// Suites that use the schema without starting the app (contracts, seeds through drizzle) still
// write secret columns: they get a throwaway key. A started app installs its own.
installKeyring(createKeyring([randomBytes(32)]));
