/**
 * `npm run simulate -- [flags]`: one simulated run, as a table or (--json) one JSON object.
 * sim/README.md says what is simulated and what is the product's own code.
 */
import { parseArgs } from 'node:util';
import { currentDesign } from './designs/current';
import type { DesignFactory } from './designs/design';
import { DEFAULTS, simulate, type SimOptions, type SimResult } from './world';

const DESIGNS: Record<string, () => DesignFactory> = {
  current: () => currentDesign(),
  // The feed before leases: an infinite lease is write-all (every replica must hold a change before its ack).
  'write-all': () => currentDesign({ leaseMs: Infinity, name: 'write-all' }),
};

const USAGE = `npm run simulate -- [flags]
  --design <name>          ${Object.keys(DESIGNS).join(' | ')} (default current)
  --locations <n>          locations (${DEFAULTS.locations})
  --isolates <n>           busy isolates per location (${DEFAULTS.isolates})
  --skew-ms <ms>           per-machine clock skew, uniform in ±ms (${DEFAULTS.skewMs})
  --bound-ms <ms>          REVOCATION_MAX_STALENESS_MS (${DEFAULTS.boundMs})
  --duration <s>           simulated seconds (${DEFAULTS.durationS})
  --seed <n>               (${DEFAULTS.seed})
  --check-rate <n>         checks/s per isolate (${DEFAULTS.checkRate})
  --revoke-rate <n>        revocations/s world-wide (${DEFAULTS.revokeRate})
  --object-capacity <n>    requests/s one Durable Object serves (${DEFAULTS.objectCapacity})
  --stall-replica <s>      stall one replica for s seconds (at --stall-at, default 10 s; --stall-index, default 0)
  --restart-primary <s>    restart the primary at s
  --deploy <s>             restart every isolate and object at s
  --cut-replica <s>        cut one replica (--cut-index, default 1) off from the primary for s seconds (at --cut-at, default 10)
  --json                   one JSON object`;

function options(argv: string[]): { sim: SimOptions; design: string; json: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      design: { type: 'string', default: 'current' },
      locations: { type: 'string' },
      isolates: { type: 'string' },
      'skew-ms': { type: 'string' },
      'bound-ms': { type: 'string' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      'check-rate': { type: 'string' },
      'revoke-rate': { type: 'string' },
      'object-capacity': { type: 'string' },
      'stall-replica': { type: 'string' },
      'stall-at': { type: 'string', default: '10' },
      'stall-index': { type: 'string', default: '0' },
      'restart-primary': { type: 'string' },
      deploy: { type: 'string' },
      'cut-replica': { type: 'string' },
      'cut-at': { type: 'string', default: '10' },
      'cut-index': { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const number = (name: string, value: string | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a non-negative number, got ${value}`);
    return n;
  };
  const sim: SimOptions = {
    locations: number('locations', values.locations, DEFAULTS.locations),
    isolates: number('isolates', values.isolates, DEFAULTS.isolates),
    skewMs: number('skew-ms', values['skew-ms'], DEFAULTS.skewMs),
    boundMs: number('bound-ms', values['bound-ms'], DEFAULTS.boundMs),
    durationS: number('duration', values.duration, DEFAULTS.durationS),
    seed: number('seed', values.seed, DEFAULTS.seed),
    checkRate: number('check-rate', values['check-rate'], DEFAULTS.checkRate),
    revokeRate: number('revoke-rate', values['revoke-rate'], DEFAULTS.revokeRate),
    objectCapacity: number('object-capacity', values['object-capacity'], DEFAULTS.objectCapacity),
    warmupS: DEFAULTS.warmupS,
    watchMs: DEFAULTS.watchMs,
  };
  if (values['stall-replica'] !== undefined)
    sim.stallReplica = {
      index: number('stall-index', values['stall-index'], 0),
      atS: number('stall-at', values['stall-at'], 10),
      forS: number('stall-replica', values['stall-replica'], 0),
    };
  if (values['cut-replica'] !== undefined)
    sim.cutReplica = {
      index: number('cut-index', values['cut-index'], 1),
      atS: number('cut-at', values['cut-at'], 10),
      forS: number('cut-replica', values['cut-replica'], 0),
    };
  if (values['restart-primary'] !== undefined) sim.restartPrimaryAtS = number('restart-primary', values['restart-primary'], 0);
  if (values.deploy !== undefined) sim.deployAtS = number('deploy', values.deploy, 0);
  if (!(values.design in DESIGNS)) throw new Error(`--design: one of ${Object.keys(DESIGNS).join(', ')}`);
  return { sim, design: values.design, json: values.json };
}

function table(result: SimResult): string {
  const rows: [string, string][] = [
    ['design', result.design],
    ['locations × isolates', `${result.locations} × ${result.isolatesPerLocation}`],
    ['bound / skew', `${result.boundMs} ms / ±${result.skewMs} ms`],
    ['simulated', `${result.durationS} s, seed ${result.seed}, ${result.checks} checks`],
    ['faults', result.faults.join('; ') || 'none'],
    ['acks ok / 503', `${result.acks.ok} / ${result.acks['503']}`],
    ['first refusal p50/p99/max', `${result.firstRefusalMs.p50} / ${result.firstRefusalMs.p99} / ${result.firstRefusalMs.max} ms`],
    ['last accept p50/p99/max', `${result.lastAcceptMs.p50} / ${result.lastAcceptMs.p99} / ${result.lastAcceptMs.max} ms`],
    ['never refused (watched)', String(result.neverRefused)],
    ['late accepts', String(result.lateAccepts)],
    ['strict reads (writers)', String(result.strictReads)],
    ['reads/s max (busiest second)', String(result.readsPerSecond.max)],
    ...Object.entries(result.readsPerSecond.objects).map(([name, o]): [string, string] => [
      `  ${name} peak / mean / overloaded`,
      `${o.peak} / ${o.mean} / ${o.overloaded}`,
    ]),
    ['feed objects', String(result.feedObjects)],
    ['wall time', `${(result.wallMs / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n');
}

const args = options(process.argv.slice(2));
const result = await simulate(DESIGNS[args.design]!(), args.sim);
console.log(args.json ? JSON.stringify(result, null, 2) : table(result));
