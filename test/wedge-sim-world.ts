// The simulator's wedge pool (src/sim/wedge-world.ts) for test/wedge-sim-*.test.ts, with clients
// that also read their bytes as HTTP responses.
import { SimClient as PoolClient, WedgeWorld as PoolWorld } from '../src/sim/wedge-world.js';
import { splitResponses, type HttpResponse } from './helpers/http-response.js';

export { get, SOFT_STATE_PORT, type LogLine, type WorldOptions } from '../src/sim/wedge-world.js';

export class SimClient extends PoolClient {
  /** The client's bytes as HTTP responses. */
  responses(): HttpResponse[] {
    return splitResponses(Buffer.from(this.collector.bytes()));
  }
}

export class WedgeWorld extends PoolWorld {
  override client(id: string, requests: readonly string[]): SimClient {
    return new SimClient(this, this.serverAddress(id), requests, this.nextClient());
  }
}
