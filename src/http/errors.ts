import { KillswitchError } from '../errors';
import { unavailableResponse } from './responses';

/**
 * The one mapping of domain errors to the wire: every KillswitchError code is a 503 with
 * `Retry-After` (every killswitch write is idempotent or only revokes more, so repeating is
 * safe). Anything else is not ours to answer: undefined.
 */
export function domainErrorResponse(error: unknown): Response | undefined {
  if (!(error instanceof KillswitchError)) return undefined;
  switch (error.code) {
    case 'unavailable':
    case 'not_propagated':
      return unavailableResponse(error.description, error.retryAfterSeconds);
  }
}
