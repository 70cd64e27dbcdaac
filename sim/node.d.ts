// The few Node APIs the simulator uses. Its code is type-checked with the Workers types of the
// product code it runs (@types/node's timers clash with them), so these are declared here.
declare const process: { argv: string[]; exit(code: number): never };
declare function setImmediate(callback: () => void): unknown;
declare module 'node:util' {
  export function parseArgs<T extends Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>>(config: {
    args: string[];
    options: T;
  }): {
    values: { [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean : T[K] extends { default: string } ? string : string | undefined };
  };
}
