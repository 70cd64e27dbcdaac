// The part of autocannon 8's API bench/lib/load.mjs uses (the package ships no types).
declare module 'autocannon' {
  export interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    setupRequest?: (req: Request) => Request;
  }
  export interface Options {
    url: string;
    connections?: number;
    pipelining?: number;
    requests?: Request[];
    timeout?: number;
    amount?: number;
    duration?: number;
    sampleInt?: number;
  }
  export interface Result {
    errors: number;
    timeouts: number;
  }
  export interface Instance {
    stop(): void;
    on(event: 'reqError', listener: (error: unknown) => void): void;
    on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTime: number) => void): void;
  }
  function autocannon(options: Options, done: (error: unknown, result: Result) => void): Instance;
  export default autocannon;
}
