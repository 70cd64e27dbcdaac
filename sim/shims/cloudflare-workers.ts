/**
 * Stands in for the `cloudflare:workers` module when product code runs in Node (the simulation):
 * a Durable Object class is constructed with the simulation's state and env.
 */
export class DurableObject<E = unknown> {
  constructor(
    protected readonly ctx: DurableObjectState,
    protected readonly env: E,
  ) {}
}
