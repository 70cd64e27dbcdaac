/** A configuration mistake, naming the field. Reported as 500 `server_misconfigured`. */
export class ConfigError extends Error {
  readonly code = 'server_misconfigured';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'ConfigError';
  }
}

/** The bindings config reads; everything is `unknown` because it is operator input. */
export type RawEnv = Readonly<Record<string, unknown>>;

const isUnset = (raw: unknown) => raw === undefined || raw === null || raw === '';

/** A JSON var arrives as a string from wrangler.toml, or already parsed from tests/Miniflare. */
export function jsonVar(env: RawEnv, name: string): unknown {
  const raw = env[name];
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ConfigError(name, 'is not valid JSON');
  }
}

export function stringVar(env: RawEnv, name: string): string | undefined {
  const raw = env[name];
  if (isUnset(raw)) return undefined;
  if (typeof raw !== 'string') throw new ConfigError(name, 'must be a string');
  return raw.trim();
}

/** A whole number (seconds, or a count), at least `min`. */
export function integerVar(env: RawEnv, name: string, min: number): number | undefined {
  const raw = env[name];
  if (isUnset(raw)) return undefined;
  const value = typeof raw === 'number' ? raw : /^\s*\d+\s*$/.test(String(raw)) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(name, `must be an integer, at least ${min}`);
  }
  return value;
}

export function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v !== '')) {
    throw new ConfigError(field, 'must be a non-empty array of non-empty strings');
  }
  return value as string[];
}
