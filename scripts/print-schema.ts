// `npm run schema:print`: writes schema.graphql from the code (the code is the source of truth;
// the committed file lets reviewers and clients see every change to the API).
import { writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { buildSchema } from '../src/graph/schema/index.js';

const target = new URL('../schema.graphql', import.meta.url);
writeFileSync(target, `${printSchema(buildSchema())}\n`);
process.stderr.write(`wrote ${target.pathname}\n`);
