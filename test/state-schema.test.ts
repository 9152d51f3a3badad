// The state codec embeds proto/transport_state.proto (src/transport-abstraction/state-schema.ts) so
// that importing it reads no file: this test keeps the copy equal to the schema. Run with
// BATON_UPDATE_SCHEMA=1 to rewrite the copy after changing the .proto.
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { TRANSPORT_STATE_PROTO } from '../src/transport-abstraction/state-schema.js';

const PROTO = new URL('../proto/transport_state.proto', import.meta.url);
const MODULE = new URL('../src/transport-abstraction/state-schema.ts', import.meta.url);

test('the embedded schema is proto/transport_state.proto, byte for byte', (t) => {
  const onDisk = readFileSync(PROTO, 'utf8');
  if (onDisk !== TRANSPORT_STATE_PROTO && process.env['BATON_UPDATE_SCHEMA'] === '1') {
    const header = readFileSync(MODULE, 'utf8').split('\nexport const')[0]!;
    writeFileSync(MODULE, `${header}\nexport const TRANSPORT_STATE_PROTO = ${JSON.stringify(onDisk)};\n`);
    t.log('rewrote src/transport-abstraction/state-schema.ts; run the test again');
  }
  t.is(TRANSPORT_STATE_PROTO, onDisk, 'proto/transport_state.proto changed: run BATON_UPDATE_SCHEMA=1 npx ava test/state-schema.test.ts');
});
