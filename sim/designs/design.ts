import type { Sim } from '../engine';
import type { SimCache, SimKv } from '../locations';
import type { Region } from '../network';
import type { SimHost } from '../objects';
import type { FeedChange } from '../../src/feed/feed-change';
import type { MirrorAnswer, MirrorKeys } from '../../src/feed/mirror';

/** What a design (a version of the product's feed and mirror) is given by the simulated world. */
export interface WorldAccess {
  readonly sim: Sim;
  readonly kv: SimKv;
  /** Region of each location. */
  readonly regions: readonly Region[];
  readonly caches: readonly SimCache[];
  /** Requests/s one object serves. */
  readonly objectCapacity: number;
  readonly boundMs: number;
}

/** One isolate's mirror, as the check path uses it. */
export interface IsolateFeed {
  freshen(): Promise<void>;
  answer(keys: MirrorKeys, now: number): MirrorAnswer;
  applyLocal(changes: readonly FeedChange[]): void;
}

/** A design wired into the world: its objects and how writers and isolates reach them. */
export interface Design {
  readonly name: string;
  /** Every feed object (primary first), for reads/s and restarts. */
  readonly objects: readonly SimHost<unknown>[];
  readonly primary: SimHost<unknown>;
  readonly replicas: readonly SimHost<unknown>[];
  /** A writer in `from` appends a change: resolves when acknowledged (2xx), rejects when not (503). */
  append(from: Region, change: FeedChange): Promise<void>;
  /** The mirror of a new isolate at `location` whose clock is `clock`. */
  isolate(location: number, clock: () => number): IsolateFeed;
}

export type DesignFactory = (world: WorldAccess) => Design;
