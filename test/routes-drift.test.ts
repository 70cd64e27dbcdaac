/// <reference types="vite/client" />
/**
 * Routes cannot drift: the routes the app really has (Hono's own list, `inspectRoutes`) are
 * exactly the operations of the OpenAPI document and exactly the rows of docs/reference.md's
 * route tables. A route added, removed or renamed in one place only fails here.
 */
import { inspectRoutes } from 'hono/dev';
import { describe, expect, it } from 'vitest';
import reference from '../docs/reference.md?raw';
import { app } from '../src/app';
import { ANY_METHOD, buildDocument } from '../src/openapi/document';

type Route = { method: string; path: string };
const key = ({ method, path }: Route) => `${method} ${path}`;

/** What the app routes: handlers, not middleware (adminAuth and the app-wide `use`s). */
function appRoutes(): Route[] {
  const routes = inspectRoutes(app)
    .filter((route) => !route.isMiddleware)
    .map(({ method, path }) => ({ method, path }));
  return [...new Map(routes.map((route) => [key(route), route])).values()];
}

/**
 * The console's static files (GET /admin, /admin/*) are pages and scripts from Workers Static
 * Assets, not an API: the document leaves them out. Everything else the app routes is in it.
 */
const NOT_IN_THE_DOCUMENT = new Set(['GET /admin', 'GET /admin/*']);

/**
 * A route as the document names it: `:param` → `{param}`, a trailing `*` → `{path}`; `app.all`
 * (any method) → one operation per method of ANY_METHOD, as OpenAPI has no "any".
 */
function asOperations({ method, path }: Route): string[] {
  const templated = path.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{path}');
  const methods = method === 'ALL' ? ANY_METHOD : [method.toLowerCase()];
  return methods.map((m) => `${m} ${templated}`);
}

/**
 * The rows of every table of docs/reference.md whose first column is `route`, as `METHOD
 * /path` (a query string shown in a row is not part of the route; `ANY` is `app.all`).
 */
function referenceRoutes(markdown: string): string[] {
  const rows: string[] = [];
  let inRouteTable = false;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      inRouteTable = false;
      continue;
    }
    const first = line.split('|')[1]!.trim();
    if (/^route$/.test(first)) inRouteTable = true;
    else if (inRouteTable && !/^-+$/.test(first)) {
      const match = /^`([A-Z]+) (\/[^`?\s]*)(\?[^`]*)?`$/.exec(first);
      expect(match, `docs/reference.md route row: ${first}`).not.toBeNull();
      rows.push(`${match![1] === 'ANY' ? 'ALL' : match![1]} ${match![2]}`);
    }
  }
  return rows;
}

describe('routes: the app, the OpenAPI document and docs/reference.md agree', () => {
  const routes = appRoutes();

  it('Hono lists the routes (the test reads something real)', () => {
    expect(routes.length).toBeGreaterThan(25);
    expect(routes.map(key)).toEqual(
      expect.arrayContaining(['ALL /v1/verify', 'POST /v1/admin/users/:sub/revoke', 'GET /.well-known/jwks.json']),
    );
  });

  it("the document has exactly the app's operations", () => {
    const documented = Object.entries(buildDocument().paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method} ${path}`),
    );
    const expected = routes.filter((route) => !NOT_IN_THE_DOCUMENT.has(key(route))).flatMap(asOperations);
    expect(documented.sort()).toEqual(expected.sort());
  });

  it("the reference's route tables have exactly the app's routes, each once", () => {
    const rows = referenceRoutes(reference);
    expect(rows.length, 'one row per route').toBe(new Set(rows).size);
    expect(rows.sort()).toEqual(routes.map(key).sort());
  });

  it('the table parser finds rows, refuses a row that is not a route, and strips a query', () => {
    const table = (...rows: string[]) => ['| route | who |', '| --- | --- |', ...rows.map((row) => `| ${row} | admin |`)].join('\n');
    expect(referenceRoutes(table('`GET /v1/admin/audit?sub=&limit=`', '`ANY /v1/verify`'))).toEqual([
      'GET /v1/admin/audit',
      'ALL /v1/verify',
    ]);
    expect(referenceRoutes('| outcome | status |\n| --- | --- |\n| valid | `200` |')).toEqual([]);
    expect(() => referenceRoutes(table('`/v1/admin/ssf/streams…`'))).toThrow();
  });
});
