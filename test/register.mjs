// Lets Node run the TypeScript sources directly (tests, benches, spawned ranks):
// `node --import ./test/register.mjs file.ts`. The hooks live in ts-hooks.mjs.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
